-- rule: follow_up.last_contact_date.before_cutoff (R10)
-- grain: one row per patient whose last contact is after the site's data cut-off
SELECT f.site_id, f.patient_id, 'follow_up' AS target_table, 'last_contact_date' AS target_column,
       f.patient_id AS record_key, CAST(f.last_contact_date AS VARCHAR) AS value,
       'on or before the data cut-off ' || CAST(s.cutoff_date AS VARCHAR) AS expected,
       date_diff('day', s.cutoff_date, f.last_contact_date) || ' days after the data cut-off' AS detail
FROM follow_up f JOIN dq_site_cutoff s USING (site_id)
WHERE f.last_contact_date > s.cutoff_date
