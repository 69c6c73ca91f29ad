-- rule: toxicity_event.grading_scale.present_when_graded (R12)
-- grain: one row per graded toxicity without a grading scale
SELECT site_id, patient_id, 'toxicity_event' AS target_table, 'grading_scale' AS target_column,
       tox_id AS record_key, CAST(NULL AS VARCHAR) AS value,
       'the scale of the reported grade (e.g. astct_2019)' AS expected,
       tox_type || ' grade ' || grade_reported || ' with no grading scale' AS detail
FROM toxicity_event
WHERE grade_reported IS NOT NULL AND (grading_scale IS NULL OR grading_scale = 'unknown')
