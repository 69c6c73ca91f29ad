-- rule: follow_up.patient_id.present_for_infused
-- grain: one row per infused patient without a follow-up (last contact) row: survival
-- endpoints cannot place them
SELECT p.site_id, p.patient_id, 'patient' AS target_table, 'patient_id' AS target_column,
       p.patient_id AS record_key, CAST(NULL AS VARCHAR) AS value,
       'a follow_up row with last contact and vital status' AS expected,
       'infused patient without follow-up' AS detail
FROM patient p
WHERE EXISTS (SELECT 1 FROM cart_infusion i WHERE i.patient_id = p.patient_id)
  AND NOT EXISTS (SELECT 1 FROM follow_up f WHERE f.patient_id = p.patient_id)
