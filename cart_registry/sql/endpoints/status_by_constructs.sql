-- view: endpoints.status_by_constructs
-- grain: one row per number-of-constructs group ('2', '3+') × status at last contact
-- depends_on: derived.patient_courses, derived.patient_outcome
-- description: Cohort patients by status at their last contact up to the cut-off: dead,
--   alive_in_cr, alive_not_cr or alive_unknown (last_disease_status). pct is of the group.
SELECT CASE WHEN p.n_unique_constructs >= 3 THEN '3+' ELSE '2' END AS constructs,
       CASE WHEN o.dead THEN 'dead'
            WHEN o.last_disease_status = 'cr' THEN 'alive_in_cr'
            WHEN o.last_disease_status = 'not_cr' THEN 'alive_not_cr'
            ELSE 'alive_unknown' END AS status,
       count(*) AS n,
       100.0 * count(*) / sum(count(*)) OVER (PARTITION BY
         CASE WHEN p.n_unique_constructs >= 3 THEN '3+' ELSE '2' END) AS pct
FROM derived.patient_courses p
JOIN derived.patient_outcome o ON o.patient_id = p.patient_id
WHERE p.in_cohort
GROUP BY 1, 2
