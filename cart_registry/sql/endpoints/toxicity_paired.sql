-- view: endpoints.toxicity_paired
-- grain: one row per toxicity type (crs, icans) × measure: CART-A versus CART-B in the same
--   cohort patients
-- depends_on: derived.cart_ab, derived.toxicity_course
-- description: Paired 2×2 counts ("both", a_only, b_only, neither) for any grade (robust across
--   scales), grade >= 3 as reported (each course on its own scale) and grade >= 3 by
--   recomputed ASTCT (pairs where both courses could be recomputed; n_pairs says how many).
--   An exact McNemar test on a_only/b_only answers "does toxicity after CART-B differ?".
WITH p AS MATERIALIZED (
  SELECT a.tox_type,
         a.occurred AS a_any, b.occurred AS b_any,
         coalesce(a.max_grade_reported >= 3, false) AS a_g3_rep,
         coalesce(b.max_grade_reported >= 3, false) AS b_g3_rep,
         coalesce(a.max_grade_astct >= 3, false) AS a_g3_astct,
         coalesce(b.max_grade_astct >= 3, false) AS b_g3_astct,
         a.astct_complete AND b.astct_complete AS astct_pair
  FROM derived.cart_ab ab
  JOIN derived.toxicity_course a ON a.patient_id = ab.patient_id AND a.course_seq = 1
  JOIN derived.toxicity_course b ON b.patient_id = ab.patient_id AND b.course_seq = 2
                                AND b.tox_type = a.tox_type
), m AS (
  SELECT tox_type, 'any_grade' AS measure, a_any AS a, b_any AS b FROM p
  UNION ALL SELECT tox_type, 'grade_3_plus_reported', a_g3_rep, b_g3_rep FROM p
  UNION ALL SELECT tox_type, 'grade_3_plus_astct', a_g3_astct, b_g3_astct FROM p WHERE astct_pair
)
SELECT tox_type, measure,
       count(*) AS n_pairs,
       count(*) FILTER (WHERE a AND b) AS "both",
       count(*) FILTER (WHERE a AND NOT b) AS a_only,
       count(*) FILTER (WHERE b AND NOT a) AS b_only,
       count(*) FILTER (WHERE NOT a AND NOT b) AS neither
FROM m
GROUP BY tox_type, measure
