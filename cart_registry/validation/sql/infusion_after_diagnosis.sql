-- rule: cart_infusion.infusion_date.after_diagnosis (R02)
-- grain: one row per infusion dated before the patient's diagnosis
SELECT i.site_id, i.patient_id, 'cart_infusion' AS target_table, 'infusion_date' AS target_column,
       i.infusion_id AS record_key, CAST(i.infusion_date AS VARCHAR) AS value,
       'on or after diagnosis ' || CAST(p.diagnosis_date AS VARCHAR) AS expected,
       date_diff('day', i.infusion_date, p.diagnosis_date) || ' days before diagnosis' AS detail
FROM cart_infusion i JOIN patient p ON p.patient_id = i.patient_id
WHERE i.infusion_date < p.diagnosis_date
