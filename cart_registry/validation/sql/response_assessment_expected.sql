-- rule: course.response_assessment.expected
-- grain: one row per course whose response window has closed before the data cut-off, with
-- the patient alive at its end, and no marrow assessment with a response inside the window
-- [first infusion, min(first infusion + response window, next course)): best response and CR
-- rates would count the course as not responding
SELECT c.site_id, c.patient_id, 'cart_infusion' AS target_table, 'infusion_date' AS target_column,
       c.first_infusion_id AS record_key, CAST(c.first_infusion_date AS VARCHAR) AS value,
       'a bone-marrow response assessment within ' || p.response_window_days || ' days' AS expected,
       'course ' || c.course_seq || ' (' || c.construct_id || ') has no response assessment' AS detail
FROM dq_course c CROSS JOIN dq_param p JOIN dq_site_cutoff s USING (site_id)
LEFT JOIN death d ON d.patient_id = c.patient_id
WHERE c.first_infusion_date + p.response_window_days <= s.cutoff_date
  AND (d.death_date IS NULL OR d.death_date > c.first_infusion_date + p.response_window_days)
  AND NOT EXISTS (
    SELECT 1 FROM disease_assessment a
    WHERE a.patient_id = c.patient_id AND a.specimen = 'bone_marrow' AND a.response IS NOT NULL
      AND a.assessment_date >= c.first_infusion_date
      AND a.assessment_date < least(c.first_infusion_date + p.response_window_days + 1,
                                    coalesce(c.next_course_date, DATE '9999-12-31')))
