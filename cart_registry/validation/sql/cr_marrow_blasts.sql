-- rule: disease_assessment.response.cr_requires_m1_marrow
-- grain: one row per marrow assessment called CR/CRi with 5% blasts or more by morphology
SELECT site_id, patient_id, 'disease_assessment' AS target_table, 'response' AS target_column,
       assessment_id AS record_key, response AS value,
       'blasts below 5% (M1 marrow) for a CR' AS expected,
       'CR reported with ' || bm_blast_pct || '% marrow blasts' AS detail
FROM disease_assessment
WHERE specimen = 'bone_marrow' AND response IN ('cr_mrd_neg', 'cr_mrd_pos', 'cr_mrd_unknown', 'cri')
  AND bm_blast_pct >= 5
