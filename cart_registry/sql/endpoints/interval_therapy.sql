-- view: endpoints.interval_therapy
-- grain: one row per therapy class (and hsct) given between CART-A and CART-B
-- depends_on: derived.interval_therapy, derived.cart_ab
-- description: Number and percentage of cohort patients who received each therapy class
--   (chemotherapy, blinatumomab, inotuzumab, ..., hsct) after CART-A and before CART-B.
SELECT t.therapy,
       count(DISTINCT t.patient_id) AS n_patients,
       100.0 * count(DISTINCT t.patient_id) / (SELECT count(*) FROM derived.cart_ab) AS pct_of_cohort
FROM derived.interval_therapy t
GROUP BY t.therapy
