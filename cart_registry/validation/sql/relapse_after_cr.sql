-- rule: relapse.relapse_date.after_cr (R17)
-- grain: one row per relapse with no CR/CRi assessed before it (it is then refractory or
-- progressive disease, not a relapse)
SELECT r.site_id, r.patient_id, 'relapse' AS target_table, 'relapse_date' AS target_column,
       r.relapse_id AS record_key, CAST(r.relapse_date AS VARCHAR) AS value,
       'after a CR or CRi' AS expected,
       'no CR/CRi assessed before this relapse' AS detail
FROM relapse r
WHERE NOT EXISTS (
  SELECT 1 FROM disease_assessment a
  WHERE a.patient_id = r.patient_id AND a.assessment_date < r.relapse_date
    AND a.response IN ('cr_mrd_neg', 'cr_mrd_pos', 'cr_mrd_unknown', 'cri'))
