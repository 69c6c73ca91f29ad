-- view: endpoints.antigen_switch
-- grain: one row: how many cohort patients' CART-B targeted a different antigen
-- depends_on: derived.cart_ab, study.settings
-- description: n_different follows antigen_difference_rule (rule); n_sets_differ and
--   n_disjoint give both readings whatever the setting (a CD19 construct followed by a
--   CD19/CD22 construct differs as a set but is not disjoint). Percentages are of the cohort.
SELECT count(*) AS n_cohort,
       any_value(s.antigen_difference_rule) AS rule,
       count(*) FILTER (WHERE different_antigen) AS n_different,
       100.0 * count(*) FILTER (WHERE different_antigen) / nullif(count(*), 0) AS pct_different,
       count(*) FILTER (WHERE targets_differ) AS n_sets_differ,
       100.0 * count(*) FILTER (WHERE targets_differ) / nullif(count(*), 0) AS pct_sets_differ,
       count(*) FILTER (WHERE targets_disjoint) AS n_disjoint,
       100.0 * count(*) FILTER (WHERE targets_disjoint) / nullif(count(*), 0) AS pct_disjoint,
       count(*) FILTER (WHERE different_antigen IS NULL) AS n_unknown_targets
FROM derived.cart_ab CROSS JOIN study.settings s
