-- rule: death.primary_cause.toxicity_recorded
-- grain: one row per death caused by CRS, ICANS or IEC-HS with no such toxicity recorded
SELECT d.site_id, d.patient_id, 'death' AS target_table, 'primary_cause' AS target_column,
       d.patient_id AS record_key, d.primary_cause AS value,
       'a ' || d.primary_cause || ' toxicity event for the patient' AS expected,
       'death from ' || d.primary_cause || ' but no ' || d.primary_cause || ' event recorded' AS detail
FROM death d
WHERE d.primary_cause IN ('crs', 'icans', 'iec_hs')
  AND NOT EXISTS (SELECT 1 FROM toxicity_event t WHERE t.patient_id = d.patient_id AND t.tox_type = d.primary_cause)
