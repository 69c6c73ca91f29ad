-- rule: event.date.after_diagnosis (R07)
-- grain: one row per dated event (other than an infusion, see R02) before the diagnosis date
SELECT e.site_id, e.patient_id, e.event_table AS target_table, e.event_column AS target_column,
       e.record_key, CAST(e.event_date AS VARCHAR) AS value,
       'on or after diagnosis ' || CAST(p.diagnosis_date AS VARCHAR) AS expected,
       e.event_table || '.' || e.event_column || ' is ' || date_diff('day', e.event_date, p.diagnosis_date)
         || ' days before diagnosis' AS detail
FROM dq_event e JOIN patient p ON p.patient_id = e.patient_id
WHERE e.event_table <> 'cart_infusion' AND e.event_date < p.diagnosis_date
