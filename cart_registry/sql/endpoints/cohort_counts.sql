-- view: endpoints.cohort_counts
-- grain: one row: the registry's cohort counts
-- depends_on: derived.patient_courses, derived.course
-- description: screened = every patient in the registry (any registry_status); treated = at
--   least one CAR T course; cohort = at least two unique constructs; exactly_two and
--   more_than_two (>= 3) split the cohort, so both readings of "61 received 2 unique
--   constructs, 13 received >2" can be checked; distinct_constructs = different constructs
--   given to cohort patients (any course); included_status = registry_status 'included', to
--   compare with the data-derived cohort; without_patient_row counts patient ids that have
--   infusions but no patient row (orphans: validation reports them).
SELECT count(*) AS screened,
       count(*) FILTER (WHERE n_unique_constructs >= 1) AS treated,
       count(*) FILTER (WHERE n_unique_constructs >= 2) AS cohort,
       count(*) FILTER (WHERE n_unique_constructs = 2) AS exactly_two,
       count(*) FILTER (WHERE n_unique_constructs >= 3) AS more_than_two,
       (SELECT count(DISTINCT c.construct_id) FROM derived.course c
         WHERE c.n_patient_courses >= 2) AS distinct_constructs,
       count(*) FILTER (WHERE registry_status = 'included') AS included_status,
       count(DISTINCT site_id) AS sites,
       count(*) FILTER (WHERE NOT has_patient_row) AS without_patient_row
FROM derived.patient_courses
