-- view: derived.cart_ab
-- grain: one row per cohort patient (at least two unique constructs): the CART-A/CART-B pair
-- depends_on: derived.course, canonical.patient, study.settings
-- description: Pairs the first two courses. interval_a_b_days is between first infusions.
--   CART-B targets a different antigen when the target sets differ (default) or, with
--   antigen_difference_rule = disjoint, when they share no antigen; both readings are kept
--   (targets_differ, targets_disjoint) and different_antigen follows the setting. Age at CART-A
--   is days / 365.25 (date shifting keeps it exact).
SELECT a.site_id, a.patient_id,
       a.construct_id AS cart_a_construct, b.construct_id AS cart_b_construct,
       a.first_infusion_date AS cart_a_date, b.first_infusion_date AS cart_b_date,
       date_diff('day', a.first_infusion_date, b.first_infusion_date) AS interval_a_b_days,
       a.target_antigens AS cart_a_targets, b.target_antigens AS cart_b_targets,
       a.n_patient_courses AS n_unique_constructs,
       a.target_antigens <> b.target_antigens AS targets_differ,
       NOT list_has_any(a.target_antigens, b.target_antigens) AS targets_disjoint,
       CASE s.antigen_difference_rule
         WHEN 'disjoint' THEN NOT list_has_any(a.target_antigens, b.target_antigens)
         ELSE a.target_antigens <> b.target_antigens
       END AS different_antigen,
       p.birth_date,
       date_diff('day', p.birth_date, a.first_infusion_date) / 365.25 AS age_cart_a_years
FROM derived.course a
JOIN derived.course b ON b.patient_id = a.patient_id AND b.course_seq = 2
LEFT JOIN canonical.patient p ON p.patient_id = a.patient_id
CROSS JOIN study.settings s
WHERE a.course_seq = 1
