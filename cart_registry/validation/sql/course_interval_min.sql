-- rule: course.interval.min_14_days (R04)
-- grain: one row per course (CART-B, CART-C, ...) starting 1-13 days after the previous course
-- (same-day starts are course.first_infusion.distinct_dates)
SELECT c.site_id, c.patient_id, 'cart_infusion' AS target_table, 'infusion_date' AS target_column,
       c.first_infusion_id AS record_key, CAST(c.first_infusion_date AS VARCHAR) AS value,
       'at least 14 days after ' || CAST(c.prev_course_date AS VARCHAR) AS expected,
       'course ' || c.course_seq || ' starts ' || date_diff('day', c.prev_course_date, c.first_infusion_date)
         || ' days after course ' || (c.course_seq - 1) AS detail
FROM dq_course c
WHERE c.course_seq > 1
  AND date_diff('day', c.prev_course_date, c.first_infusion_date) BETWEEN 1 AND 13
