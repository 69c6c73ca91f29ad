-- view: endpoints.relapse_phenotype
-- grain: one row per course label × relapse phenotype, over cohort patients' first relapses
--   after that course's CR
-- depends_on: derived.relapse_phenotype, derived.patient_courses
-- description: n per phenotype (antigen_negative, antigen_dim, antigen_positive,
--   lineage_switch, not_evaluable); pct_of_evaluable is the share among evaluable relapses
--   (NULL for not_evaluable), n_evaluable the denominator.
WITH r AS (
  SELECT rp.*
  FROM derived.relapse_phenotype rp
  JOIN derived.patient_courses p ON p.patient_id = rp.patient_id AND p.in_cohort
)
SELECT course_label, phenotype,
       count(*) AS n,
       sum(count(*)) FILTER (WHERE phenotype <> 'not_evaluable') OVER (PARTITION BY course_label) AS n_evaluable,
       CASE WHEN phenotype <> 'not_evaluable' THEN
         100.0 * count(*) / sum(count(*)) FILTER (WHERE phenotype <> 'not_evaluable')
                            OVER (PARTITION BY course_label) END AS pct_of_evaluable
FROM r
GROUP BY course_label, phenotype
