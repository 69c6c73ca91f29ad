-- rule: disease_assessment.response.mrd_negative_requires_mrd (R16)
-- grain: one row per assessment called MRD-negative CR without an MRD result below 0.01%
-- (1e-4): no method, a value at or above 1e-4, or neither a value nor a negative result
SELECT site_id, patient_id, 'disease_assessment' AS target_table, 'response' AS target_column,
       assessment_id AS record_key, response AS value,
       'MRD below 1e-4 (0.01%) by a stated method' AS expected,
       CASE WHEN mrd_method IS NULL OR mrd_method = 'none' THEN 'no MRD method'
            WHEN mrd_value IS NOT NULL THEN 'MRD ' || mrd_value || ' (' || round(mrd_value * 100, 4) || '%) is not below 0.01%'
            ELSE 'no MRD value and MRD result ' || coalesce(mrd_result, 'missing') END AS detail
FROM disease_assessment
WHERE response = 'cr_mrd_neg' AND NOT (
  mrd_method IS NOT NULL AND mrd_method <> 'none'
  AND ((mrd_value IS NOT NULL AND mrd_value < 1e-4) OR (mrd_value IS NULL AND mrd_result = 'negative')))
