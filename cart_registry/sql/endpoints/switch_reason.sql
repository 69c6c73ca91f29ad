-- view: endpoints.switch_reason
-- grain: one row per status of CART-A's target antigen(s) before CART-B, among cohort
--   patients whose CART-B targeted a different antigen
-- depends_on: derived.cart_ab, derived.antigen_status
-- description: Supports "mostly due to loss of the CART-A antigen": for each switcher, the
--   worst pre-CART-B status over CART-A's targets (negative < dim/partial < positive; NULL =
--   not measured). n and percentage of switchers.
WITH w AS (
  SELECT ab.patient_id,
         min(CASE s.status_pre_b WHEN 'negative' THEN 0 WHEN 'dim' THEN 1 WHEN 'partial' THEN 1
                                 WHEN 'positive' THEN 2 END) AS worst
  FROM derived.cart_ab ab
  LEFT JOIN derived.antigen_status s
    ON s.patient_id = ab.patient_id AND list_contains(ab.cart_a_targets, s.antigen)
  WHERE ab.different_antigen
  GROUP BY ab.patient_id
)
SELECT CASE worst WHEN 0 THEN 'negative' WHEN 1 THEN 'dim' WHEN 2 THEN 'positive'
                  ELSE 'not_measured' END AS cart_a_antigen_before_b,
       count(*) AS n,
       100.0 * count(*) / sum(count(*)) OVER () AS pct
FROM w
GROUP BY 1
