-- rule: toxicity_event.fever.required_for_crs
-- grain: one row per CRS graded 1 or more with no fever and no anti-cytokine or antipyretic
-- therapy (ASTCT: fever is required until such therapy starts)
SELECT site_id, patient_id, 'toxicity_event' AS target_table, 'fever' AS target_column,
       tox_id AS record_key, CAST(fever AS VARCHAR) AS value,
       'fever, or tocilizumab/steroids/antipyretics given' AS expected,
       'CRS grade ' || grade_reported || ' without fever or anti-cytokine therapy' AS detail
FROM toxicity_event
WHERE tox_type = 'crs' AND grade_reported >= 1 AND fever = false
  AND coalesce(anticytokine_or_antipyretic, false) = false
  AND coalesce(temp_max_c, 0) < 38
