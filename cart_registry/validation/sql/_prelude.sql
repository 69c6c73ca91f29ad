-- prelude: helper views every rule may read. Built once per run after the canonical tables
-- (one table per canonical table, over the validated submissions only), dq_param (one row:
-- as_of, study_cutoff, response_window_days, relapse_window_days) and dq_run_site (one row per
-- validated site and submission). Courses are derived here from the canonical rows, not from
-- the warehouse views, so validation can run before a submission is loaded.

-- grain: one row per validated site; its data cut-off (site row, else the study setting)
CREATE OR REPLACE TEMP VIEW dq_site_cutoff AS
SELECT r.site_id, COALESCE(s.data_cutoff_date, p.study_cutoff) AS cutoff_date
FROM dq_run_site r
LEFT JOIN (SELECT site_id, max(data_cutoff_date) AS data_cutoff_date FROM site GROUP BY site_id) s
  USING (site_id)
CROSS JOIN dq_param p;

-- grain: one row per course = (patient, construct), ordered by its first infusion date.
-- A re-infusion of the same construct stays in its course; a new construct starts the next.
CREATE OR REPLACE TEMP VIEW dq_course AS
WITH c AS (
  SELECT site_id, patient_id, construct_id,
         min(infusion_date) AS first_infusion_date,
         count(*) AS n_infusions,
         count(*) FILTER (WHERE infusion_intent = 'initial') AS n_initial,
         -- ties on the date are broken by id so the choice is deterministic
         arg_min(infusion_id, strftime(infusion_date, '%Y-%m-%d') || '|' || infusion_id) AS first_infusion_id,
         min(infusion_date) FILTER (WHERE infusion_intent = 'initial') AS initial_date
  FROM cart_infusion
  WHERE patient_id IS NOT NULL AND construct_id IS NOT NULL AND infusion_date IS NOT NULL
  GROUP BY site_id, patient_id, construct_id
)
SELECT c.*,
       row_number() OVER w AS course_seq,
       lead(c.first_infusion_date) OVER w AS next_course_date,
       lag(c.first_infusion_date) OVER w AS prev_course_date,
       lag(c.construct_id) OVER w AS prev_construct_id,
       k.target_antigens, k.target_design
FROM c LEFT JOIN car_construct k USING (construct_id)
WINDOW w AS (PARTITION BY c.patient_id ORDER BY c.first_infusion_date, c.construct_id);

-- grain: one row per dated clinical event (death and last contact are not events here: the
-- survival rules compare events with them)
CREATE OR REPLACE TEMP VIEW dq_event AS
SELECT * FROM (
  SELECT site_id, patient_id, 'cart_infusion' AS event_table, infusion_id AS record_key,
         'infusion_date' AS event_column, infusion_date AS event_date FROM cart_infusion
  UNION ALL SELECT site_id, patient_id, 'lymphodepletion', ld_id, 'start_date', start_date FROM lymphodepletion
  UNION ALL SELECT site_id, patient_id, 'disease_assessment', assessment_id, 'assessment_date', assessment_date FROM disease_assessment
  UNION ALL SELECT site_id, patient_id, 'antigen_expression', expr_id, 'sample_date', sample_date FROM antigen_expression
  UNION ALL SELECT site_id, patient_id, 'relapse', relapse_id, 'relapse_date', relapse_date FROM relapse
  UNION ALL SELECT site_id, patient_id, 'toxicity_event', tox_id, 'onset_date', onset_date FROM toxicity_event
  UNION ALL SELECT site_id, patient_id, 'toxicity_event', tox_id, 'resolution_date', resolution_date FROM toxicity_event
  UNION ALL SELECT site_id, patient_id, 'hsct', hsct_id, 'hsct_date', hsct_date FROM hsct
  UNION ALL SELECT site_id, patient_id, 'antileukemic_therapy', therapy_id, 'start_date', start_date FROM antileukemic_therapy
  UNION ALL SELECT site_id, patient_id, 'antileukemic_therapy', therapy_id, 'end_date', end_date FROM antileukemic_therapy
) WHERE event_date IS NOT NULL AND patient_id IS NOT NULL;

-- grain: one row per patient; CART-A date and age at CART-A in completed years and in years
CREATE OR REPLACE TEMP VIEW dq_patient AS
SELECT p.*, c.first_infusion_date AS cart_a_date, c.first_infusion_id AS cart_a_infusion_id,
       date_part('year', age(CAST(c.first_infusion_date AS TIMESTAMP), CAST(p.birth_date AS TIMESTAMP))) AS age_cart_a_completed,
       date_diff('day', p.birth_date, c.first_infusion_date) / 365.25 AS age_cart_a_years
FROM patient p LEFT JOIN dq_course c ON c.patient_id = p.patient_id AND c.course_seq = 1;

