-- view: endpoints.cr_paired
-- grain: one row: the paired 2×2 table of CR after CART-A and after CART-B in the cohort
-- depends_on: derived.cart_ab, derived.best_response
-- description: "both", a_only, b_only, neither over cohort patients (CR = cr_flag). The exact
--   McNemar test uses the discordant pairs (a_only, b_only); it is computed by the stats
--   module, not in SQL. BOTH is an SQL keyword: quote the column ("both") in queries.
WITH pairs AS (
  SELECT ab.patient_id, a.cr_flag AS a_cr, b.cr_flag AS b_cr
  FROM derived.cart_ab ab
  JOIN derived.best_response a ON a.patient_id = ab.patient_id AND a.course_seq = 1
  JOIN derived.best_response b ON b.patient_id = ab.patient_id AND b.course_seq = 2
)
SELECT count(*) AS n,
       count(*) FILTER (WHERE a_cr) AS a_cr,
       count(*) FILTER (WHERE b_cr) AS b_cr,
       count(*) FILTER (WHERE a_cr AND b_cr) AS "both",
       count(*) FILTER (WHERE a_cr AND NOT b_cr) AS a_only,
       count(*) FILTER (WHERE b_cr AND NOT a_cr) AS b_only,
       count(*) FILTER (WHERE NOT a_cr AND NOT b_cr) AS neither
FROM pairs
