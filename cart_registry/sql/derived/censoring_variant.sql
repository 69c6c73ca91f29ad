-- view: derived.censoring_variant
-- grain: one row per censoring variant of the time-to-event rows (three rows)
-- depends_on: study.settings
-- description: none = follow through later HSCT and CAR T; hsct = censor at a later HSCT;
--   hsct_or_cart = censor at a later HSCT or CAR T course. is_primary marks the variant the
--   primary parameters use: hsct when censor_at_hsct is set, none otherwise.
SELECT v.censoring, v.censor_hsct, v.censor_cart,
       v.censoring = CASE WHEN s.censor_at_hsct THEN 'hsct' ELSE 'none' END AS is_primary
FROM (VALUES ('none', false, false), ('hsct', true, false), ('hsct_or_cart', true, true))
       AS v(censoring, censor_hsct, censor_cart)
CROSS JOIN study.settings s
