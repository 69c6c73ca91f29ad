-- view: endpoints.interval_a_b
-- grain: one row: days from CART-A's to CART-B's first infusion over the cohort
-- depends_on: derived.cart_ab
-- description: Median (R's median), minimum and maximum of interval_a_b_days.
SELECT count(*) AS n,
       median(interval_a_b_days) AS median_days,
       min(interval_a_b_days) AS min_days,
       max(interval_a_b_days) AS max_days
FROM derived.cart_ab
