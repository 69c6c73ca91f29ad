-- rule: toxicity_event.resolution_date.after_onset
-- grain: one row per toxicity resolved before its onset
SELECT site_id, patient_id, 'toxicity_event' AS target_table, 'resolution_date' AS target_column,
       tox_id AS record_key, CAST(resolution_date AS VARCHAR) AS value,
       'on or after onset ' || CAST(onset_date AS VARCHAR) AS expected,
       'resolved ' || date_diff('day', resolution_date, onset_date) || ' days before onset' AS detail
FROM toxicity_event
WHERE resolution_date < onset_date
