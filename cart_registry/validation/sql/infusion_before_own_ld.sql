-- rule: cart_infusion.infusion_date.after_own_lymphodepletion (R04)
-- grain: one row per infusion dated before the start of the lymphodepletion that prepared it.
-- The course order (CART-A, CART-B) is derived from infusion dates, so an infusion moved
-- before its own preparation, typically a CART-B dated before CART-A, silently swaps the
-- courses; its lymphodepletion still shows where it belongs.
SELECT i.site_id, i.patient_id, 'cart_infusion' AS target_table, 'infusion_date' AS target_column,
       i.infusion_id AS record_key, CAST(i.infusion_date AS VARCHAR) AS value,
       'on or after its lymphodepletion start ' || CAST(min(l.start_date) AS VARCHAR) AS expected,
       'infused ' || date_diff('day', i.infusion_date, min(l.start_date))
         || ' days before its own lymphodepletion started (course order in doubt)' AS detail
FROM cart_infusion i JOIN lymphodepletion l ON l.infusion_id = i.infusion_id AND l.site_id = i.site_id
WHERE l.start_date > i.infusion_date
GROUP BY i.site_id, i.patient_id, i.infusion_id, i.infusion_date
