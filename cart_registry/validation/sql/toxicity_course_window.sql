-- rule: toxicity_event.onset_date.in_course_window (R11)
-- grain: one row per toxicity whose onset is not inside exactly one course window: before the
-- infusion it is attributed to, on or after the next course's first infusion, or (when the
-- site gave no infusion) before any infusion
WITH t AS (
  SELECT t.*, i.construct_id, i.infusion_date
  FROM toxicity_event t LEFT JOIN cart_infusion i ON i.infusion_id = t.infusion_id AND i.site_id = t.site_id
)
SELECT t.site_id, t.patient_id, 'toxicity_event' AS target_table, 'onset_date' AS target_column,
       t.tox_id AS record_key, CAST(t.onset_date AS VARCHAR) AS value,
       CASE WHEN t.infusion_id IS NULL THEN 'on or after the first CAR T infusion'
            WHEN t.onset_date < t.infusion_date THEN 'on or after its infusion ' || CAST(t.infusion_date AS VARCHAR)
            ELSE 'before the next course on ' || CAST(c.next_course_date AS VARCHAR) END AS expected,
       CASE WHEN t.infusion_id IS NULL THEN t.tox_type || ' onset before any infusion'
            WHEN t.onset_date < t.infusion_date
              THEN t.tox_type || ' onset ' || date_diff('day', t.onset_date, t.infusion_date) || ' days before the infusion it is attributed to'
            ELSE t.tox_type || ' onset ' || date_diff('day', c.next_course_date, t.onset_date) || ' days after the next course started' END AS detail
FROM t
LEFT JOIN dq_course c ON c.patient_id = t.patient_id AND c.construct_id = t.construct_id
WHERE t.onset_date IS NOT NULL AND (
  (t.infusion_id IS NOT NULL AND t.infusion_date IS NOT NULL
     AND (t.onset_date < t.infusion_date OR (c.next_course_date IS NOT NULL AND t.onset_date >= c.next_course_date)))
  OR (t.infusion_id IS NULL AND NOT EXISTS (
        SELECT 1 FROM dq_course k WHERE k.patient_id = t.patient_id AND k.first_infusion_date <= t.onset_date)))
