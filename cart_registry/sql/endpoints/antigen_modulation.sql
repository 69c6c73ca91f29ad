-- view: endpoints.antigen_modulation
-- grain: one row per antigen (CD19, CD22) × time point (pre_a, pre_b, relapse_b) × status
-- depends_on: derived.antigen_status
-- description: Cohort patients by antigen status before CART-A, before CART-B and at the
--   first relapse after a CART-B CR ('not_measured' when no sample; at relapse only patients
--   who relapsed). pct is of the patients counted at that antigen and time point.
WITH l AS (
  -- one pass over antigen_status (UNPIVOT), not three: each reference re-plans the view tree
  SELECT antigen, timepoint, coalesce(status, 'not_measured') AS status
  FROM (
    SELECT antigen, relapse_b_date, status_pre_a AS pre_a, status_pre_b AS pre_b,
           status_relapse_b AS relapse_b
    FROM derived.antigen_status
  ) UNPIVOT INCLUDE NULLS (status FOR timepoint IN (pre_a, pre_b, relapse_b))
  WHERE timepoint <> 'relapse_b' OR relapse_b_date IS NOT NULL
)
SELECT antigen, timepoint, status,
       count(*) AS n,
       100.0 * count(*) / sum(count(*)) OVER (PARTITION BY antigen, timepoint) AS pct
FROM l
GROUP BY antigen, timepoint, status
