-- rule: toxicity_event.grade_reported.crs_matches_astct (R14)
-- grain: one row per CRS reported on ASTCT 2019 whose grade differs from the grade
-- recomputed from fever, hypotension/vasopressors and oxygen device (both are reported)
SELECT site_id, patient_id, 'toxicity_event' AS target_table, 'grade_reported' AS target_column,
       tox_id AS record_key, CAST(grade_reported AS VARCHAR) AS value,
       'ASTCT grade ' || grade_astct || ' from the components' AS expected,
       'reported ' || grade_reported || ', recomputed ' || grade_astct || ' (hypotension '
         || g_hypotension || ', hypoxia ' || g_hypoxia || ', fever criterion ' || fever_criterion || ')' AS detail
FROM dq_tox_astct
WHERE tox_type = 'crs' AND grading_scale = 'astct_2019' AND recompute_status = 'computed'
  AND grade_reported BETWEEN 0 AND 4 AND grade_astct <> grade_reported
  AND fever_criterion
