-- rule: toxicity_event.ice_min.capd_for_children (R13)
-- grain: one row per ICANS in a child aged 12 or younger at onset (days / 365.25, so 12.4
-- years is over 12) scored with ICE and not CAPD (ASTCT: CAPD for children up to 12)
SELECT t.site_id, t.patient_id, 'toxicity_event' AS target_table, 'ice_min' AS target_column,
       t.tox_id AS record_key, CAST(t.ice_min AS VARCHAR) AS value,
       'a CAPD score (capd_max) for a child aged 12 or younger' AS expected,
       'ICE used at age ' || round(date_diff('day', p.birth_date, t.onset_date) / 365.25, 1)
         || ' years' AS detail
FROM toxicity_event t JOIN patient p ON p.patient_id = t.patient_id
WHERE t.tox_type = 'icans' AND t.ice_min IS NOT NULL AND t.capd_max IS NULL
  AND p.birth_date IS NOT NULL AND t.onset_date IS NOT NULL
  AND date_diff('day', p.birth_date, t.onset_date) / 365.25 <= 12
