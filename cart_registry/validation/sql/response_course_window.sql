-- rule: disease_assessment.assessment_date.in_course_window (R15)
-- grain: one row per assessment with a response category dated before the patient's first CAR T
-- infusion (a response belongs to exactly one course window [first infusion, next course))
SELECT a.site_id, a.patient_id, 'disease_assessment' AS target_table, 'assessment_date' AS target_column,
       a.assessment_id AS record_key, CAST(a.assessment_date AS VARCHAR) AS value,
       CASE WHEN c.first_infusion_date IS NULL THEN 'a CAR T infusion before any response'
            ELSE 'on or after the first infusion ' || CAST(c.first_infusion_date AS VARCHAR) END AS expected,
       CASE WHEN c.first_infusion_date IS NULL THEN 'response ' || a.response || ' for a patient with no infusion'
            ELSE 'response ' || a.response || ' assessed ' || date_diff('day', a.assessment_date, c.first_infusion_date)
                 || ' days before the first infusion' END AS detail
FROM disease_assessment a
LEFT JOIN dq_course c ON c.patient_id = a.patient_id AND c.course_seq = 1
WHERE a.response IS NOT NULL AND a.response <> 'ne'
  AND (c.first_infusion_date IS NULL OR a.assessment_date < c.first_infusion_date)