-- grain: one row per CRS or ICANS event, with the ASTCT 2019 grade recomputed from the
-- components the site captured (Lee et al. 2019). recompute_status says how far to trust it:
-- computed (device-based hypoxia, all components), approximate_fio2 (hypoxia only as FiO2,
-- the legacy Lee 2014 / CARTOX way: FiO2 <40% ~ low flow, >=40% ~ high flow), or
-- insufficient_components. Grade 5 (death) is left to the grade-5 rule.
CREATE OR REPLACE TEMP VIEW dq_tox_astct AS
WITH b AS (
  SELECT t.*,
         date_diff('day', p.birth_date, t.onset_date) / 365.25 AS age_at_onset,
         -- CRS domains
         CASE WHEN t.fever OR t.anticytokine_or_antipyretic OR t.temp_max_c >= 38 THEN true
              WHEN t.fever = false AND coalesce(t.anticytokine_or_antipyretic, false) = false THEN false
         END AS fever_criterion,
         CASE WHEN t.vasopressors_max >= 2 AND NOT coalesce(t.vasopressin_only, false) THEN 4
              WHEN t.vasopressors_max >= 1 THEN 3
              WHEN t.hypotension THEN 2
              WHEN t.hypotension = false OR t.vasopressors_max = 0 THEN 0
         END AS g_hypotension,
         CASE t.o2_support_max WHEN 'none' THEN 0 WHEN 'low_flow_le6' THEN 2
              WHEN 'high_flow_gt6_or_mask' THEN 3 WHEN 'positive_pressure' THEN 4
              WHEN 'mechanical_ventilation' THEN 4 END AS g_hypoxia_device,
         CASE WHEN t.fio2_max_pct IS NULL THEN NULL WHEN t.fio2_max_pct <= 21 THEN 0
              WHEN t.fio2_max_pct < 40 THEN 2 ELSE 3 END AS g_hypoxia_fio2,
         -- ICANS domains
         CASE WHEN t.ice_min IS NULL THEN NULL WHEN t.ice_min >= 10 THEN 0 WHEN t.ice_min >= 7 THEN 1
              WHEN t.ice_min >= 3 THEN 2 ELSE 3 END AS g_ice,
         CASE WHEN t.capd_max IS NULL THEN NULL WHEN t.capd_max = 0 THEN 0
              WHEN t.capd_max < 9 THEN 1 ELSE 3 END AS g_capd,
         CASE t.consciousness_worst WHEN 'spontaneous' THEN 1 WHEN 'voice' THEN 2
              WHEN 'tactile' THEN 3 WHEN 'unarousable' THEN 4 END AS g_consciousness,
         CASE t.seizure_worst WHEN 'none' THEN 0 WHEN 'resolved_or_nonconvulsive_treated' THEN 3
              WHEN 'prolonged_or_repetitive' THEN 4 END AS g_seizure,
         CASE WHEN t.deep_focal_motor_weakness THEN 4 WHEN t.deep_focal_motor_weakness = false THEN 0 END AS g_motor,
         CASE t.cerebral_edema WHEN 'none' THEN 0 WHEN 'focal' THEN 3 WHEN 'diffuse_or_signs' THEN 4 END AS g_edema
  FROM toxicity_event t LEFT JOIN patient p ON p.patient_id = t.patient_id
  WHERE t.tox_type IN ('crs', 'icans')
), g AS (
  SELECT b.*,
         -- children up to 12 are scored with CAPD, older patients with ICE (ASTCT)
         CASE WHEN b.age_at_onset <= 12 THEN coalesce(b.g_capd, b.g_ice) ELSE coalesce(b.g_ice, b.g_capd) END AS g_tool,
         coalesce(b.g_hypoxia_device, b.g_hypoxia_fio2) AS g_hypoxia
  FROM b
)
SELECT g.*,
  CASE
    WHEN g.tox_type = 'crs' THEN
      CASE WHEN g.fever_criterion IS NULL OR g.g_hypotension IS NULL OR g.g_hypoxia IS NULL THEN NULL
           WHEN NOT g.fever_criterion THEN 0
           ELSE greatest(1, g.g_hypotension, g.g_hypoxia) END
    ELSE
      CASE WHEN (g.g_tool IS NULL AND coalesce(g.g_consciousness, 0) < 4) OR g.g_consciousness IS NULL
                OR g.g_seizure IS NULL OR g.g_motor IS NULL OR g.g_edema IS NULL THEN NULL
           ELSE greatest(coalesce(g.g_tool, 4), g.g_consciousness, g.g_seizure, g.g_motor, g.g_edema) END
  END AS grade_astct,
  CASE
    WHEN g.tox_type = 'crs' AND (g.fever_criterion IS NULL OR g.g_hypotension IS NULL OR g.g_hypoxia IS NULL)
      THEN 'insufficient_components'
    WHEN g.tox_type = 'crs' AND g.g_hypoxia_device IS NULL THEN 'approximate_fio2'
    WHEN g.tox_type = 'icans' AND ((g.g_tool IS NULL AND coalesce(g.g_consciousness, 0) < 4)
           OR g.g_consciousness IS NULL OR g.g_seizure IS NULL OR g.g_motor IS NULL OR g.g_edema IS NULL)
      THEN 'insufficient_components'
    ELSE 'computed'
  END AS recompute_status
FROM g;
