-- view: derived.interval_therapy
-- grain: one row per cohort patient × therapy received between CART-A and CART-B (one row
--   per anti-leukemic therapy class, plus 'hsct'), only for what the patient received
-- depends_on: derived.cart_ab, canonical.antileukemic_therapy, canonical.hsct
-- description: Therapy started after CART-A's first infusion and before CART-B's, any intent
--   (bridging to CART-B included: intent is kept in the intents list); HSCT between the two
--   first infusions with the disease status at transplant.
SELECT ab.site_id, ab.patient_id, t.therapy_class AS therapy,
       count(*) AS n_lines,
       min(t.start_date) AS first_start_date,
       list(DISTINCT t.intent ORDER BY t.intent) AS intents,
       CAST(NULL AS VARCHAR) AS disease_status_at_hsct
FROM derived.cart_ab ab
JOIN canonical.antileukemic_therapy t
  ON t.patient_id = ab.patient_id AND t.start_date > ab.cart_a_date AND t.start_date < ab.cart_b_date
GROUP BY ab.site_id, ab.patient_id, t.therapy_class
UNION ALL
SELECT ab.site_id, ab.patient_id, 'hsct',
       count(*), min(h.hsct_date), CAST([] AS VARCHAR[]),
       arg_min(h.disease_status_at_hsct, (h.hsct_date, h.hsct_id))
FROM derived.cart_ab ab
JOIN canonical.hsct h
  ON h.patient_id = ab.patient_id AND h.hsct_date > ab.cart_a_date AND h.hsct_date < ab.cart_b_date
GROUP BY ab.site_id, ab.patient_id
