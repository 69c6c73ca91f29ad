-- rule: validation.crs_grade3_rate.published_range
-- grain: one row per site with at least 20 CAR T courses whose share of courses followed by
-- CRS grade 3 or more (any scale) is above 50%, the top of the published pediatric range
-- (ELIANA 47%, Penn scale); information for the coordinating centre
WITH c AS (
  SELECT c.site_id, c.patient_id, c.construct_id, c.first_infusion_date, c.next_course_date
  FROM dq_course c
), r AS (
  SELECT c.site_id, count(*) AS n_courses,
         count(*) FILTER (WHERE EXISTS (
           SELECT 1 FROM toxicity_event t WHERE t.patient_id = c.patient_id AND t.tox_type = 'crs'
             AND t.grade_reported >= 3 AND t.onset_date >= c.first_infusion_date
             AND t.onset_date < coalesce(c.next_course_date, DATE '9999-12-31'))) AS n_g3
  FROM c GROUP BY c.site_id
)
SELECT site_id, CAST(NULL AS VARCHAR) AS patient_id, 'toxicity_event' AS target_table,
       'grade_reported' AS target_column, CAST(NULL AS VARCHAR) AS record_key,
       CAST(round(100.0 * n_g3 / n_courses, 1) AS VARCHAR) || '%' AS value,
       'at most 50% of courses with CRS grade >= 3' AS expected,
       'CRS grade >= 3 after ' || round(100.0 * n_g3 / n_courses, 1) || '% of ' || n_courses || ' courses' AS detail
FROM r
WHERE n_courses >= 20 AND 100.0 * n_g3 / n_courses > 50
