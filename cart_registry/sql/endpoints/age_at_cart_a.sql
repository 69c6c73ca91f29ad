-- view: endpoints.age_at_cart_a
-- grain: one row: age at CART-A over the cohort
-- depends_on: derived.cart_ab
-- description: Age in years at CART-A's first infusion (days / 365.25): median (R's median:
--   mean of the two middle values for an even count), minimum and maximum, raw and rounded to
--   one decimal; n_missing counts cohort patients without a birth date.
SELECT count(age_cart_a_years) AS n,
       count(*) - count(age_cart_a_years) AS n_missing,
       median(age_cart_a_years) AS median_years,
       min(age_cart_a_years) AS min_years,
       max(age_cart_a_years) AS max_years,
       round(median(age_cart_a_years), 1) AS median_years_1dp,
       round(min(age_cart_a_years), 1) AS min_years_1dp,
       round(max(age_cart_a_years), 1) AS max_years_1dp
FROM derived.cart_ab
