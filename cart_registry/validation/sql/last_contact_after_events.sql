-- rule: follow_up.last_contact_date.after_events (R10)
-- grain: one row per patient whose last contact is before their latest dated event
WITH latest AS (
  SELECT patient_id, max(event_date) AS max_date,
         arg_max(event_table || '.' || event_column, event_date) AS what
  FROM dq_event GROUP BY patient_id
)
SELECT f.site_id, f.patient_id, 'follow_up' AS target_table, 'last_contact_date' AS target_column,
       f.patient_id AS record_key, CAST(f.last_contact_date AS VARCHAR) AS value,
       'on or after ' || CAST(l.max_date AS VARCHAR) AS expected,
       'last contact is ' || date_diff('day', f.last_contact_date, l.max_date)
         || ' days before the latest event (' || l.what || ')' AS detail
FROM follow_up f JOIN latest l USING (patient_id)
WHERE f.last_contact_date < l.max_date
