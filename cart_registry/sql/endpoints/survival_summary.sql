-- view: endpoints.survival_summary
-- grain: one row per ADTTE parameter (PARAMCD)
-- depends_on: adam.adtte
-- description: Counts behind each survival estimate: subjects, events (CNSR 0; for CIRB split
--   into relapses and competing deaths), censorings by reason (last contact, HSCT, CAR T) and
--   the median observed time in days. Kaplan-Meier medians and their CIs are computed from
--   the same rows by the stats module (log-log band, R quantile rule), not in SQL.
SELECT PARAMCD AS paramcd, any_value(PARAM) AS param, any_value(PARAMN) AS paramn,
       count(*) AS n,
       count(*) FILTER (WHERE CNSR = 0) AS events,
       count(*) FILTER (WHERE EVENTTYP = 1) AS events_relapse,
       count(*) FILTER (WHERE EVENTTYP = 2) AS events_competing_death,
       count(*) FILTER (WHERE CNSR = 1) AS censored_last_contact,
       count(*) FILTER (WHERE CNSR = 2) AS censored_hsct,
       count(*) FILTER (WHERE CNSR = 3) AS censored_cart,
       count(*) FILTER (WHERE AVAL < 0) AS negative_times,
       median(AVAL) AS median_observed_days
FROM adam.adtte
GROUP BY PARAMCD
