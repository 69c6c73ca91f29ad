-- view: derived.course
-- grain: one row per patient × unique construct (a course), numbered by its first infusion
-- depends_on: canonical.cart_infusion, canonical.car_construct
-- description: A course is every infusion of one construct to one patient: a re-infusion of
--   the same product stays in its course, a different construct starts the next one
--   (CIBMTR: one form 4000 per course, one 4006 per infusion). course_seq 1, 2, 3 are CART-A,
--   CART-B, CART-C in order of first infusion date; ties on a date are broken by construct id
--   so the order is deterministic (validation flags same-day constructs). Targets come from the
--   central construct catalog; an unknown construct has NULL targets.
WITH grouped AS (
  SELECT i.site_id, i.patient_id, i.construct_id,
         min(i.infusion_date) AS first_infusion_date,
         max(i.infusion_date) AS last_infusion_date,
         count(*) AS n_infusions,
         count(*) FILTER (WHERE i.infusion_intent <> 'initial') AS n_reinfusions,
         arg_min(i.infusion_id, (i.infusion_date, i.infusion_id)) AS first_infusion_id
  FROM canonical.cart_infusion i
  GROUP BY i.site_id, i.patient_id, i.construct_id
), numbered AS (
  SELECT g.*,
         row_number() OVER w AS course_seq,
         lead(g.first_infusion_date) OVER w AS next_course_date,
         lag(g.first_infusion_date) OVER w AS prev_course_date,
         count(*) OVER (PARTITION BY g.patient_id) AS n_patient_courses
  FROM grouped g
  WINDOW w AS (PARTITION BY g.patient_id ORDER BY g.first_infusion_date, g.construct_id)
)
SELECT n.site_id, n.patient_id, n.course_seq,
       -- A, B, C ... (a 27th construct would be '[': not a registry we expect)
       chr(CAST(64 + n.course_seq AS INTEGER)) AS course_label,
       'CART-' || chr(CAST(64 + n.course_seq AS INTEGER)) AS course_name,
       n.construct_id, k.construct_name, k.product_type, k.target_antigens, k.target_design,
       n.first_infusion_date, n.last_infusion_date, n.n_infusions, n.n_reinfusions,
       n.first_infusion_id, n.prev_course_date, n.next_course_date, n.n_patient_courses
FROM numbered n
LEFT JOIN canonical.car_construct k ON k.construct_id = n.construct_id
