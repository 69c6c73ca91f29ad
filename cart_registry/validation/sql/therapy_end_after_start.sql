-- rule: antileukemic_therapy.end_date.after_start
-- grain: one row per therapy ending before it started
SELECT site_id, patient_id, 'antileukemic_therapy' AS target_table, 'end_date' AS target_column,
       therapy_id AS record_key, CAST(end_date AS VARCHAR) AS value,
       'on or after start ' || CAST(start_date AS VARCHAR) AS expected,
       'ends ' || date_diff('day', end_date, start_date) || ' days before it starts' AS detail
FROM antileukemic_therapy
WHERE end_date < start_date
