-- view: adam.adtte
-- grain: one row per cohort patient × time-to-event parameter (PARAMCD)
-- depends_on: derived.time_to_event, derived.patient_courses, study.settings
-- description: ADaM BDS-TTE-style analysis rows. OSB/OSA: overall survival from CART-B/CART-A
--   infusion. RFSB/RFSA: relapse-free survival of CR patients from the origin set by
--   rfs_origin. RFSBC: RFSB censored at a subsequent HSCT or CAR T. RFSBI: RFS from CART-B
--   infusion. EFSB/EFSA: event-free survival from infusion (no CR in the window is an event on
--   day 0). CIRB: relapse from the CART-B CR date with death without relapse competing.
--   Primary parameters follow censor_at_hsct. AVAL = ADT − STARTDT in days, without +1. CNSR 0
--   event, 1 last known alive / last contact, 2 subsequent HSCT, 3 subsequent CAR T.
--   EVENTTYP (sponsor-defined, CIRB only): 1 relapse, 2 death without relapse (competing), 0
--   censored. USUBJID is the pseudonymous registry patient id.
WITH params AS (
  SELECT * FROM (VALUES
    (1, 'OSB',   'Overall survival from CART-B infusion',                     'os',           'B', 'primary'),
    (2, 'RFSB',  'Relapse-free survival after CART-B CR',                     'rfs',          'B', 'primary'),
    (3, 'RFSBC', 'RFS after CART-B CR, censored at subsequent HSCT or CAR T', 'rfs',          'B', 'hsct_or_cart'),
    (4, 'RFSBI', 'RFS from CART-B infusion (CART-B CR patients)',             'rfs_infusion', 'B', 'primary'),
    (5, 'EFSB',  'Event-free survival from CART-B infusion',                  'efs',          'B', 'primary'),
    (6, 'CIRB',  'Cumulative incidence of relapse after CART-B CR',           'cir',          'B', 'primary'),
    (7, 'OSA',   'Overall survival from CART-A infusion',                     'os',           'A', 'primary'),
    (8, 'RFSA',  'Relapse-free survival after CART-A CR',                     'rfs',          'A', 'primary'),
    (9, 'EFSA',  'Event-free survival from CART-A infusion',                  'efs',          'A', 'primary')
  ) AS v(paramn, paramcd, param, endpoint, course_label, variant)
)
SELECT s.study_id AS STUDYID,
       t.patient_id AS USUBJID,
       t.site_id AS SITEID,
       p.paramcd AS PARAMCD,
       p.param AS PARAM,
       p.paramn AS PARAMN,
       CAST(t.time_days AS DOUBLE) AS AVAL,
       'DAYS' AS AVALU,
       t.start_date AS STARTDT,
       t.end_date AS ADT,
       t.cnsr AS CNSR,
       CASE WHEN p.paramcd = 'CIRB' THEN t.event_type END AS EVENTTYP,
       t.event_desc AS EVNTDESC,
       t.censor_desc AS CNSDTDSC,
       t.src_domain AS SRCDOM,
       t.origin AS STARTORG,
       t.construct_id AS CONSTRID,
       t.censoring AS CNSRRULE
FROM derived.time_to_event t
JOIN params p
  ON p.endpoint = t.endpoint AND p.course_label = t.course_label
 AND ((p.variant = 'primary' AND t.is_primary) OR p.variant = t.censoring)
JOIN derived.patient_courses pc ON pc.patient_id = t.patient_id AND pc.in_cohort
CROSS JOIN study.settings s
