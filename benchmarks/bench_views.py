"""Benchmark: every view and the endpoint table, against one hand-written query.

On a registry of ``--patients`` patients (the synth ``scale`` preset when it is available,
else canonical frames drawn here with numpy), in one in-memory DuckDB holding the canonical
tables, it times

* ours: ``build_views(..., materialize=True)`` (the settings row, every derived, endpoint and
  ADaM relation) plus ``endpoint_table_from_connection`` (every endpoint view read, KM
  medians, McNemar, cumulative incidence, reverse-KM follow-up), i.e. what
  ``cart-registry endpoints`` does after attaching the registry;
* ours, SQL only: the same without the statistics (reported apart, as ``ratio_sql``,
  because the exact McNemar test costs O(n²) big-integer work at 1e5 patients);
* the floor: one hand-written query that derives courses, pairs CART-A with CART-B and takes
  each one's best response in its 42-day window (before the next course), the core of the
  abstract, over the same tables in the same run.

Each is the median of ``--repeats`` (>= 3) runs after a warm-up; the ratio is ours / floor.
Peak resident memory is the process's. The last line printed is JSON.

    python benchmarks/bench_views.py --patients 100000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from statistics import median
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(ROOT))

FLOOR_SQL = """
WITH c AS (
  SELECT patient_id, construct_id, min(infusion_date) AS d0
  FROM canonical.cart_infusion GROUP BY patient_id, construct_id
), s AS (
  SELECT c.*, row_number() OVER w AS seq, lead(d0) OVER w AS next_d0
  FROM c WINDOW w AS (PARTITION BY patient_id ORDER BY d0, construct_id)
), b AS (
  SELECT s.patient_id, s.seq,
         min(CASE a.response WHEN 'cr_mrd_neg' THEN 1 WHEN 'cr_mrd_pos' THEN 2
             WHEN 'cr_mrd_unknown' THEN 2 WHEN 'cri' THEN 3 WHEN 'pr' THEN 4 WHEN 'nr' THEN 5
             WHEN 'pd' THEN 6 WHEN 'ne' THEN 7 END) AS best_rank
  FROM s JOIN canonical.disease_assessment a
    ON a.patient_id = s.patient_id AND a.specimen = 'bone_marrow'
   AND a.assessment_date BETWEEN s.d0 AND s.d0 + 42
   AND (s.next_d0 IS NULL OR a.assessment_date < s.next_d0)
  WHERE s.seq <= 2
  GROUP BY s.patient_id, s.seq
), pair AS (
  SELECT a.patient_id, a.construct_id AS a_con, x.construct_id AS b_con,
         x.d0 - a.d0 AS interval_days, ra.best_rank <= 3 AS a_cr, rb.best_rank <= 3 AS b_cr
  FROM s a JOIN s x ON x.patient_id = a.patient_id AND a.seq = 1 AND x.seq = 2
  LEFT JOIN b ra ON ra.patient_id = a.patient_id AND ra.seq = 1
  LEFT JOIN b rb ON rb.patient_id = a.patient_id AND rb.seq = 2
)
SELECT count(*) AS cohort, median(interval_days) AS median_interval,
       count(*) FILTER (WHERE a_cr) AS a_cr, count(*) FILTER (WHERE b_cr) AS b_cr,
       count(*) FILTER (WHERE a_cr AND b_cr) AS both_cr
FROM pair
"""


def peak_rss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def time_it(fn: Callable[[], object], repeats: int) -> tuple[float, list[float]]:
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return median(runs), runs


# --------------------------------------------------------------------------- data
def synth_frames(n: int, seed: int) -> dict[str, Any] | None:
    """The synth scale preset's canonical rows (None when the preset is not there)."""
    try:
        import polars as pl

        from cart_registry.synth.scale import scale_plan
        from cart_registry.synth.truth import Truth, rows_for_plans
    except ImportError:
        return None
    parts: dict[str, list[Any]] = {}
    step = 5000
    for lo in range(0, n, step):
        plans = [scale_plan(seed, i, n) for i in range(lo, min(n, lo + step))]
        frames = Truth("scale", seed, plans, rows_for_plans(plans, seed)).tables
        for name, frame in frames.items():
            if name in ("site", "car_construct") and lo > 0:
                continue
            parts.setdefault(name, []).append(frame)
    return {k: pl.concat(v, how="vertical_relaxed").to_arrow() for k, v in parts.items()}


