-- view: derived.relapse_phenotype
-- grain: one row per first relapse after a course's CR, with its phenotype relative to that
--   course's target antigens
-- depends_on: derived.course_relapse, canonical.antigen_expression, study.settings
-- description: Expression of each target antigen at relapse is the sample within
--   ±relapse_phenotype_window_days of the relapse date (timepoint 'relapse' preferred, then
--   the nearest date; 'not_tested' ignored; 'partial' counts as dim). lineage_switch (myeloid
--   or mixed lineage) overrides the antigen categories. Otherwise not_evaluable when no target
--   was measured; antigen_negative when all measured targets are negative
--   (dual_target_negative_rule = all) or any is (= any); antigen_dim when none is negative and
--   at least one is dim; antigen_positive otherwise (so, under the 'all' rule, a dual-target
--   relapse that lost one target but kept the other is antigen_positive: n_targets_negative
--   keeps the detail).
WITH t AS (
  SELECT r.patient_id, r.course_seq, r.relapse_date, unnest(r.target_antigens) AS antigen
  FROM derived.course_relapse r
  WHERE r.relapsed
), m AS (
  SELECT t.patient_id, t.course_seq, t.antigen,
         arg_min(e.status, (CASE WHEN e.timepoint = 'relapse' THEN 0 ELSE 1 END,
                            abs(date_diff('day', t.relapse_date, e.sample_date)),
                            e.sample_date, e.expr_id)) AS status
  FROM t
  JOIN canonical.antigen_expression e
    ON e.patient_id = t.patient_id AND e.antigen = t.antigen AND e.status <> 'not_tested'
  CROSS JOIN study.settings s
  WHERE abs(date_diff('day', t.relapse_date, e.sample_date)) <= s.relapse_phenotype_window_days
  GROUP BY t.patient_id, t.course_seq, t.antigen
), agg AS (
  SELECT patient_id, course_seq,
         count(*) AS n_targets_measured,
         count(*) FILTER (WHERE status = 'negative') AS n_targets_negative,
         count(*) FILTER (WHERE status IN ('dim', 'partial')) AS n_targets_dim,
         count(*) FILTER (WHERE status = 'positive') AS n_targets_positive,
         list(antigen || ':' || status ORDER BY antigen) AS target_status
  FROM m
  GROUP BY patient_id, course_seq
)
SELECT r.site_id, r.patient_id, r.course_seq, r.course_label, r.construct_id,
       r.target_antigens, r.relapse_id, r.relapse_date, r.lineage, r.after_hsct,
       r.after_next_course,
       coalesce(a.n_targets_measured, 0) AS n_targets_measured,
       coalesce(a.n_targets_negative, 0) AS n_targets_negative,
       coalesce(a.n_targets_dim, 0) AS n_targets_dim,
       coalesce(a.n_targets_positive, 0) AS n_targets_positive,
       a.target_status,
       CASE
         WHEN r.lineage IN ('myeloid', 'mixed') THEN 'lineage_switch'
         WHEN coalesce(a.n_targets_measured, 0) = 0 THEN 'not_evaluable'
         WHEN s.dual_target_negative_rule = 'any' AND a.n_targets_negative > 0
           THEN 'antigen_negative'
         WHEN s.dual_target_negative_rule = 'all' AND a.n_targets_negative = a.n_targets_measured
           THEN 'antigen_negative'
         WHEN a.n_targets_negative = 0 AND a.n_targets_dim > 0 THEN 'antigen_dim'
         ELSE 'antigen_positive'
       END AS phenotype,
       r.lineage IN ('myeloid', 'mixed') OR coalesce(a.n_targets_measured, 0) > 0 AS evaluable
FROM derived.course_relapse r
LEFT JOIN agg a ON a.patient_id = r.patient_id AND a.course_seq = r.course_seq
CROSS JOIN study.settings s
WHERE r.relapsed
