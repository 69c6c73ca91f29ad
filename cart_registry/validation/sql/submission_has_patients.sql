-- rule: submission.patient.present
-- grain: one row per validated submission that carries no patient at all
SELECT r.site_id, CAST(NULL AS VARCHAR) AS patient_id, 'patient' AS target_table,
       CAST(NULL AS VARCHAR) AS target_column, r.submission_id AS record_key,
       '0' AS value, 'at least one patient' AS expected,
       'the submission has no patient rows' AS detail
FROM dq_run_site r
WHERE NOT EXISTS (SELECT 1 FROM patient p WHERE p.site_id = r.site_id)
