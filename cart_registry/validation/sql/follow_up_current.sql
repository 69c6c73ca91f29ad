-- rule: follow_up.last_contact_date.current
-- grain: one row per living patient last seen more than 365 days before the data cut-off
-- (follow-up completeness: such patients are censored early and bias survival upwards)
SELECT f.site_id, f.patient_id, 'follow_up' AS target_table, 'last_contact_date' AS target_column,
       f.patient_id AS record_key, CAST(f.last_contact_date AS VARCHAR) AS value,
       'within 365 days before the data cut-off ' || CAST(s.cutoff_date AS VARCHAR) AS expected,
       'last seen ' || date_diff('day', f.last_contact_date, s.cutoff_date) || ' days before the cut-off' AS detail
FROM follow_up f JOIN dq_site_cutoff s USING (site_id)
WHERE f.vital_status = 'alive' AND date_diff('day', f.last_contact_date, s.cutoff_date) > 365
