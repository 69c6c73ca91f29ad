-- view: endpoints.relapse_after_cr
-- grain: one row per course label among cohort patients who reached CR with that course
-- depends_on: derived.course_relapse, derived.patient_courses
-- description: n_cr courses in CR; n_relapsed with a first relapse after the CR date (up to
--   the cut-off, including relapses after a later HSCT or CAR T) and percentage;
--   n_relapsed_before_hsct and n_relapsed_before_next_course give the variants that stop at
--   a subsequent HSCT or CAR T course.
SELECT r.course_label,
       count(*) AS n_cr,
       count(*) FILTER (WHERE r.relapsed) AS n_relapsed,
       100.0 * count(*) FILTER (WHERE r.relapsed) / count(*) AS pct_relapsed,
       count(*) FILTER (WHERE r.relapsed AND NOT r.after_hsct) AS n_relapsed_before_hsct,
       count(*) FILTER (WHERE r.relapsed AND NOT r.after_next_course) AS n_relapsed_before_next_course,
       median(r.cr_to_relapse_days) AS median_cr_to_relapse_days
FROM derived.course_relapse r
JOIN derived.patient_courses p ON p.patient_id = r.patient_id AND p.in_cohort
GROUP BY r.course_label
