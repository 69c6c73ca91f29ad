-- rule: relapse.antigen.phenotype_evaluable
-- grain: one row per B-lineage relapse with no CD19/CD22 expression within the phenotype
-- window: its antigen phenotype (negative / dim / positive) cannot be derived
SELECT r.site_id, r.patient_id, 'relapse' AS target_table, 'relapse_date' AS target_column,
       r.relapse_id AS record_key, CAST(r.relapse_date AS VARCHAR) AS value,
       'CD19/CD22 expression within ' || p.relapse_window_days || ' days' AS expected,
       'relapse without antigen expression: phenotype not evaluable' AS detail
FROM relapse r CROSS JOIN dq_param p
WHERE r.lineage = 'b_lymphoid' AND NOT EXISTS (
  SELECT 1 FROM antigen_expression e WHERE e.patient_id = r.patient_id
    AND e.antigen IN ('CD19', 'CD22') AND e.status <> 'not_tested'
    AND abs(date_diff('day', r.relapse_date, e.sample_date)) <= p.relapse_window_days)
