-- view: endpoints.toxicity_by_course
-- grain: one row per course label × toxicity type (crs, icans) × grading basis (reported on
--   one scale, reported on any scale, or recomputed ASTCT 2019) among cohort patients
-- depends_on: derived.toxicity_course, derived.patient_courses
-- description: n_courses is every cohort course with that label (the denominator). basis
--   'reported' is split by the site's grading scale (grades are never converted between
--   scales; n_courses is then the courses graded on that scale); basis 'any' counts
--   occurrence whatever the scale (robust across scales); basis 'astct_recomputed' uses the
--   recomputed grade, with n_not_recomputable courses whose grade could not be recomputed and
--   n_approximate those that needed an FiO2 or other-tool approximation.
WITH c AS MATERIALIZED (
  SELECT t.*
  FROM derived.toxicity_course t
  JOIN derived.patient_courses p ON p.patient_id = t.patient_id AND p.in_cohort
)
SELECT course_label, tox_type, 'any' AS basis, 'any' AS grading_scale,
       count(*) AS n_courses,
       count(*) FILTER (WHERE occurred) AS n_any_grade,
       count(*) FILTER (WHERE max_grade_reported >= 3 OR max_grade_astct >= 3) AS n_grade_3_plus,
       CAST(NULL AS BIGINT) AS n_not_recomputable,
       CAST(NULL AS BIGINT) AS n_approximate
FROM c GROUP BY course_label, tox_type
UNION ALL
SELECT course_label, tox_type, 'reported', grading_scale,
       count(*),
       count(*) FILTER (WHERE max_grade_reported >= 1),
       count(*) FILTER (WHERE max_grade_reported >= 3),
       NULL, NULL
FROM c WHERE n_episodes > 0 AND grading_scale IS NOT NULL
GROUP BY course_label, tox_type, grading_scale
UNION ALL
SELECT course_label, tox_type, 'astct_recomputed', 'astct_2019',
       count(*),
       count(*) FILTER (WHERE max_grade_astct >= 1),
       count(*) FILTER (WHERE max_grade_astct >= 3),
       count(*) FILTER (WHERE n_episodes > 0 AND NOT astct_complete),
       count(*) FILTER (WHERE astct_approximate)
FROM c GROUP BY course_label, tox_type
