-- view: derived.toxicity_astct
-- grain: one row per CRS or ICANS episode, with its ASTCT 2019 grade recomputed from the
--   components the site captured
-- depends_on: canonical.toxicity_event, canonical.patient
-- description: Lee et al. 2019 consensus grading. CRS: fever >= 38 °C is required unless
--   anti-cytokine or antipyretic therapy was given; the grade is the worse of hypotension (2
--   without vasopressors, 3 with one vasopressor with or without vasopressin, 4 with several
--   excluding vasopressin) and hypoxia by device (2 low-flow <= 6 L/min, 3 high-flow, mask, 4
--   positive pressure or ventilation); no fever criterion means grade 0. Where only FiO2 was
--   recorded (Lee 2014, CARTOX, CIBMTR 4100), FiO2 < 40% counts as low flow and >= 40% as
--   high flow, and the status is approximate_fio2. ICANS: the worst of the ICE score (older
--   than 12: 7-9 → 1, 3-6 → 2, 0-2 → 3) or CAPD (12 and younger: 1-8 → 1, >= 9 → 3),
--   consciousness (spontaneous 1, voice 2, tactile 3, unarousable 4), seizure (3 or 4), deep
--   focal motor weakness (4) and cerebral edema (focal 3, diffuse 4); approximate_tool when
--   the age-appropriate tool is missing and the other one is used. A missing component gives
--   insufficient_components and no grade unless the known ones already reach grade 4. A
--   fatal episode is grade 5. Grades are never converted between scales.
WITH b AS (
  SELECT t.site_id, t.patient_id, t.tox_id, t.infusion_id, t.tox_type, t.onset_date,
         t.resolution_date, t.grade_reported, t.grading_scale, t.fatal,
         t.tocilizumab_doses, t.corticosteroids, t.icu_admission,
         date_diff('day', p.birth_date, t.onset_date) / 365.25 AS age_at_onset_years,
         -- CRS: fever criterion (true, false or unknown)
         CASE WHEN t.fever OR t.temp_max_c >= 38 OR t.anticytokine_or_antipyretic THEN true
              WHEN (t.fever = false OR t.temp_max_c < 38)
                   AND t.anticytokine_or_antipyretic = false THEN false
         END AS fever_criterion,
         CASE WHEN t.vasopressors_max >= 2 AND NOT coalesce(t.vasopressin_only, false) THEN 4
              WHEN t.vasopressors_max >= 1 THEN 3
              WHEN t.hypotension THEN 2
              WHEN t.hypotension = false OR t.vasopressors_max = 0 THEN 0
         END AS g_hypotension,
         CASE t.o2_support_max
           WHEN 'none' THEN 0 WHEN 'low_flow_le6' THEN 2 WHEN 'high_flow_gt6_or_mask' THEN 3
           WHEN 'positive_pressure' THEN 4 WHEN 'mechanical_ventilation' THEN 4
         END AS g_hypoxia_device,
         CASE WHEN t.fio2_max_pct IS NULL THEN NULL
              WHEN t.fio2_max_pct <= 21 THEN 0
              WHEN t.fio2_max_pct < 40 THEN 2
              ELSE 3 END AS g_hypoxia_fio2,
         -- ICANS domains
         CASE WHEN t.ice_min IS NULL THEN NULL WHEN t.ice_min >= 10 THEN 0
              WHEN t.ice_min >= 7 THEN 1 WHEN t.ice_min >= 3 THEN 2 ELSE 3 END AS g_ice,
         CASE WHEN t.capd_max IS NULL THEN NULL WHEN t.capd_max = 0 THEN 0
              WHEN t.capd_max < 9 THEN 1 ELSE 3 END AS g_capd,
         CASE t.consciousness_worst
           WHEN 'spontaneous' THEN 1 WHEN 'voice' THEN 2 WHEN 'tactile' THEN 3
           WHEN 'unarousable' THEN 4 END AS g_consciousness,
         CASE t.seizure_worst
           WHEN 'none' THEN 0 WHEN 'resolved_or_nonconvulsive_treated' THEN 3
           WHEN 'prolonged_or_repetitive' THEN 4 END AS g_seizure,
         CASE WHEN t.deep_focal_motor_weakness THEN 4
              WHEN t.deep_focal_motor_weakness = false THEN 0 END AS g_motor,
         CASE t.cerebral_edema
           WHEN 'none' THEN 0 WHEN 'focal' THEN 3 WHEN 'diffuse_or_signs' THEN 4 END AS g_edema
  FROM canonical.toxicity_event t
  LEFT JOIN canonical.patient p ON p.patient_id = t.patient_id
  WHERE t.tox_type IN ('crs', 'icans')
), d AS (
  SELECT b.*,
         coalesce(b.g_hypoxia_device, b.g_hypoxia_fio2) AS g_hypoxia,
         b.g_hypoxia_device IS NULL AND b.g_hypoxia_fio2 IS NOT NULL AS hypoxia_from_fio2,
         -- ASTCT: CAPD up to age 12, ICE above; the other tool only as a fallback
         CASE WHEN b.age_at_onset_years IS NULL THEN coalesce(b.g_ice, b.g_capd)
              WHEN b.age_at_onset_years < 13 THEN coalesce(b.g_capd, b.g_ice)
              ELSE coalesce(b.g_ice, b.g_capd) END AS g_tool,
         CASE WHEN b.g_ice IS NULL AND b.g_capd IS NULL THEN false
              WHEN b.age_at_onset_years IS NULL THEN true
              WHEN b.age_at_onset_years < 13 THEN b.g_capd IS NULL
              ELSE b.g_ice IS NULL END AS other_tool
  FROM b
), g AS (
  SELECT d.*,
         CASE WHEN d.tox_type = 'crs' THEN
                CASE WHEN d.fever_criterion = false THEN 0
                     ELSE greatest(CASE WHEN d.fever_criterion THEN 1 END,
                                   d.g_hypotension, d.g_hypoxia) END
              ELSE greatest(d.g_tool, d.g_consciousness, d.g_seizure, d.g_motor, d.g_edema)
         END AS g_known,
         coalesce(CASE WHEN d.tox_type = 'crs' THEN
                         d.fever_criterion = false
                         OR (d.fever_criterion IS NOT NULL AND d.g_hypotension IS NOT NULL
                             AND d.g_hypoxia IS NOT NULL)
                       ELSE (d.g_tool IS NOT NULL OR d.g_consciousness = 4)
                            AND d.g_consciousness IS NOT NULL AND d.g_seizure IS NOT NULL
                            AND d.g_motor IS NOT NULL AND d.g_edema IS NOT NULL
                  END, false) AS complete
  FROM d
)
SELECT g.site_id, g.patient_id, g.tox_id, g.infusion_id, g.tox_type, g.onset_date,
       g.resolution_date, g.grade_reported, g.grading_scale, g.fatal, g.tocilizumab_doses,
       g.corticosteroids, g.icu_admission, g.age_at_onset_years, g.fever_criterion,
       g.g_hypotension, g.g_hypoxia, g.g_tool, g.g_consciousness, g.g_seizure, g.g_motor,
       g.g_edema,
       CASE WHEN g.fatal THEN 5
            WHEN g.complete OR coalesce(g.g_known = 4, false) THEN coalesce(g.g_known, 0)
       END AS grade_astct,
       CASE WHEN g.fatal THEN 'computed'
            WHEN NOT (g.complete OR coalesce(g.g_known = 4, false)) THEN 'insufficient_components'
            WHEN g.tox_type = 'crs' AND g.hypoxia_from_fio2 AND g.fever_criterion THEN 'approximate_fio2'
            WHEN g.tox_type = 'icans' AND g.other_tool THEN 'approximate_tool'
            ELSE 'computed' END AS recompute_status,
       g.tox_type = 'crs' AND g.hypoxia_from_fio2
         AND g.grading_scale IN ('lee_2014', 'cartox') AS fio2_based_legacy_scale
FROM g
