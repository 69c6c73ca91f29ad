-- rule: cart_infusion.dose_car_pos_per_kg_e6.plausible (R20)
-- grain: one row per infusion whose weight-based dose is outside 0.01-50 x10^6 CAR+ cells/kg
-- (a failed unit normalisation usually shows up here: x10^8 totals read as per-kg doses)
SELECT site_id, patient_id, 'cart_infusion' AS target_table, 'dose_car_pos_per_kg_e6' AS target_column,
       infusion_id AS record_key, CAST(dose_car_pos_per_kg_e6 AS VARCHAR) AS value,
       'between 0.01 and 50 x10^6 cells/kg' AS expected,
       'dose ' || dose_car_pos_per_kg_e6 || ' x10^6/kg' AS detail
FROM cart_infusion
WHERE dose_car_pos_per_kg_e6 < 0.01 OR dose_car_pos_per_kg_e6 > 50
