-- view: endpoints.cr_by_switch
-- grain: one row per CART-B response group (cr, not_cr) of the cohort
-- depends_on: derived.cart_ab, derived.best_response
-- description: Whether CART-B targeted a different antigen (different_antigen, per the
--   setting) among CART-B responders and non-responders: n, n_different_antigen and
--   n_same_antigen with percentages of the group. Non-responders include courses with no
--   qualifying assessment.
SELECT CASE WHEN b.cr_flag THEN 'cr' ELSE 'not_cr' END AS cart_b_response,
       count(*) AS n,
       count(*) FILTER (WHERE ab.different_antigen) AS n_different_antigen,
       100.0 * count(*) FILTER (WHERE ab.different_antigen) / count(*) AS pct_different_antigen,
       count(*) FILTER (WHERE NOT ab.different_antigen) AS n_same_antigen,
       100.0 * count(*) FILTER (WHERE NOT ab.different_antigen) / count(*) AS pct_same_antigen
FROM derived.cart_ab ab
JOIN derived.best_response b ON b.patient_id = ab.patient_id AND b.course_seq = 2
GROUP BY 1
