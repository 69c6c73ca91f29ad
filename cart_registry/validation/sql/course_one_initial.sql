-- rule: cart_infusion.infusion_intent.one_initial_per_course (R05)
-- grain: one row per infusion that breaks "exactly one 'initial' infusion per course": the
-- first infusion of a course not labelled initial (a new construct is a new course, not a
-- re-infusion), and every 'initial' after the course's first one
SELECT i.site_id, i.patient_id, 'cart_infusion' AS target_table, 'infusion_intent' AS target_column,
       i.infusion_id AS record_key, i.infusion_intent AS value,
       CASE WHEN i.infusion_id = c.first_infusion_id THEN 'initial'
            ELSE 'a reinfusion_* intent' END AS expected,
       CASE WHEN i.infusion_id = c.first_infusion_id
            THEN 'first infusion of construct ' || c.construct_id || ' (course ' || c.course_seq || ') is not labelled initial'
            ELSE 'course ' || c.course_seq || ' (' || c.construct_id || ') has ' || c.n_initial || ' initial infusions' END AS detail
FROM cart_infusion i
JOIN dq_course c ON c.patient_id = i.patient_id AND c.construct_id = i.construct_id
WHERE (i.infusion_id = c.first_infusion_id AND i.infusion_intent IS DISTINCT FROM 'initial' AND c.n_initial = 0)
   OR (i.infusion_intent = 'initial' AND c.n_initial > 1 AND i.infusion_id <> c.first_infusion_id)
