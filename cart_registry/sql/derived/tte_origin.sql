-- view: derived.tte_origin
-- grain: one row per course × time-to-event endpoint (os, rfs, rfs_infusion, efs, cir) for
--   the courses the endpoint applies to, before any censoring rule is applied
-- depends_on: derived.course_followup, study.settings
-- description: Origin and candidate event of each endpoint. os: from first infusion to
--   death. rfs: CR courses, from the CR date (rfs_origin = cr_date) or the first infusion, to
--   relapse or, when death_in_remission_is_rfs_event, death. rfs_infusion: the same from the
--   first infusion whatever the setting. efs: from first infusion to no CR in the response
--   window (an event on day 0), relapse or death. cir: CR courses, from the CR date to relapse,
--   with death without relapse as the competing event. hsct_date is the first HSCT after the
--   origin and next_course_date the next CAR T, for the censored variants.
WITH f AS MATERIALIZED (
  SELECT f.*, s.rfs_origin, s.death_in_remission_is_rfs_event AS death_is_event
  FROM derived.course_followup f CROSS JOIN study.settings s
), cand AS (
  SELECT f.*, 'os' AS endpoint, 'infusion_date' AS origin, f.first_infusion_date AS start_date,
         f.death_date AS event_date, 'death' AS event_kind,
         f.hsct_after_infusion_date AS hsct_date
  FROM f
  UNION ALL
  SELECT f.*, 'rfs', f.rfs_origin,
         CASE f.rfs_origin WHEN 'cr_date' THEN f.cr_date ELSE f.first_infusion_date END,
         least(f.relapse_date, CASE WHEN f.death_is_event THEN f.death_date END),
         CASE WHEN f.relapse_date IS NOT NULL
               AND f.relapse_date <= coalesce(f.death_date, f.relapse_date) THEN 'relapse'
              WHEN f.death_is_event AND f.death_date IS NOT NULL THEN 'death' END,
         CASE f.rfs_origin WHEN 'cr_date' THEN f.hsct_after_cr_date
              ELSE f.hsct_after_infusion_date END
  FROM f WHERE f.cr_flag
  UNION ALL
  SELECT f.*, 'rfs_infusion', 'infusion_date', f.first_infusion_date,
         least(f.relapse_date, CASE WHEN f.death_is_event THEN f.death_date END),
         CASE WHEN f.relapse_date IS NOT NULL
               AND f.relapse_date <= coalesce(f.death_date, f.relapse_date) THEN 'relapse'
              WHEN f.death_is_event AND f.death_date IS NOT NULL THEN 'death' END,
         f.hsct_after_infusion_date
  FROM f WHERE f.cr_flag
  UNION ALL
  SELECT f.*, 'efs', 'infusion_date', f.first_infusion_date,
         CASE WHEN NOT f.cr_flag THEN f.first_infusion_date
              ELSE least(f.relapse_date, f.death_date) END,
         CASE WHEN NOT f.cr_flag THEN 'no_response'
              WHEN f.relapse_date IS NOT NULL
               AND f.relapse_date <= coalesce(f.death_date, f.relapse_date) THEN 'relapse'
              WHEN f.death_date IS NOT NULL THEN 'death' END,
         f.hsct_after_infusion_date
  FROM f
  UNION ALL
  SELECT f.*, 'cir', 'cr_date', f.cr_date,
         least(f.relapse_date, f.death_date),
         CASE WHEN f.relapse_date IS NOT NULL
               AND f.relapse_date <= coalesce(f.death_date, f.relapse_date) THEN 'relapse'
              WHEN f.death_date IS NOT NULL THEN 'death' END,
         f.hsct_after_cr_date
  FROM f WHERE f.cr_flag
)
SELECT site_id, patient_id, course_seq, course_label, construct_id, endpoint, origin,
       start_date, event_date, event_kind, death_date, relapse_date,
       hsct_date, next_course_date, followup_end_date, follow_up_missing
FROM cand
