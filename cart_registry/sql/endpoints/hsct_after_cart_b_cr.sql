-- view: endpoints.hsct_after_cart_b_cr
-- grain: one row: transplants after a CART-B CR in the cohort
-- depends_on: derived.hsct_after_cr, derived.patient_courses
-- description: Among cohort patients in CR after CART-B: how many had an HSCT after the CR
--   date, how many before relapsing (consolidation), and the CR → HSCT interval in days
--   (median, minimum, maximum).
SELECT count(*) AS n_cr,
       count(*) FILTER (WHERE h.had_hsct) AS n_hsct,
       100.0 * count(*) FILTER (WHERE h.had_hsct) / nullif(count(*), 0) AS pct_hsct,
       count(*) FILTER (WHERE h.before_relapse) AS n_hsct_before_relapse,
       median(h.cr_to_hsct_days) AS median_cr_to_hsct_days,
       min(h.cr_to_hsct_days) AS min_cr_to_hsct_days,
       max(h.cr_to_hsct_days) AS max_cr_to_hsct_days
FROM derived.hsct_after_cr h
JOIN derived.patient_courses p ON p.patient_id = h.patient_id AND p.in_cohort
WHERE h.course_seq = 2
