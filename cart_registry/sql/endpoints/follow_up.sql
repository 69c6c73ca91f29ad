-- view: endpoints.follow_up
-- grain: one row: follow-up from CART-B infusion in the cohort
-- depends_on: adam.adtte
-- description: From the OSB rows: patients, deaths, survivors, and the observed follow-up of
--   survivors in days (median, minimum, maximum). The reverse Kaplan-Meier median follow-up
--   (deaths censor follow-up) is computed by the stats module from the same rows.
SELECT count(*) AS n,
       count(*) FILTER (WHERE CNSR = 0) AS deaths,
       count(*) FILTER (WHERE CNSR <> 0) AS survivors,
       median(AVAL) FILTER (WHERE CNSR <> 0) AS median_survivor_followup_days,
       min(AVAL) FILTER (WHERE CNSR <> 0) AS min_survivor_followup_days,
       max(AVAL) FILTER (WHERE CNSR <> 0) AS max_survivor_followup_days
FROM adam.adtte
WHERE PARAMCD = 'OSB'
