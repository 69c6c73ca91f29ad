-- view: derived.toxicity_course
-- grain: one row per course × toxicity type (crs, icans): the worst episode after that course
-- depends_on: derived.course, derived.toxicity_astct, canonical.cart_infusion
-- description: An episode belongs to the course of the infusion it names; when it names none
--   (or an unknown one) it belongs to the latest course whose first infusion is on or before
--   its onset. Per course and type: whether any episode occurred (grade >= 1 reported or
--   recomputed, or no grade at all), the worst reported grade with its scale(s), the worst
--   recomputed ASTCT grade, and whether every episode could be recomputed. Courses without an
--   episode have a row with occurred = false.
WITH by_infusion AS (
  SELECT t.tox_id, c.course_seq
  FROM derived.toxicity_astct t
  JOIN canonical.cart_infusion i ON i.infusion_id = t.infusion_id AND i.patient_id = t.patient_id
  JOIN derived.course c ON c.patient_id = i.patient_id AND c.construct_id = i.construct_id
), by_date AS (
  SELECT t.tox_id, max(c.course_seq) AS course_seq
  FROM derived.toxicity_astct t
  JOIN derived.course c ON c.patient_id = t.patient_id AND c.first_infusion_date <= t.onset_date
  GROUP BY t.tox_id
), attributed AS (
  SELECT t.*, coalesce(bi.course_seq, bd.course_seq) AS course_seq,
         bi.course_seq IS NOT NULL AS attributed_by_infusion
  FROM derived.toxicity_astct t
  LEFT JOIN by_infusion bi ON bi.tox_id = t.tox_id
  LEFT JOIN by_date bd ON bd.tox_id = t.tox_id
), per AS (
  SELECT patient_id, course_seq, tox_type,
         count(*) AS n_episodes,
         bool_or(coalesce(grade_reported, 1) >= 1 OR coalesce(grade_astct, 0) >= 1) AS occurred,
         max(grade_reported) AS max_grade_reported,
         list(DISTINCT grading_scale ORDER BY grading_scale)
           FILTER (WHERE grading_scale IS NOT NULL) AS grading_scales,
         max(grade_astct) AS max_grade_astct,
         bool_and(grade_astct IS NOT NULL) AS astct_complete,
         bool_or(recompute_status LIKE 'approximate%') AS astct_approximate,
         bool_or(coalesce(tocilizumab_doses, 0) > 0) AS tocilizumab,
         bool_or(coalesce(corticosteroids, false)) AS corticosteroids,
         bool_or(coalesce(icu_admission, false)) AS icu_admission,
         min(onset_date) AS first_onset_date
  FROM attributed
  WHERE course_seq IS NOT NULL
  GROUP BY patient_id, course_seq, tox_type
)
SELECT c.site_id, c.patient_id, c.course_seq, c.course_label, c.construct_id,
       c.first_infusion_date, x.tox_type,
       coalesce(p.n_episodes, 0) AS n_episodes,
       coalesce(p.occurred, false) AS occurred,
       p.max_grade_reported, p.grading_scales,
       -- one scale per course and type is the norm; a mix is reported as 'mixed'
       CASE WHEN len(p.grading_scales) = 1 THEN p.grading_scales[1]
            WHEN len(p.grading_scales) > 1 THEN 'mixed' END AS grading_scale,
       p.max_grade_astct,
       coalesce(p.astct_complete, true) AS astct_complete,
       coalesce(p.astct_approximate, false) AS astct_approximate,
       date_diff('day', c.first_infusion_date, p.first_onset_date) AS onset_day,
       coalesce(p.tocilizumab, false) AS tocilizumab,
       coalesce(p.corticosteroids, false) AS corticosteroids,
       coalesce(p.icu_admission, false) AS icu_admission
FROM derived.course c
CROSS JOIN (VALUES ('crs'), ('icans')) AS x(tox_type)
LEFT JOIN per p ON p.patient_id = c.patient_id AND p.course_seq = c.course_seq
               AND p.tox_type = x.tox_type
