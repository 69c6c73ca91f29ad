-- rule: patient.birth_date.age_at_cart_a_in_range (R21)
-- grain: one row per patient whose age at CART-A is outside 0-40 years
SELECT site_id, patient_id, 'patient' AS target_table, 'birth_date' AS target_column,
       patient_id AS record_key, CAST(birth_date AS VARCHAR) AS value,
       'an age at CART-A between 0 and 40 years' AS expected,
       'age at CART-A ' || round(age_cart_a_years, 1) || ' years' AS detail
FROM dq_patient
WHERE age_cart_a_years < 0 OR age_cart_a_years > 40
