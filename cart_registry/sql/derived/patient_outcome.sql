-- view: derived.patient_outcome
-- grain: one row per patient: vital status and follow-up end as seen at the data cut-off
-- depends_on: canonical.patient, canonical.death, canonical.follow_up, study.settings
-- description: Death is the death row, else the last contact of a patient reported dead.
--   Anything after data_cutoff_date is not seen: a later death is not a death, and follow-up
--   ends at the cut-off. followup_end_date is the last contact (or death) capped at the
--   cut-off; a patient without a follow-up row has none (follow_up_missing) and survival rows
--   then censor at their origin.
WITH raw AS (
  SELECT p.site_id, p.patient_id, p.birth_date,
         coalesce(d.death_date,
                  CASE WHEN f.vital_status = 'dead' THEN f.last_contact_date END) AS death_date_reported,
         d.primary_cause AS death_cause,
         f.last_contact_date, f.vital_status, f.last_disease_status,
         f.patient_id IS NULL AS follow_up_missing
  FROM canonical.patient p
  LEFT JOIN canonical.death d ON d.patient_id = p.patient_id
  LEFT JOIN canonical.follow_up f ON f.patient_id = p.patient_id
)
SELECT r.site_id, r.patient_id, r.birth_date, r.last_contact_date, r.vital_status,
       r.last_disease_status, r.death_cause, r.follow_up_missing,
       CASE WHEN r.death_date_reported <= s.data_cutoff_date THEN r.death_date_reported END AS death_date,
       coalesce(r.death_date_reported <= s.data_cutoff_date, false) AS dead,
       least(coalesce(r.death_date_reported, r.last_contact_date), s.data_cutoff_date) AS followup_end_date
FROM raw r CROSS JOIN study.settings s
