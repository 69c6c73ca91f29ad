-- view: derived.course_window
-- grain: one row per course: the time during which a course's own response can be seen
-- depends_on: derived.course, canonical.hsct, canonical.antileukemic_therapy, study.settings
-- description: A course's window opens at its first infusion and closes (exclusive) at the
--   first of: the next course, an HSCT, or a non-bridging anti-leukemic therapy started after
--   the first infusion (CIBMTR: best response is to the planned course, before any new
--   therapy). Bridging therapy never closes a window; re-infusions of the same construct belong
--   to the course. response_last_date is the last day an assessment may count for best
--   response: first infusion + response_window_days, or the day before the window closes.
WITH h AS (
  SELECT c.patient_id, c.course_seq, min(x.hsct_date) AS next_hsct_date
  FROM derived.course c
  JOIN canonical.hsct x ON x.patient_id = c.patient_id AND x.hsct_date > c.first_infusion_date
  GROUP BY c.patient_id, c.course_seq
), t AS (
  SELECT c.patient_id, c.course_seq, min(x.start_date) AS next_therapy_date
  FROM derived.course c
  JOIN canonical.antileukemic_therapy x
    ON x.patient_id = c.patient_id AND x.start_date > c.first_infusion_date
   AND x.intent <> 'bridging'
  GROUP BY c.patient_id, c.course_seq
), w AS (
  SELECT c.*, h.next_hsct_date, t.next_therapy_date,
         least(c.next_course_date, h.next_hsct_date, t.next_therapy_date) AS window_end_date
  FROM derived.course c
  LEFT JOIN h ON h.patient_id = c.patient_id AND h.course_seq = c.course_seq
  LEFT JOIN t ON t.patient_id = c.patient_id AND t.course_seq = c.course_seq
)
SELECT w.*,
       CASE WHEN w.window_end_date IS NULL THEN NULL
            WHEN w.window_end_date = w.next_course_date THEN 'next_course'
            WHEN w.window_end_date = w.next_hsct_date THEN 'hsct'
            ELSE 'antileukemic_therapy' END AS window_closed_by,
       least(w.first_infusion_date + s.response_window_days,
             w.window_end_date - 1) AS response_last_date
FROM w CROSS JOIN study.settings s
