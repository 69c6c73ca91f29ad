-- rule: cart_infusion.dose_total_car_pos_e8.consistent_with_weight (R20)
-- grain: one row per infusion whose total dose disagrees by more than 25% with per-kg dose x
-- weight (10^8 total = 100 x 10^6)
SELECT site_id, patient_id, 'cart_infusion' AS target_table, 'dose_total_car_pos_e8' AS target_column,
       infusion_id AS record_key, CAST(dose_total_car_pos_e8 AS VARCHAR) AS value,
       'about ' || round(dose_car_pos_per_kg_e6 * weight_kg / 100, 3) || ' x10^8 (per-kg dose x weight)' AS expected,
       'total ' || dose_total_car_pos_e8 || ' x10^8 vs ' || round(dose_car_pos_per_kg_e6 * weight_kg / 100, 3)
         || ' x10^8 from ' || dose_car_pos_per_kg_e6 || ' x10^6/kg' AS detail
FROM cart_infusion
WHERE dose_total_car_pos_e8 > 0 AND dose_car_pos_per_kg_e6 > 0 AND weight_kg > 0
  AND abs(dose_total_car_pos_e8 * 100 - dose_car_pos_per_kg_e6 * weight_kg)
      > 0.25 * dose_total_car_pos_e8 * 100
