-- rule: death.death_date.last_event (R08)
-- grain: one row per dated event after the patient's death (death is the last event)
SELECT e.site_id, e.patient_id, e.event_table AS target_table, e.event_column AS target_column,
       e.record_key, CAST(e.event_date AS VARCHAR) AS value,
       'on or before death ' || CAST(d.death_date AS VARCHAR) AS expected,
       e.event_table || '.' || e.event_column || ' is ' || date_diff('day', d.death_date, e.event_date)
         || ' days after death' AS detail
FROM dq_event e JOIN death d ON d.patient_id = e.patient_id
WHERE e.event_date > d.death_date
