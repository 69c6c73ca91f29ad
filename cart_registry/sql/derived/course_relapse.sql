-- view: derived.course_relapse
-- grain: one row per course that reached CR: its first relapse after the CR date, if any
-- depends_on: derived.best_response, canonical.relapse, canonical.hsct, study.settings
-- description: The first relapse (any detection method, CIBMTR) dated after the course's CR
--   date and on or before the data cut-off. Relapses after a later HSCT count (flag
--   after_hsct for the variant that stops at HSCT); a relapse on or after the next course's
--   first infusion is flagged after_next_course (the variant that stops at the next CAR T).
--   hsct_after_cr_date is the first HSCT after the CR date, whatever came later.
WITH r AS (
  SELECT b.patient_id, b.course_seq,
         arg_min(x.relapse_id, (x.relapse_date, x.relapse_id)) AS relapse_id,
         min(x.relapse_date) AS relapse_date
  FROM derived.best_response b
  JOIN canonical.relapse x ON x.patient_id = b.patient_id AND x.relapse_date > b.cr_date
  CROSS JOIN study.settings s
  WHERE b.cr_flag AND x.relapse_date <= s.data_cutoff_date
  GROUP BY b.patient_id, b.course_seq
), h AS (
  SELECT b.patient_id, b.course_seq, min(x.hsct_date) AS hsct_after_cr_date
  FROM derived.best_response b
  JOIN canonical.hsct x ON x.patient_id = b.patient_id AND x.hsct_date > b.cr_date
  CROSS JOIN study.settings s
  WHERE b.cr_flag AND x.hsct_date <= s.data_cutoff_date
  GROUP BY b.patient_id, b.course_seq
)
SELECT b.site_id, b.patient_id, b.course_seq, b.course_label, b.construct_id,
       b.target_antigens, b.first_infusion_date, b.cr_date, b.next_course_date,
       h.hsct_after_cr_date,
       r.relapse_id IS NOT NULL AS relapsed,
       r.relapse_id, r.relapse_date,
       x.lineage, x.relapse_site, x.detection_method, x.relapse_level,
       date_diff('day', b.cr_date, r.relapse_date) AS cr_to_relapse_days,
       coalesce(r.relapse_date > h.hsct_after_cr_date, false) AS after_hsct,
       coalesce(r.relapse_date >= b.next_course_date, false) AS after_next_course
FROM derived.best_response b
LEFT JOIN r ON r.patient_id = b.patient_id AND r.course_seq = b.course_seq
LEFT JOIN h ON h.patient_id = b.patient_id AND h.course_seq = b.course_seq
LEFT JOIN canonical.relapse x ON x.relapse_id = r.relapse_id AND x.patient_id = r.patient_id
WHERE b.cr_flag
