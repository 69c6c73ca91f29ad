-- rule: toxicity_event.grade_reported.grade5_implies_death (R12)
-- grain: one row per grade-5 (or fatal) toxicity without a death attributed to that toxicity,
-- or a fatal toxicity reported below grade 5
SELECT t.site_id, t.patient_id, 'toxicity_event' AS target_table, 'grade_reported' AS target_column,
       t.tox_id AS record_key, CAST(t.grade_reported AS VARCHAR) AS value,
       CASE WHEN d.patient_id IS NULL THEN 'a death row with cause ' || t.tox_type
            WHEN coalesce(t.grade_reported, 5) < 5 THEN 'grade 5 for a fatal event'
            ELSE 'death cause ' || t.tox_type END AS expected,
       CASE WHEN d.patient_id IS NULL THEN t.tox_type || ' grade 5 or fatal but no death recorded'
            WHEN coalesce(t.grade_reported, 5) < 5 THEN t.tox_type || ' marked fatal but graded ' || t.grade_reported
            ELSE t.tox_type || ' grade 5 but death cause is ' || d.primary_cause END AS detail
FROM toxicity_event t LEFT JOIN death d ON d.patient_id = t.patient_id
WHERE t.tox_type IN ('crs', 'icans', 'iec_hs')
  AND (t.grade_reported = 5 OR t.fatal)
  AND (d.patient_id IS NULL
       OR d.primary_cause NOT IN (t.tox_type, 'unknown')
       OR (t.fatal AND coalesce(t.grade_reported, 5) < 5))
