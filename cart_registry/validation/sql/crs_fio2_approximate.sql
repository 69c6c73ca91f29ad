-- rule: toxicity_event.grade_reported.crs_fio2_approximate (R14)
-- grain: one row per CRS whose reported grade differs from an ASTCT grade that can only be
-- approximated: hypoxia known as FiO2 only, or a FiO2-based legacy scale (Lee 2014, CARTOX).
-- Scales differ by design (Pennisi 2020), so this is information, never an error.
SELECT site_id, patient_id, 'toxicity_event' AS target_table, 'grade_reported' AS target_column,
       tox_id AS record_key, CAST(grade_reported AS VARCHAR) AS value,
       'approximately ASTCT grade ' || grade_astct AS expected,
       grading_scale || ' grade ' || grade_reported || ' vs approximate ASTCT ' || grade_astct
         || CASE WHEN recompute_status = 'approximate_fio2' THEN ' (hypoxia from FiO2)' ELSE '' END AS detail
FROM dq_tox_astct
WHERE tox_type = 'crs' AND grade_reported BETWEEN 0 AND 4 AND grade_astct <> grade_reported
  AND fever_criterion
  AND ((grading_scale = 'astct_2019' AND recompute_status = 'approximate_fio2')
       OR (grading_scale IN ('lee_2014', 'cartox') AND recompute_status IN ('computed', 'approximate_fio2')))
