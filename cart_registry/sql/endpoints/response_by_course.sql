-- view: endpoints.response_by_course
-- grain: one row per course label (A, B, C...) among cohort patients
-- depends_on: derived.best_response, derived.patient_courses
-- description: Best response within the window for each course of cohort patients: courses,
--   CR (cr_flag, so CRi counts when cri_counts_as_cr) with percentage, MRD-negative CR, and
--   the count of each best-response category (no_assessment = no qualifying marrow).
SELECT b.course_label,
       count(*) AS n,
       count(*) FILTER (WHERE b.cr_flag) AS n_cr,
       100.0 * count(*) FILTER (WHERE b.cr_flag) / count(*) AS pct_cr,
       count(*) FILTER (WHERE b.cr_mrd_negative) AS n_cr_mrd_neg,
       count(*) FILTER (WHERE b.best_response = 'cr_mrd_neg') AS best_cr_mrd_neg,
       count(*) FILTER (WHERE b.best_response IN ('cr_mrd_pos', 'cr_mrd_unknown')) AS best_cr_mrd_pos_or_unknown,
       count(*) FILTER (WHERE b.best_response = 'cri') AS best_cri,
       count(*) FILTER (WHERE b.best_response = 'pr') AS best_pr,
       count(*) FILTER (WHERE b.best_response = 'nr') AS best_nr,
       count(*) FILTER (WHERE b.best_response = 'pd') AS best_pd,
       count(*) FILTER (WHERE b.best_response = 'ne') AS best_ne,
       count(*) FILTER (WHERE b.best_response IS NULL) AS no_assessment
FROM derived.best_response b
JOIN derived.patient_courses p ON p.patient_id = b.patient_id AND p.in_cohort
GROUP BY b.course_label
