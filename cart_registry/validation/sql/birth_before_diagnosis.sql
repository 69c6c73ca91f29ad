-- rule: patient.birth_date.before_diagnosis (R01)
-- grain: one row per patient whose birth date is after the diagnosis date
SELECT p.site_id, p.patient_id, 'patient' AS target_table, 'birth_date' AS target_column,
       p.patient_id AS record_key, CAST(p.birth_date AS VARCHAR) AS value,
       'on or before diagnosis ' || CAST(p.diagnosis_date AS VARCHAR) AS expected,
       date_diff('day', p.diagnosis_date, p.birth_date) || ' days after diagnosis' AS detail
FROM patient p
WHERE p.birth_date > p.diagnosis_date
