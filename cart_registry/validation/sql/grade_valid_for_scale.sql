-- rule: toxicity_event.grading_scale.valid_for_type (R12)
-- grain: one row per ICANS graded on a CRS-only scale (Lee 2014 and Penn grade CRS only)
SELECT site_id, patient_id, 'toxicity_event' AS target_table, 'grading_scale' AS target_column,
       tox_id AS record_key, grading_scale AS value,
       'an ICANS-capable scale (astct_2019, cartox, ctcae_v4, ctcae_v5, mskcc)' AS expected,
       'icans graded on ' || grading_scale || ', a CRS-only scale' AS detail
FROM toxicity_event
WHERE tox_type = 'icans' AND grading_scale IN ('lee_2014', 'penn')
