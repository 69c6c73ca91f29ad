-- rule: follow_up.vital_status.matches_death (R09)
-- grain: one row per patient whose vital status disagrees with the death table
SELECT f.site_id, f.patient_id, 'follow_up' AS target_table, 'vital_status' AS target_column,
       f.patient_id AS record_key, f.vital_status AS value,
       CASE WHEN d.patient_id IS NULL THEN 'alive (no death recorded)' ELSE 'dead (a death is recorded)' END AS expected,
       CASE WHEN d.patient_id IS NULL THEN 'vital status dead but no death row'
            ELSE 'death row present but vital status ' || f.vital_status END AS detail
FROM follow_up f LEFT JOIN death d ON d.patient_id = f.patient_id
WHERE (f.vital_status = 'dead' AND d.patient_id IS NULL)
   OR (f.vital_status = 'alive' AND d.patient_id IS NOT NULL)
