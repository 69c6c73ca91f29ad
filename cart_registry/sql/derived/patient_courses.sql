-- view: derived.patient_courses
-- grain: one row per patient in the registry (every screened patient, treated or not)
-- depends_on: canonical.patient, derived.course
-- description: How many unique constructs each patient received and the first three of
--   them. in_cohort marks the study cohort: at least two unique constructs (CART-A and a
--   different CART-B), decided from the infusions, not from registry_status. A patient id
--   that has infusions but no patient row (an orphan, which validation reports) is still a
--   patient here (has_patient_row = false), so that every endpoint counts the same cohort.
WITH c AS (
  SELECT patient_id,
         any_value(site_id) AS site_id,
         count(*) AS n_unique_constructs,
         any_value(construct_id) FILTER (WHERE course_seq = 1) AS cart_a_construct,
         any_value(first_infusion_date) FILTER (WHERE course_seq = 1) AS cart_a_date,
         any_value(construct_id) FILTER (WHERE course_seq = 2) AS cart_b_construct,
         any_value(first_infusion_date) FILTER (WHERE course_seq = 2) AS cart_b_date,
         any_value(construct_id) FILTER (WHERE course_seq = 3) AS cart_c_construct,
         any_value(first_infusion_date) FILTER (WHERE course_seq = 3) AS cart_c_date
  FROM derived.course
  GROUP BY patient_id
)
SELECT coalesce(p.site_id, c.site_id) AS site_id,
       coalesce(p.patient_id, c.patient_id) AS patient_id,
       p.registry_status,
       p.patient_id IS NOT NULL AS has_patient_row,
       coalesce(c.n_unique_constructs, 0) AS n_unique_constructs,
       coalesce(c.n_unique_constructs, 0) >= 2 AS in_cohort,
       c.cart_a_construct, c.cart_a_date, c.cart_b_construct, c.cart_b_date,
       c.cart_c_construct, c.cart_c_date
FROM canonical.patient p
FULL OUTER JOIN c ON c.patient_id = p.patient_id
