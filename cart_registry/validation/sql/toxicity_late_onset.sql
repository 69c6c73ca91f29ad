-- rule: toxicity_event.onset_date.late_onset (R11)
-- grain: one row per CRS with onset more than 30 days, or ICANS more than 60 days, after the
-- infusion it is attributed to (or its course's first infusion when no infusion is given)
WITH t AS (
  SELECT t.*, coalesce(i.infusion_date, (
           SELECT max(c.first_infusion_date) FROM dq_course c
           WHERE c.patient_id = t.patient_id AND c.first_infusion_date <= t.onset_date)) AS ref_date
  FROM toxicity_event t LEFT JOIN cart_infusion i ON i.infusion_id = t.infusion_id AND i.site_id = t.site_id
  WHERE t.tox_type IN ('crs', 'icans')
)
SELECT site_id, patient_id, 'toxicity_event' AS target_table, 'onset_date' AS target_column,
       tox_id AS record_key, CAST(onset_date AS VARCHAR) AS value,
       'within ' || CASE WHEN tox_type = 'crs' THEN 30 ELSE 60 END || ' days of the infusion' AS expected,
       tox_type || ' onset on day ' || date_diff('day', ref_date, onset_date) || ' after infusion' AS detail
FROM t
WHERE ref_date IS NOT NULL
  AND date_diff('day', ref_date, onset_date) > CASE WHEN tox_type = 'crs' THEN 30 ELSE 60 END
