-- rule: submission.ledger.balanced
-- grain: one row per source file whose row ledger does not add up (rows read = mapped +
-- quarantined + ignored): rows were lost or counted twice between the file and the tables
SELECT site_id, CAST(NULL AS VARCHAR) AS patient_id, 'patient' AS target_table,
       CAST(NULL AS VARCHAR) AS target_column, source_file AS record_key,
       CAST(rows_read AS VARCHAR) AS value,
       'rows read = mapped + quarantined + ignored' AS expected,
       source_file || ': read ' || rows_read || ', mapped ' || rows_mapped || ', quarantined '
         || rows_quarantined || ', ignored ' || rows_ignored AS detail
FROM dq_ledger
WHERE rows_read <> rows_mapped + rows_quarantined + rows_ignored
