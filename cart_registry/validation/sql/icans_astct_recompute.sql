-- rule: toxicity_event.grade_reported.icans_matches_astct (R14)
-- grain: one row per ICANS reported on ASTCT 2019 whose grade differs from the grade
-- recomputed from ICE (older than 12) or CAPD (12 or younger), consciousness, seizure, motor
-- weakness and cerebral edema
SELECT site_id, patient_id, 'toxicity_event' AS target_table, 'grade_reported' AS target_column,
       tox_id AS record_key, CAST(grade_reported AS VARCHAR) AS value,
       'ASTCT grade ' || grade_astct || ' from the components' AS expected,
       'reported ' || grade_reported || ', recomputed ' || grade_astct || ' (tool '
         || coalesce(CAST(g_tool AS VARCHAR), '-') || ', consciousness ' || g_consciousness || ', seizure '
         || g_seizure || ', motor ' || g_motor || ', edema ' || g_edema || ')' AS detail
FROM dq_tox_astct
WHERE tox_type = 'icans' AND grading_scale = 'astct_2019' AND recompute_status = 'computed'
  AND grade_reported BETWEEN 0 AND 4 AND grade_astct <> grade_reported
