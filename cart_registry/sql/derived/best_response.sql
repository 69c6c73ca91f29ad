-- view: derived.best_response
-- grain: one row per course: its best response within the response window
-- depends_on: derived.course_window, canonical.disease_assessment, study.settings
-- description: Only bone-marrow assessments with a response category decide, dated from the
--   first infusion to response_last_date. Categories rank cr_mrd_neg > cr_mrd_pos =
--   cr_mrd_unknown > cri > pr > nr > pd > ne; ties go to the earliest date. cr_flag is a CR
--   (any MRD) or, when cri_counts_as_cr, a CRi; cr_date is the first qualifying assessment in
--   the window. A course with no qualifying assessment has best_response NULL and no CR.
WITH a AS (
  SELECT w.patient_id, w.course_seq, d.assessment_date, d.response,
         CASE d.response
           WHEN 'cr_mrd_neg' THEN 1 WHEN 'cr_mrd_pos' THEN 2 WHEN 'cr_mrd_unknown' THEN 2
           WHEN 'cri' THEN 3 WHEN 'pr' THEN 4 WHEN 'nr' THEN 5 WHEN 'pd' THEN 6 WHEN 'ne' THEN 7
         END AS response_rank,
         d.response IN ('cr_mrd_neg', 'cr_mrd_pos', 'cr_mrd_unknown')
           OR (d.response = 'cri' AND s.cri_counts_as_cr) AS is_cr
  FROM derived.course_window w
  JOIN canonical.disease_assessment d
    ON d.patient_id = w.patient_id
   AND d.specimen = 'bone_marrow'
   AND d.response IS NOT NULL
   AND d.assessment_date >= w.first_infusion_date
   AND d.assessment_date <= w.response_last_date
  CROSS JOIN study.settings s
), best AS (
  SELECT patient_id, course_seq,
         arg_min(response, (response_rank, assessment_date)) AS best_response,
         min(response_rank) AS best_rank,
         arg_min(assessment_date, (response_rank, assessment_date)) AS best_response_date,
         bool_or(is_cr) AS cr_flag,
         min(assessment_date) FILTER (WHERE is_cr) AS cr_date,
         bool_or(response = 'cr_mrd_neg') AS cr_mrd_negative,
         count(*) AS n_assessments
  FROM a
  GROUP BY patient_id, course_seq
)
SELECT w.site_id, w.patient_id, w.course_seq, w.course_label, w.construct_id,
       w.target_antigens, w.first_infusion_date, w.next_course_date, w.next_hsct_date,
       w.next_therapy_date, w.window_end_date, w.window_closed_by, w.response_last_date,
       b.best_response, b.best_response_date,
       b.best_response IS NOT NULL AS response_evaluable,
       coalesce(b.cr_flag, false) AS cr_flag,
       b.cr_date,
       coalesce(b.cr_mrd_negative, false) AS cr_mrd_negative,
       coalesce(b.n_assessments, 0) AS n_assessments
FROM derived.course_window w
LEFT JOIN best b ON b.patient_id = w.patient_id AND b.course_seq = w.course_seq
