"""Validation of a large registry: time and peak memory of ``validate_submissions``.

The registry (``--patients``, default 1e5, spread over ``--sites``) is generated here as
canonical frames, vectorised with numpy/polars and written with ``SubmissionWriter``, so the
figure is validation alone (the synth scale preset writes site exports, which would measure
the ingest too). About 0.5% of patients carry a defect so that the issue path is exercised.
The floor is the part of a run no rule can avoid: DuckDB copying the canonical Parquet into
memory. Prints one JSON line; ``main(argv)`` returns it (the test suite runs it tiny).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EPOCH = dt.date(1970, 1, 1)


def _reset_peak() -> None:
    try:  # Linux: reset the high-water mark so the peak is the timed section's own
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _peak_mb() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def site_frames(site: str, n: int, seed: int, standard: Any) -> dict[str, Any]:
    """Canonical frames of one site with n patients (two courses each), vectorised."""
    import numpy as np
    import polars as pl

    from cart_registry.standard.derive import polars_schema

    rng = np.random.default_rng(seed)
    i = np.arange(n)
    day = lambda d: (d - EPOCH).days  # noqa: E731 - tiny local helper
    dx = day(dt.date(2012, 1, 1)) + rng.integers(0, 2500, n)
    birth = dx - rng.integers(2 * 365, 20 * 365, n)
    a = dx + rng.integers(200, 700, n)
    b = a + rng.integers(200, 500, n)
    dead = rng.random(n) < 0.2
    relapsed = rng.random(n) < 0.4
    defect = rng.random(n) < 0.005
    pid = pl.Series([f"{site}-P{k:07d}" for k in range(n)])

    def dates(x: Any) -> pl.Series:
        return pl.Series(x.astype("int32")).cast(pl.Date)

    def prov(df: pl.DataFrame, table: str, key_prefix: str) -> pl.DataFrame:
        m = df.height
        return df.with_columns(
            pl.lit(site).alias("site_id"), pl.lit("x").alias("submission_id"),
            pl.lit(f"{table}.csv").alias("source_file"), pl.lit("0" * 64).alias("source_sha256"),
            pl.Series("source_row", np.arange(1, m + 1)),
            (pl.lit("record=") + pl.col("patient_id").str.split("-").list.get(1)
             + pl.lit(f"|event=e|instrument={key_prefix}|instance=1")).alias("source_key")
            if "patient_id" in df.columns else pl.lit(None, pl.String).alias("source_key"),
            pl.lit(f"{site}.{table}").alias("mapping_rule"),
        )

    def frame(table: str, cols: dict[str, Any], key: str) -> pl.DataFrame:
        t = standard.table(table)
        m = len(next(iter(cols.values())))
        full = {c.name: cols.get(c.name, pl.Series([None] * m)) for c in t.business_columns}
        df = pl.DataFrame(full)
        df = prov(df, table, key)
        return df.select([pl.col(c).cast(dt_) for c, dt_ in polars_schema(t).items()])

    bd = np.where(defect, dx + 10, birth)  # R01 defects
    out = {
        "site": pl.DataFrame([{"site_id": site, "site_label": site, "country": "US",
                               "export_format": "redcap_csv", "date_shift_policy": "none",
                               "pseudonym_key_version": None,
                               "data_cutoff_date": dt.date(2023, 6, 30)}],
                             schema=polars_schema(standard.table("site"))),
        "patient": frame("patient", {
            "patient_id": pid, "sex": pl.Series(np.where(i % 2 == 0, "female", "male")),
            "birth_date": dates(bd), "diagnosis_date": dates(dx),
            "registry_status": pl.Series(["included"] * n),
            "cytogenetic_lesions": pl.Series([["none"]] * n),
        }, "demographics"),
    }
    inf_pid = pl.concat([pid, pid])
    inf_id = pl.concat([pid + "-I1", pid + "-I2"])
    out["cart_infusion"] = frame("cart_infusion", {
        "infusion_id": inf_id, "patient_id": inf_pid,
        "construct_id": pl.Series(np.concatenate([
            rng.choice(["tisa-cel", "brexu-cel", "cd19-41bb-scri", "cd19-28z-nci"], n),
            rng.choice(["cd22-41bb-nci", "cd22-41bb-penn", "cd22-41bb-scri",
                        "cd19x22-tandem"], n)])),
        "infusion_date": dates(np.concatenate([a, b])),
        "infusion_intent": pl.Series(["initial"] * (2 * n)),
        "dose_car_pos_per_kg_e6": pl.Series([2.0] * (2 * n)),
        "weight_kg": pl.Series([40.0] * (2 * n)),
    }, "car_infusion")
    out["lymphodepletion"] = frame("lymphodepletion", {
        "ld_id": inf_id + "-LD", "patient_id": inf_pid, "infusion_id": inf_id,
        "regimen": pl.Series(["flu_cy"] * (2 * n)),
        "start_date": dates(np.concatenate([a, b]) - 5),
    }, "ld")
    ab = np.concatenate([a, b])
    out["disease_assessment"] = frame("disease_assessment", {
        "assessment_id": pl.concat([inf_id + "-pre", inf_id + "-d28"]),
        "patient_id": pl.concat([inf_pid, inf_pid]),
        "assessment_date": dates(np.concatenate([ab - 10, ab + 28])),
        "specimen": pl.Series(["bone_marrow"] * (4 * n)),
        "bm_blast_pct": pl.Series([30.0] * (2 * n) + [1.0] * (2 * n)),
        "mrd_method": pl.Series(["flow"] * (4 * n)),
        "mrd_value": pl.Series([0.2] * (2 * n) + [0.00001] * (2 * n)),
        "response": pl.Series([None] * (2 * n) + ["cr_mrd_neg"] * (2 * n), dtype=pl.String),
    }, "disease_assessment")
    rel = np.flatnonzero(relapsed)
    out["relapse"] = frame("relapse", {
        "relapse_id": pid.gather(rel) + "-R1", "patient_id": pid.gather(rel),
        "relapse_date": dates(a[rel] + 150), "lineage": pl.Series(["b_lymphoid"] * len(rel)),
    }, "relapse")
    out["antigen_expression"] = frame("antigen_expression", {
        "expr_id": pl.concat([pid + "-E1", pid.gather(rel) + "-E3"]),
        "patient_id": pl.concat([pid, pid.gather(rel)]),
        "sample_date": dates(np.concatenate([dx, a[rel] + 150])),
        "timepoint": pl.Series(["diagnosis"] * n + ["relapse"] * len(rel)),
        "antigen": pl.Series(["CD19"] * (n + len(rel))),
        "status": pl.Series(["positive"] * n + ["negative"] * len(rel)),
    }, "immunophenotype")
    grade = np.where(defect, 3, 2)  # R14 defects: grade 3 where the components give 2
    out["toxicity_event"] = frame("toxicity_event", {
        "tox_id": pid + "-X1", "patient_id": pid, "infusion_id": pid + "-I1",
        "tox_type": pl.Series(["crs"] * n), "onset_date": dates(a + 2),
        "resolution_date": dates(a + 7), "grade_reported": pl.Series(grade),
        "grading_scale": pl.Series(["astct_2019"] * n),
        "grading_scale_version": pl.Series(["2019"] * n), "fever": pl.Series([True] * n),
        "anticytokine_or_antipyretic": pl.Series([True] * n),
        "hypotension": pl.Series([True] * n), "vasopressors_max": pl.Series([0] * n),
        "o2_support_max": pl.Series(["none"] * n),
    }, "toxicity")
    out["antileukemic_therapy"] = frame("antileukemic_therapy", {
        "therapy_id": pid + "-T1", "patient_id": pid,
        "therapy_class": pl.Series(["chemotherapy"] * n), "intent": pl.Series(["bridging"] * n),
        "start_date": dates(a - 30), "end_date": dates(a - 20),
    }, "therapy")
    d = np.flatnonzero(dead)
    death_day = b + 300
    out["death"] = frame("death", {
        "patient_id": pid.gather(d), "death_date": dates(death_day[d]),
        "primary_cause": pl.Series(["relapse_progression"] * len(d)),
    }, "death")
    cutoff = day(dt.date(2023, 6, 30))
    last = np.where(dead, death_day, cutoff - rng.integers(0, 200, n))
    out["follow_up"] = frame("follow_up", {
        "patient_id": pid, "last_contact_date": dates(last),
        "vital_status": pl.Series(np.where(dead, "dead", "alive")),
    }, "follow_up")
    return out


def build_registry(root: Path, patients: int, sites: int) -> Any:
    from cart_registry.canonical.issues import issues_table
    from cart_registry.canonical.store import SubmissionWriter
    from cart_registry.project import Project

    (root / "mappings").mkdir(parents=True)
    for name in ("registry.yaml", "constructs.yaml"):
        shutil.copy(ROOT / "mappings" / name, root / "mappings" / name)
    project = Project.find(root)
    standard = project.standard()
    per_site = max(1, patients // sites)
    for s in range(sites):
        site = f"site_{chr(97 + s)}"
        frames = site_frames(site, per_site, 1000 + s, standard)
        w = SubmissionWriter(project, site, f"{site}-bench")
        ledger = []
        for name, frame in frames.items():
            w.write_table(standard.table(name), frame)
            ledger.append({"source_file": f"{name}.csv", "sha256": "0" * 64,
                           "rows_read": frame.height, "rows_mapped": frame.height,
                           "rows_quarantined": 0, "rows_ignored": 0})
        w.write_issues(issues_table([]))
        w.commit({"received_at": "2023-07-01T00:00:00Z", "export_format": "redcap_csv",
                  "ledger": ledger, "lineage": []})
    return project


def floor_seconds(project: Any) -> float:
    """DuckDB copying every canonical table of the run into memory (what a run must do)."""
    import duckdb

    from cart_registry.canonical.store import attach_submission_views, list_submissions

    t0 = time.perf_counter()
    con = duckdb.connect()
    attach_submission_views(con, project, list_submissions(project), schema="src")
    for t in project.standard():
        con.execute(f'CREATE TABLE "{t.name}" AS SELECT * FROM src."{t.name}"')
    con.close()
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--patients", type=int, default=100_000)
    ap.add_argument("--sites", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="build the registry here and keep it")
    args = ap.parse_args(argv)

    from cart_registry.validation.api import validate_submissions

    tmp = Path(tempfile.mkdtemp(prefix="bench-validate-"))
    root = args.keep or tmp
    try:
        t0 = time.perf_counter()
        project = build_registry(root, args.patients, args.sites)
        build_s = time.perf_counter() - t0
        floor = floor_seconds(project)
        _reset_peak()
        t0 = time.perf_counter()
        report = validate_submissions(project, as_of=dt.date(2023, 7, 15),
                                      out_dir=root / "report")
        seconds = time.perf_counter() - t0
        peak = _peak_mb()
        result: dict[str, Any] = {
            "stage": "validate",
            "patients": args.patients,
            "sites": args.sites,
            "rules": len({r.rule_id for r in report.results}),
            "issues": len(report.issues),
            "seconds": round(seconds, 3),
            "figure": f"{seconds:.1f} s for {args.patients} patients",
            "floor": "DuckDB copy of the canonical Parquet into memory",
            "floor_seconds": round(floor, 3),
            "ratio": round(seconds / floor, 2) if floor else None,
            "peak_rss_mb": peak,
            "build_seconds": round(build_s, 2),
        }
        print(json.dumps(result))
        return result
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
