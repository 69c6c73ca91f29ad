-- rule: patient.patient_id.duplicate_within_site (R19)
-- grain: one row per patient sharing birth date, sex and diagnosis date with another patient
-- of the same site (possible double registration)
SELECT p.site_id, p.patient_id, 'patient' AS target_table, 'patient_id' AS target_column,
       p.patient_id AS record_key, p.patient_id AS value,
       'one registration per person' AS expected,
       'same birth date, sex and diagnosis date as ' || (count(*) OVER w - 1) || ' other patient(s) of this site' AS detail
FROM patient p
WHERE p.birth_date IS NOT NULL AND p.diagnosis_date IS NOT NULL
WINDOW w AS (PARTITION BY p.site_id, p.birth_date, p.sex, p.diagnosis_date)
QUALIFY count(*) OVER w > 1
