-- view: adam.adsl
-- grain: one row per patient in the registry (every screened patient)
-- depends_on: canonical.patient, derived.patient_courses, derived.cart_ab, derived.best_response, derived.course_relapse, derived.patient_outcome, study.settings
-- description: ADaM ADSL-style subject level data. COHORTFL = Y for at least two unique
--   constructs. AGE is completed years at CART-A, AGECARTA the exact years (days / 365.25).
--   CART-A/B dates, constructs and targets; DIFFAGFL per antigen_difference_rule; ACRFL/BCRFL
--   CR after CART-A/CART-B with BCRDT; BRELFL relapse after CART-B CR; DTHFL/DTHDT death up to
--   the cut-off; LSTALVDT last known alive date (capped at the cut-off) for survivors.
SELECT s.study_id AS STUDYID,
       p.patient_id AS USUBJID,
       substr(p.patient_id, length(p.site_id) + 2) AS SUBJID,
       p.site_id AS SITEID,
       upper(substr(p.sex, 1, 1)) AS SEX,
       CAST(floor(ab.age_cart_a_years) AS INTEGER) AS AGE,
       'YEARS' AS AGEU,
       ab.age_cart_a_years AS AGECARTA,
       p.registry_status AS REGSTAT,
       pc.n_unique_constructs AS NCONSTR,
       CASE WHEN pc.in_cohort THEN 'Y' ELSE 'N' END AS COHORTFL,
       pc.cart_a_date AS CARTADT,
       pc.cart_a_construct AS CARTACON,
       pc.cart_b_date AS CARTBDT,
       pc.cart_b_construct AS CARTBCON,
       array_to_string(ab.cart_a_targets, '/') AS CARTATGT,
       array_to_string(ab.cart_b_targets, '/') AS CARTBTGT,
       ab.interval_a_b_days AS ABINTDY,
       CASE WHEN ab.different_antigen THEN 'Y' WHEN NOT ab.different_antigen THEN 'N' END AS DIFFAGFL,
       CASE WHEN ra.cr_flag THEN 'Y' WHEN ra.patient_id IS NOT NULL THEN 'N' END AS ACRFL,
       CASE WHEN rb.cr_flag THEN 'Y' WHEN rb.patient_id IS NOT NULL THEN 'N' END AS BCRFL,
       rb.best_response AS BBESTRSP,
       rb.cr_date AS BCRDT,
       CASE WHEN rl.relapsed THEN 'Y' WHEN rl.patient_id IS NOT NULL THEN 'N' END AS BRELFL,
       rl.relapse_date AS BRELDT,
       CASE WHEN o.dead THEN 'Y' ELSE 'N' END AS DTHFL,
       o.death_date AS DTHDT,
       CASE WHEN NOT o.dead THEN o.followup_end_date END AS LSTALVDT,
       o.last_disease_status AS LASTSTAT
FROM canonical.patient p
JOIN derived.patient_courses pc ON pc.patient_id = p.patient_id
LEFT JOIN derived.cart_ab ab ON ab.patient_id = p.patient_id
LEFT JOIN derived.best_response ra ON ra.patient_id = p.patient_id AND ra.course_seq = 1
LEFT JOIN derived.best_response rb ON rb.patient_id = p.patient_id AND rb.course_seq = 2
LEFT JOIN derived.course_relapse rl ON rl.patient_id = p.patient_id AND rl.course_seq = 2
LEFT JOIN derived.patient_outcome o ON o.patient_id = p.patient_id
CROSS JOIN study.settings s
