-- rule: follow_up.last_contact_date.equals_death_date (R08)
-- grain: one row per dead patient whose last contact is not the death date
SELECT f.site_id, f.patient_id, 'follow_up' AS target_table, 'last_contact_date' AS target_column,
       f.patient_id AS record_key, CAST(f.last_contact_date AS VARCHAR) AS value,
       'the death date ' || CAST(d.death_date AS VARCHAR) AS expected,
       'last contact is ' || abs(date_diff('day', d.death_date, f.last_contact_date)) || ' days '
         || CASE WHEN f.last_contact_date > d.death_date THEN 'after' ELSE 'before' END || ' death' AS detail
FROM follow_up f JOIN death d ON d.patient_id = f.patient_id
WHERE f.last_contact_date <> d.death_date