def numpy_frames(n: int, seed: int) -> dict[str, Any]:
    """Canonical frames drawn with numpy, vectorised (the fallback without synth)."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    base = np.datetime64("2015-01-01")
    pid = np.array([f"site_{'abc'[i % 3]}-{i}" for i in range(n)], dtype=object)
    birth = base - rng.integers(365 * 2, 365 * 25, n).astype("timedelta64[D]")
    n_courses = rng.choice([0, 1, 2, 3], n, p=[0.1, 0.45, 0.35, 0.1])
    cons = np.array(["tisa-cel", "cd19-b", "cd22-a", "cd19x22"], dtype=object)
    # courses: one row per (patient, course), dates increasing within a patient
    cp = np.repeat(np.arange(n), n_courses)
    seq = np.concatenate([np.arange(k) for k in n_courses]) if cp.size else np.zeros(0, int)
    start = base + rng.integers(0, 365 * 6, n).astype("timedelta64[D]")
    gap = rng.integers(53, 1200, cp.size).astype("timedelta64[D]")
    d0 = start[cp] + gap * seq
    con = cons[(rng.integers(0, 4, n)[cp] + seq) % 4]
    reinf = rng.random(cp.size) < 0.1
    inf_pid = np.concatenate([pid[cp], pid[cp][reinf]])
    inf = {
        "infusion_id": [f"i{k}" for k in range(inf_pid.size)],
        "patient_id": inf_pid,
        "construct_id": np.concatenate([con, con[reinf]]),
        "infusion_date": np.concatenate([d0, d0[reinf] + np.timedelta64(90, "D")]),
        "infusion_intent": ["initial"] * cp.size + ["reinfusion_bcell_recovery"] * int(reinf.sum()),
    }
    resp = rng.choice(["cr_mrd_neg", "cr_mrd_pos", "cri", "pr", "nr"], cp.size,
                      p=[0.55, 0.1, 0.1, 0.1, 0.15])
    day = rng.integers(21, 35, cp.size).astype("timedelta64[D]")
    assess = {
        "assessment_id": [f"a{k}" for k in range(2 * cp.size)],
        "patient_id": np.concatenate([pid[cp], pid[cp]]),
        "assessment_date": np.concatenate([d0 + day, d0 + day]),
        "specimen": ["bone_marrow"] * cp.size + ["peripheral_blood"] * cp.size,
        "response": np.concatenate([resp, resp]),
    }
    is_cr = np.isin(resp, ["cr_mrd_neg", "cr_mrd_pos", "cri"])
    rel = is_cr & (rng.random(cp.size) < 0.5)
    rel_date = d0[rel] + day[rel] + rng.integers(30, 600, int(rel.sum())).astype("timedelta64[D]")
    relapse = {"relapse_id": [f"r{k}" for k in range(int(rel.sum()))],
               "patient_id": pid[cp][rel], "relapse_date": rel_date,
               "lineage": rng.choice(["b_lymphoid", "myeloid"], int(rel.sum()), p=[0.97, 0.03])}
    expr_n = int(rel.sum())
    expression = {
        "expr_id": [f"e{k}" for k in range(2 * expr_n)],
        "patient_id": np.concatenate([pid[cp][rel]] * 2),
        "sample_date": np.concatenate([rel_date] * 2),
        "timepoint": ["relapse"] * (2 * expr_n),
        "antigen": ["CD19"] * expr_n + ["CD22"] * expr_n,
        "status": rng.choice(["positive", "dim", "negative"], 2 * expr_n),
    }
    last = start + (gap.max() if gap.size else np.timedelta64(0, "D")) * 3
    last = np.minimum(last, np.datetime64("2023-06-30"))
    dead = rng.random(n) < 0.4
    follow = {"patient_id": pid, "last_contact_date": last,
              "vital_status": np.where(dead, "dead", "alive")}
    death = {"patient_id": pid[dead], "death_date": last[dead],
             "primary_cause": ["relapse_progression"] * int(dead.sum())}
    hs = is_cr & (rng.random(cp.size) < 0.1)
    hsct = {"hsct_id": [f"h{k}" for k in range(int(hs.sum()))], "patient_id": pid[cp][hs],
            "hsct_date": d0[hs] + np.timedelta64(80, "D"),
            "hsct_type": ["allogeneic"] * int(hs.sum())}
    tox = {"tox_id": [f"t{k}" for k in range(cp.size)], "patient_id": pid[cp],
           "tox_type": ["crs"] * cp.size, "onset_date": d0 + np.timedelta64(2, "D"),
           "grade_reported": rng.integers(0, 5, cp.size), "grading_scale": ["astct_2019"] * cp.size,
           "fever": rng.random(cp.size) < 0.8, "hypotension": rng.random(cp.size) < 0.3,
           "vasopressors_max": rng.integers(0, 3, cp.size),
           "o2_support_max": rng.choice(["none", "low_flow_le6", "high_flow_gt6_or_mask"], cp.size)}
    patient = {"patient_id": pid, "sex": rng.choice(["female", "male"], n), "birth_date": birth,
               "registry_status": np.where(n_courses >= 2, "included", "excluded")}
    constructs = {"construct_id": list(cons), "construct_name": list(cons),
                  "product_type": ["investigational"] * 4,
                  "target_antigens": [["CD19"], ["CD19"], ["CD22"], ["CD19", "CD22"]],
                  "target_design": ["single"] * 4, "costim_domain": ["4-1BB"] * 4,
                  "binder_origin": ["murine"] * 4, "vector": ["lentiviral"] * 4}
    raw: dict[str, dict[str, Any]] = {"patient": patient, "cart_infusion": inf, "disease_assessment": assess,
           "relapse": relapse, "antigen_expression": expression, "follow_up": follow,
           "death": death, "hsct": hsct, "toxicity_event": tox, "car_construct": constructs}
    out = {}
    for name, cols in raw.items():
        arrays = {}
        for k, v in cols.items():
            if isinstance(v, np.ndarray) and v.dtype.kind == "M":
                arrays[k] = pa.array(v.astype("datetime64[D]"), type=pa.date32())
            elif isinstance(v, np.ndarray) and v.dtype == object:
                arrays[k] = pa.array(list(v))
            else:
                arrays[k] = pa.array(v)
        out[name] = pa.table(arrays)
    return out


def load_canonical(con: Any, frames: dict[str, Any]) -> dict[str, int]:
    """Zero-row canonical tables from the standard, filled from the frames by name."""
    from cart_registry.standard import load_standard
    from cart_registry.warehouse.layout import create_empty_canonical

    std = load_standard()
    create_empty_canonical(con, std)
    rows = {}
    for name, table in frames.items():
        cols = [c for c in table.column_names if c in std.table(name).column_names]
        con.register("__frame", table.select(cols))
        col_list = ", ".join(f'"{c}"' for c in cols)
        con.execute(f"INSERT INTO canonical.{name} ({col_list}) SELECT {col_list} FROM __frame")
        con.unregister("__frame")
        rows[name] = table.num_rows
    return rows


# --------------------------------------------------------------------------- main
def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000, help="patients (default 1e5)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per case, >= 3")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", choices=("auto", "synth", "numpy"), default="auto",
                        help="where the registry comes from (auto: synth if available)")
    args = parser.parse_args(argv)
    if args.repeats < 3:
        parser.error("--repeats must be at least 3")

    import duckdb

    from cart_registry.settings import StudySettings
    from cart_registry.warehouse.endpoints import _survival_inputs as survival_inputs
    from cart_registry.warehouse.endpoints import (
        endpoint_table_from_connection,
        endpoint_view_names,
    )
    from cart_registry.warehouse.views import build_views

    t0 = time.perf_counter()
    frames = synth_frames(args.patients, args.seed) if args.data != "numpy" else None
    source = "synth.scale"
    if frames is None:
        if args.data == "synth":
            parser.error("cart_registry.synth.scale is not available")
        frames, source = numpy_frames(args.patients, args.seed), "numpy"
    gen_s = time.perf_counter() - t0
    con = duckdb.connect()
    rows = load_canonical(con, frames)
    del frames
    settings = StudySettings()

    def ours() -> Any:
        build_views(con, settings, materialize=True)
        return endpoint_table_from_connection(con, settings)

    def ours_sql() -> Any:
        # the SQL share of ours: every relation built and every endpoint input read
        build_views(con, settings, materialize=True)
        views = {v: con.execute(f"SELECT * FROM {v}").fetchall()
                 for v in endpoint_view_names(con)}
        return views, survival_inputs(con)

    def floor() -> Any:
        return con.execute(FLOOR_SQL).fetchall()

    def views_only() -> Any:
        return build_views(con, settings)

    et, fl = ours(), floor()  # warm-up, and the figures both report
    t_ours, runs_ours = time_it(ours, args.repeats)
    t_sql, runs_sql = time_it(ours_sql, args.repeats)
    t_floor, runs_floor = time_it(floor, args.repeats)
    t_lazy, _ = time_it(views_only, args.repeats)
    cohort = et.item("cohort").n
    result: dict[str, Any] = {
        "benchmark": "views",
        "patients": args.patients,
        "data": source,
        "rows": rows,
        "generate_s": round(gen_s, 2),
        "repeats": args.repeats,
        "seconds": round(t_ours, 4),
        "ours_runs_s": [round(r, 4) for r in runs_ours],
        "floor_s": round(t_floor, 4),
        "floor_runs_s": [round(r, 4) for r in runs_floor],
        "ratio": round(t_ours / t_floor, 2) if t_floor > 0 else None,
        "sql_s": round(t_sql, 4),
        "sql_runs_s": [round(r, 4) for r in runs_sql],
        "ratio_sql": round(t_sql / t_floor, 2) if t_floor > 0 else None,
        "stats_s": round(max(0.0, t_ours - t_sql), 4),
        "build_lazy_views_s": round(t_lazy, 4),
        "figure": f"{t_ours:.2f} s (all views materialized + endpoint table)",
        "floor": f"{t_floor:.3f} s (one hand-written A/B pairing + best-response query)",
        "cohort": cohort,
        "floor_cohort": fl[0][0],
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "date": dt.date.today().isoformat(),
    }
    print(f"views + endpoint table {t_ours:.3f} s (of which SQL {t_sql:.3f} s); floor query "
          f"{t_floor:.3f} s; ratio {result['ratio']}x (SQL only {result['ratio_sql']}x); "
          f"cohort {cohort} (floor {fl[0][0]}); "
          f"peak RSS {result['peak_rss_mb']} MB")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
