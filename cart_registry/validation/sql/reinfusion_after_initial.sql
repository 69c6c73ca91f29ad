-- rule: cart_infusion.infusion_date.reinfusion_after_initial (R05)
-- grain: one row per re-infusion dated on or before its course's initial infusion
SELECT i.site_id, i.patient_id, 'cart_infusion' AS target_table, 'infusion_date' AS target_column,
       i.infusion_id AS record_key, CAST(i.infusion_date AS VARCHAR) AS value,
       'after the initial infusion on ' || CAST(c.initial_date AS VARCHAR) AS expected,
       i.infusion_intent || ' is ' || date_diff('day', i.infusion_date, c.initial_date)
         || ' days before the initial infusion of ' || c.construct_id AS detail
FROM cart_infusion i
JOIN dq_course c ON c.patient_id = i.patient_id AND c.construct_id = i.construct_id
WHERE i.infusion_intent LIKE 'reinfusion%' AND c.initial_date IS NOT NULL
  AND i.infusion_date <= c.initial_date
