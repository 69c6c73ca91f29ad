-- view: derived.time_to_event
-- grain: one row per course × endpoint × censoring variant (none, hsct, hsct_or_cart)
-- depends_on: derived.tte_origin, derived.censoring_variant, study.settings
-- description: Resolves each endpoint's end date. The event counts when it comes no later
--   than the variant's censoring date (first HSCT and/or next CAR T course after the origin);
--   otherwise the row censors there if that is within follow-up, else at the end of follow-up
--   (last contact or death, capped at the cut-off; the origin when follow-up is missing).
--   time_days = end − origin without +1 (survival-package practice). cnsr: 0 event, 1 last
--   contact, 2 HSCT, 3 subsequent CAR T. event_type: 0 censored, 1 event (for cir: relapse),
--   2 death without relapse (cir only; cnsr is 0 for both cir event types).
WITH c AS (
  SELECT o.*, v.censoring, v.is_primary,
         CASE WHEN v.censor_hsct AND o.hsct_date > o.start_date THEN o.hsct_date END AS censor_hsct_date,
         CASE WHEN v.censor_cart AND o.next_course_date > o.start_date THEN o.next_course_date END AS censor_cart_date,
         coalesce(o.followup_end_date, o.start_date) AS end_date
  FROM derived.tte_origin o CROSS JOIN derived.censoring_variant v
), e AS (
  SELECT c.*,
         least(c.censor_hsct_date, c.censor_cart_date) AS censor_date,
         c.event_date IS NOT NULL
           AND (least(c.censor_hsct_date, c.censor_cart_date) IS NULL
                OR c.event_date <= least(c.censor_hsct_date, c.censor_cart_date)) AS is_event
  FROM c
), r AS (
  SELECT e.*,
         CASE WHEN e.is_event THEN 0
              WHEN e.censor_date <= e.end_date THEN
                CASE WHEN e.censor_date = e.censor_hsct_date THEN 2 ELSE 3 END
              ELSE 1 END AS cnsr
  FROM e
)
SELECT r.site_id, r.patient_id, r.course_seq, r.course_label, r.construct_id, r.endpoint,
       r.censoring, r.is_primary, r.origin, r.start_date,
       CASE r.cnsr WHEN 0 THEN r.event_date WHEN 1 THEN r.end_date ELSE r.censor_date END AS end_date,
       date_diff('day', r.start_date,
                 CASE r.cnsr WHEN 0 THEN r.event_date WHEN 1 THEN r.end_date
                      ELSE r.censor_date END) AS time_days,
       date_diff('day', r.start_date,
                 CASE r.cnsr WHEN 0 THEN r.event_date WHEN 1 THEN r.end_date
                      ELSE r.censor_date END) / s.days_per_month AS time_months,
       r.is_event AS event,
       r.cnsr,
       CASE WHEN NOT r.is_event THEN 0
            WHEN r.endpoint = 'cir' AND r.event_kind = 'death' THEN 2 ELSE 1 END AS event_type,
       CASE WHEN r.is_event THEN r.event_kind END AS event_kind,
       CASE WHEN NOT r.is_event THEN NULL
            WHEN r.event_kind = 'death' THEN 'DEATH'
            WHEN r.event_kind = 'relapse' THEN 'RELAPSE'
            ELSE 'NO CR WITHIN RESPONSE WINDOW' END AS event_desc,
       CASE r.cnsr
         WHEN 0 THEN NULL
         WHEN 2 THEN 'SUBSEQUENT HSCT'
         WHEN 3 THEN 'SUBSEQUENT CAR T'
         ELSE CASE WHEN r.follow_up_missing THEN 'NO FOLLOW-UP RECORD'
                   WHEN r.death_date IS NOT NULL AND r.death_date <= r.end_date
                     THEN 'DEATH (NOT AN EVENT OF THIS ENDPOINT)'
                   ELSE 'LAST KNOWN ALIVE' END
       END AS censor_desc,
       CASE r.cnsr
         WHEN 0 THEN CASE r.event_kind WHEN 'death' THEN 'DEATH' WHEN 'relapse' THEN 'RELAPSE'
                          ELSE 'DISEASE_ASSESSMENT' END
         WHEN 2 THEN 'HSCT'
         WHEN 3 THEN 'CART_INFUSION'
         ELSE CASE WHEN r.death_date IS NOT NULL AND r.death_date <= r.end_date THEN 'DEATH'
                   ELSE 'FOLLOW_UP' END
       END AS src_domain
FROM r CROSS JOIN study.settings s
