-- view: derived.course_followup
-- grain: one row per course: every date a time-to-event row of the course may end at
-- depends_on: derived.best_response, derived.course_relapse, derived.patient_outcome, canonical.hsct, study.settings
-- description: Origins (first infusion, CR date), the course's first relapse after CR, death,
--   end of follow-up, and the subsequent therapies that the censored variants stop at: the
--   first HSCT after the first infusion and after the CR date, and the next course (next CAR
--   T). Dates after the data cut-off are dropped.
WITH h AS (
  SELECT b.patient_id, b.course_seq,
         min(x.hsct_date) AS hsct_after_infusion_date,
         min(x.hsct_date) FILTER (WHERE x.hsct_date > b.cr_date) AS hsct_after_cr_date
  FROM derived.best_response b
  JOIN canonical.hsct x ON x.patient_id = b.patient_id AND x.hsct_date > b.first_infusion_date
  CROSS JOIN study.settings s
  WHERE x.hsct_date <= s.data_cutoff_date
  GROUP BY b.patient_id, b.course_seq
)
SELECT b.site_id, b.patient_id, b.course_seq, b.course_label, b.construct_id,
       b.first_infusion_date, b.cr_flag, b.cr_date, b.best_response, b.response_evaluable,
       r.relapse_date, o.death_date, o.followup_end_date, o.follow_up_missing,
       h.hsct_after_infusion_date, h.hsct_after_cr_date,
       CASE WHEN b.next_course_date <= s.data_cutoff_date THEN b.next_course_date END AS next_course_date
FROM derived.best_response b
LEFT JOIN derived.course_relapse r ON r.patient_id = b.patient_id AND r.course_seq = b.course_seq
LEFT JOIN derived.patient_outcome o ON o.patient_id = b.patient_id
LEFT JOIN h ON h.patient_id = b.patient_id AND h.course_seq = b.course_seq
CROSS JOIN study.settings s
