-- rule: antigen_expression.sample_date.near_relapse
-- grain: one row per expression sample labelled 'relapse' with no relapse within the study's
-- phenotype window (settings: relapse_phenotype_window_days); the relapse phenotype would
-- silently ignore it
SELECT e.site_id, e.patient_id, 'antigen_expression' AS target_table, 'sample_date' AS target_column,
       e.expr_id AS record_key, CAST(e.sample_date AS VARCHAR) AS value,
       'within ' || p.relapse_window_days || ' days of a relapse' AS expected,
       e.antigen || ' at relapse with no relapse within ' || p.relapse_window_days || ' days' AS detail
FROM antigen_expression e CROSS JOIN dq_param p
WHERE e.timepoint = 'relapse' AND NOT EXISTS (
  SELECT 1 FROM relapse r WHERE r.patient_id = e.patient_id
    AND abs(date_diff('day', r.relapse_date, e.sample_date)) <= p.relapse_window_days)
