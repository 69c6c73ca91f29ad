-- rule: course.first_infusion.distinct_dates (R03)
-- grain: one row per course whose first infusion falls on the same day as another course's
-- of the same patient (CART-A/CART-B order undecidable; both courses are reported), unless
-- both constructs are declared co-administered in the construct catalog
SELECT c.site_id, c.patient_id, 'cart_infusion' AS target_table, 'infusion_date' AS target_column,
       c.first_infusion_id AS record_key, CAST(c.first_infusion_date AS VARCHAR) AS value,
       'a different day from the first infusion of ' || string_agg(o.construct_id, ', ' ORDER BY o.construct_id) AS expected,
       'constructs ' || c.construct_id || ' and ' || string_agg(o.construct_id, ', ' ORDER BY o.construct_id)
         || ' start on the same day' AS detail
FROM dq_course c
JOIN dq_course o ON o.patient_id = c.patient_id AND o.construct_id <> c.construct_id
  AND o.first_infusion_date = c.first_infusion_date
WHERE NOT (coalesce(c.target_design, '') = 'co_administered' AND coalesce(o.target_design, '') = 'co_administered')
GROUP BY c.site_id, c.patient_id, c.construct_id, c.first_infusion_id, c.first_infusion_date
