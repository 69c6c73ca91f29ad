-- view: derived.antigen_status
-- grain: one row per cohort patient × antigen (CD19, CD22): status before CART-A, before
--   CART-B and at the first relapse after a CART-B CR
-- depends_on: derived.cart_ab, derived.relapse_phenotype, canonical.antigen_expression, study.settings
-- description: Pre-CART-A is the latest sample on or before CART-A's first infusion; pre-CART-B
--   the latest sample after CART-A's first infusion and on or before CART-B's (timepoint
--   'pre_infusion' preferred on a tie of dates); at relapse, the sample nearest the relapse
--   date within ±relapse_phenotype_window_days. 'not_tested' samples are ignored; NULL means
--   no sample. Density (molecules/cell) is carried where measured.
WITH p AS MATERIALIZED (
  SELECT ab.patient_id, ab.site_id, ab.cart_a_date, ab.cart_b_date, x.antigen,
         rp.relapse_date AS relapse_b_date
  FROM derived.cart_ab ab
  CROSS JOIN (VALUES ('CD19'), ('CD22')) AS x(antigen)
  LEFT JOIN derived.relapse_phenotype rp ON rp.patient_id = ab.patient_id AND rp.course_seq = 2
), e AS MATERIALIZED (
  SELECT * FROM canonical.antigen_expression WHERE status <> 'not_tested'
), pre_a AS (
  SELECT p.patient_id, p.antigen,
         arg_max(e.status, (e.sample_date, e.timepoint = 'pre_infusion', e.expr_id)) AS status,
         arg_max(e.antigen_density, (e.sample_date, e.timepoint = 'pre_infusion', e.expr_id)) AS density
  FROM p JOIN e ON e.patient_id = p.patient_id AND e.antigen = p.antigen
               AND e.sample_date <= p.cart_a_date
  GROUP BY p.patient_id, p.antigen
), pre_b AS (
  SELECT p.patient_id, p.antigen,
         arg_max(e.status, (e.sample_date, e.timepoint = 'pre_infusion', e.expr_id)) AS status,
         arg_max(e.antigen_density, (e.sample_date, e.timepoint = 'pre_infusion', e.expr_id)) AS density
  FROM p JOIN e ON e.patient_id = p.patient_id AND e.antigen = p.antigen
               AND e.sample_date > p.cart_a_date AND e.sample_date <= p.cart_b_date
  GROUP BY p.patient_id, p.antigen
), rel_b AS (
  SELECT p.patient_id, p.antigen,
         arg_min(e.status, (CASE WHEN e.timepoint = 'relapse' THEN 0 ELSE 1 END,
                            abs(date_diff('day', p.relapse_b_date, e.sample_date)),
                            e.sample_date, e.expr_id)) AS status
  FROM p JOIN e ON e.patient_id = p.patient_id AND e.antigen = p.antigen
  CROSS JOIN study.settings s
  WHERE abs(date_diff('day', p.relapse_b_date, e.sample_date)) <= s.relapse_phenotype_window_days
  GROUP BY p.patient_id, p.antigen
)
SELECT p.site_id, p.patient_id, p.antigen,
       a.status AS status_pre_a, a.density AS density_pre_a,
       b.status AS status_pre_b, b.density AS density_pre_b,
       p.relapse_b_date,
       r.status AS status_relapse_b
FROM p
LEFT JOIN pre_a a ON a.patient_id = p.patient_id AND a.antigen = p.antigen
LEFT JOIN pre_b b ON b.patient_id = p.patient_id AND b.antigen = p.antigen
LEFT JOIN rel_b r ON r.patient_id = p.patient_id AND r.antigen = p.antigen
