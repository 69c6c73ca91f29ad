-- rule: lymphodepletion.start_date.within_14_days_before_infusion (R06)
-- grain: one row per lymphodepletion starting after its infusion or more than 14 days before
SELECT l.site_id, l.patient_id, 'lymphodepletion' AS target_table, 'start_date' AS target_column,
       l.ld_id AS record_key, CAST(l.start_date AS VARCHAR) AS value,
       'between ' || CAST(i.infusion_date - 14 AS VARCHAR) || ' and ' || CAST(i.infusion_date AS VARCHAR) AS expected,
       CASE WHEN l.start_date > i.infusion_date
            THEN date_diff('day', i.infusion_date, l.start_date) || ' days after the infusion'
            ELSE date_diff('day', l.start_date, i.infusion_date) || ' days before the infusion' END AS detail
FROM lymphodepletion l JOIN cart_infusion i ON i.infusion_id = l.infusion_id AND i.site_id = l.site_id
WHERE l.start_date > i.infusion_date OR l.start_date < i.infusion_date - 14
