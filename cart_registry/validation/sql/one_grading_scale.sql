-- rule: toxicity_event.grading_scale.one_per_submission
-- grain: one row per CRS/ICANS graded on a scale or scale version other than the one the
-- site uses for most events of that type (mixed scales make toxicity rates incomparable)
WITH s AS (
  SELECT site_id, tox_type, grading_scale, coalesce(grading_scale_version, '') AS version, count(*) AS n
  FROM toxicity_event
  WHERE grading_scale IS NOT NULL AND grading_scale <> 'unknown' AND tox_type IN ('crs', 'icans')
  GROUP BY ALL
), m AS (
  SELECT * FROM s
  QUALIFY row_number() OVER (PARTITION BY site_id, tox_type ORDER BY n DESC, grading_scale, version) = 1
)
SELECT t.site_id, t.patient_id, 'toxicity_event' AS target_table, 'grading_scale' AS target_column,
       t.tox_id AS record_key,
       t.grading_scale AS value,
       m.grading_scale || CASE WHEN m.version = '' THEN '' ELSE ' version ' || m.version END AS expected,
       t.tox_type || ' graded on ' || t.grading_scale
         || CASE WHEN t.grading_scale_version IS NULL THEN '' ELSE ' version ' || t.grading_scale_version END
         || ', unlike ' || m.n || ' other ' || t.tox_type || ' events of the site' AS detail
FROM toxicity_event t JOIN m ON m.site_id = t.site_id AND m.tox_type = t.tox_type
WHERE t.grading_scale IS NOT NULL AND t.grading_scale <> 'unknown'
  AND (t.grading_scale <> m.grading_scale OR coalesce(t.grading_scale_version, '') <> m.version)
