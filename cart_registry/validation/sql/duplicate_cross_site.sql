-- rule: patient.patient_id.duplicate_across_sites (R19)
-- grain: one row per patient matching a patient of another site on birth year, sex,
-- diagnosis month and construct sequence (CIBMTR CRID-style duplicate detection; information
-- for the coordinating centre, the other site is never named)
WITH seq AS (
  SELECT patient_id, string_agg(construct_id, '>' ORDER BY course_seq) AS constructs
  FROM dq_course GROUP BY patient_id
), k AS (
  SELECT p.site_id, p.patient_id, year(p.birth_date) AS by, p.sex,
         date_trunc('month', p.diagnosis_date) AS dm, s.constructs
  FROM patient p JOIN seq s USING (patient_id)
  WHERE p.birth_date IS NOT NULL AND p.diagnosis_date IS NOT NULL
)
SELECT a.site_id, a.patient_id, 'patient' AS target_table, 'patient_id' AS target_column,
       a.patient_id AS record_key, a.patient_id AS value,
       'one registration per person across the registry' AS expected,
       'matches ' || count(DISTINCT b.patient_id) || ' patient(s) at another site' AS detail
FROM k a JOIN k b ON a.by = b.by AND a.sex = b.sex AND a.dm = b.dm AND a.constructs = b.constructs
  AND a.site_id <> b.site_id
GROUP BY a.site_id, a.patient_id
