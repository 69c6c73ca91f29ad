-- view: derived.hsct_after_cr
-- grain: one row per course that reached CR: the first HSCT after the CR date, if any
-- depends_on: derived.course_relapse, canonical.hsct
-- description: Consolidative transplant after a course's CR. before_relapse says whether it
--   came before that course's first relapse after CR (consolidation) or after it (salvage).
SELECT r.site_id, r.patient_id, r.course_seq, r.course_label, r.cr_date, r.relapse_date,
       r.hsct_after_cr_date IS NOT NULL AS had_hsct,
       r.hsct_after_cr_date AS hsct_date,
       date_diff('day', r.cr_date, r.hsct_after_cr_date) AS cr_to_hsct_days,
       CASE WHEN r.hsct_after_cr_date IS NOT NULL
            THEN r.relapse_date IS NULL OR r.hsct_after_cr_date < r.relapse_date END AS before_relapse,
       h.hsct_type, h.donor_type, h.disease_status_at_hsct
FROM derived.course_relapse r
LEFT JOIN (
  SELECT patient_id, hsct_date,
         arg_min(hsct_type, hsct_id) AS hsct_type,
         arg_min(donor_type, hsct_id) AS donor_type,
         arg_min(disease_status_at_hsct, hsct_id) AS disease_status_at_hsct
  FROM canonical.hsct GROUP BY patient_id, hsct_date
) h ON h.patient_id = r.patient_id AND h.hsct_date = r.hsct_after_cr_date
