"""Ingest of a generated CSV export against DuckDB's CSV -> Parquet copy of the same file.

The benchmark writes a wide ``;``-delimited export of N disease assessments (the shape of
the sample EDC site: dd/mm/yyyy dates, local codes, O/N booleans, scientific-notation MRD)
and a site mapping for it, then measures, interleaved, median of ``--runs`` repetitions:

* ``ingest``: ``ingest_submission`` end to end (read as text, map, Pandera conformance,
  ledger, zstd Parquet, manifest), with the allocator setting ``cart-registry`` applies;
* the floor: DuckDB ``COPY (SELECT * FROM read_csv(...)) TO '...parquet'`` of the same file
  (target: ingest <= 2x the floor);
* a naive pipeline: pandas ``read_csv`` + pandera (pandas backend) + ``to_parquet``.

Each measurement runs in a fresh process, as a ``cart-registry ingest`` would: the process
first does the same work on a 1,000-row export (imports, first-call set-up; not timed), then
the timed run starts with memory as a new process has it. Repeating a run in one process
flatters whoever keeps freed memory for the next repetition, and a run after another
workload inherits its heap. Peak resident memory is the worker process's high-water mark.
Prints one JSON line.

    python benchmarks/bench_ingest_csv.py --rows 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(ROOT))

#: the environment as the benchmark was started (before polars adds to it)
ORIGINAL_ENV = dict(os.environ)

SITE = "site_bench"
SPECIMEN = ["MO", "SP", "LCR", "EM"]
MRD_METHOD = ["CMF", "NGS", "PCR", "NF"]
MRD_RESULT = ["NEG", "POS", "IND", "NF"]
CNS = ["SNC1", "SNC2", "SNC3", "NF"]
RECOVERY = ["COMPLETE", "INCOMPLETE", "INC"]
APLASIA = ["O", "N", "INC"]
RESPONSE = ["RC-MRDNEG", "RC-MRDPOS", "RC-MRDINC", "RCI", "RP", "NR", "PROG", "NE"]

SITE_YAML = """\
mapping_version: "bench"
site:
  site_id: site_bench
  export_format: csv_other
  date_shift_policy: none
  data_cutoff_date: 2023-06-30
reader:
  kind: csv
  encoding: utf-8
  delimiter: ";"
  sources:
    assessments: {files: [assessments.csv], ignore_columns: [CENTRE, VISIT, COMMENT]}
defaults:
  date_formats: ["%d/%m/%Y"]
  true_values: ["O"]
  false_values: ["N"]
"""
TABLE_YAML = """\
table: disease_assessment
rules:
  - id: assessments
    source: assessments
    columns:
      assessment_id: {op: surrogate_key, from: [SUBJID, ASSESS_DATE, SPECIMEN]}
      patient_id: {op: patient_id, from: SUBJID}
      assessment_date: ASSESS_DATE
      specimen: {op: map_values, from: SPECIMEN, values: {MO: bone_marrow, SP: peripheral_blood, LCR: csf, EM: extramedullary}}
      bm_blast_pct: BLASTS_PCT
      mrd_method: {op: map_values, from: MRD_METHOD, values: {CMF: flow, NGS: ngs_ig_tcr, PCR: qpcr, NF: none}}
      mrd_value: {op: convert_units, from: MRD_PCT, from_unit: percent, to_unit: fraction}
      mrd_result: {op: map_values, from: MRD_RESULT, values: {NEG: negative, POS: positive, IND: indeterminate, NF: not_done}}
      cns_status: {op: map_values, from: CNS, values: {SNC1: cns1, SNC2: cns2, SNC3: cns3, NF: not_done}}
      extramedullary_disease: EMD
      count_recovery: {op: map_values, from: COUNT_RECOVERY, values: {COMPLETE: full, INCOMPLETE: incomplete, INC: unknown}}
      bcell_aplasia: {op: map_values, from: B_APLASIA, values: {O: present, N: absent, INC: unknown}}
      response: {op: map_values, from: RESPONSE, values: {RC-MRDNEG: cr_mrd_neg, RC-MRDPOS: cr_mrd_pos, RC-MRDINC: cr_mrd_unknown, RCI: cri, RP: pr, NR: nr, PROG: pd, NE: ne}}
"""


def write_export(folder: Path, rows: int) -> Path:
    """A deterministic wide export of ``rows`` assessments (about 100 bytes a row)."""
    import polars as pl

    folder.mkdir(parents=True, exist_ok=True)
    i = pl.int_range(0, rows, dtype=pl.Int64, eager=True)

    def pick(values: list[str], k: int) -> pl.Expr:
        return pl.col("i").mul(k).mod(len(values)).replace_strict(
            list(range(len(values))), values, return_dtype=pl.String)

    day = pl.col("i").mod(28) + 1
    month = pl.col("i").floordiv(28).mod(12) + 1
    year = pl.col("i").floordiv(336).mod(20) + 2004
    frame = pl.DataFrame({"i": i}).select(
        pl.format("CHS-{}", pl.col("i").floordiv(5).cast(pl.String).str.zfill(6)).alias("SUBJID"),
        pl.format("{}/{}/{}", day.cast(pl.String).str.zfill(2), month.cast(pl.String).str.zfill(2),
                  year).alias("ASSESS_DATE"),
        pick(SPECIMEN, 1).alias("SPECIMEN"),
        (pl.col("i").mod(1000) / 10).round(1).cast(pl.String).alias("BLASTS_PCT"),
        pick(MRD_METHOD, 3).alias("MRD_METHOD"),
        pl.when(pl.col("i").mod(11) == 0).then(None).otherwise(
            (pl.col("i").mod(997) / 1000).round(3).cast(pl.String)).alias("MRD_PCT"),
        pick(MRD_RESULT, 5).alias("MRD_RESULT"),
        pick(CNS, 7).alias("CNS"),
        pick(["O", "N"], 1).alias("EMD"),
        pick(RECOVERY, 11).alias("COUNT_RECOVERY"),
        pick(APLASIA, 13).alias("B_APLASIA"),
        pick(RESPONSE, 17).alias("RESPONSE"),
        pl.lit("CENTRE-A").alias("CENTRE"),
        pl.format("V{}", pl.col("i").mod(9)).alias("VISIT"),
        pl.when(pl.col("i").mod(50) == 0).then(pl.lit("contrôle; à revoir")).alias("COMMENT"),
    )
    path = folder / "assessments.csv"
    frame.write_csv(path, separator=";", line_terminator="\n")
    return path


def make_project(root: Path) -> Any:
    from cart_registry.project import Project

    site = root / "mappings" / SITE
    site.mkdir(parents=True, exist_ok=True)
    (site / "site.yaml").write_text(SITE_YAML, encoding="utf-8")
    (site / "disease_assessment.yaml").write_text(TABLE_YAML, encoding="utf-8")
    return Project.find(root)


def _peak_mb() -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def duckdb_copy(csv_path: Path, out: Path) -> None:
    import duckdb

    con = duckdb.connect()
    src = str(csv_path).replace("'", "''")
    dst = str(out).replace("'", "''")
    con.execute(f"COPY (SELECT * FROM read_csv('{src}', delim = ';', header = true)) "
                f"TO '{dst}' (FORMAT parquet, COMPRESSION zstd)")
    con.close()


def pandas_pipeline(csv_path: Path, out: Path) -> None:
    """What a first script would do: pandas + pandera (pandas backend) + to_parquet."""
    import pandas as pd
    import pandera.pandas as pa

    df = pd.read_csv(csv_path, sep=";")
    df["ASSESS_DATE"] = pd.to_datetime(df["ASSESS_DATE"], format="%d/%m/%Y")
    schema = pa.DataFrameSchema({
        "SUBJID": pa.Column(str, pa.Check.str_matches(r"^CHS-\d+$")),
        "ASSESS_DATE": pa.Column("datetime64[ns]"),
        "SPECIMEN": pa.Column(str, pa.Check.isin(SPECIMEN)),
        "BLASTS_PCT": pa.Column(float, pa.Check.in_range(0, 100)),
        "MRD_METHOD": pa.Column(str, pa.Check.isin(MRD_METHOD)),
        "MRD_PCT": pa.Column(float, pa.Check.in_range(0, 100), nullable=True),
        "MRD_RESULT": pa.Column(str, pa.Check.isin(MRD_RESULT)),
        "CNS": pa.Column(str, pa.Check.isin(CNS)),
        "EMD": pa.Column(str, pa.Check.isin(["O", "N"])),
        "COUNT_RECOVERY": pa.Column(str, pa.Check.isin(RECOVERY)),
        "B_APLASIA": pa.Column(str, pa.Check.isin(APLASIA)),
        "RESPONSE": pa.Column(str, pa.Check.isin(RESPONSE)),
    })
    schema.validate(df, lazy=True)
    df.to_parquet(out, compression="zstd")


WARMUP_ROWS = 1000


def _worker(kind: str, work: Path) -> dict[str, Any]:
    """One timed measurement in this (fresh) process; ``work`` holds ``export/``,
    ``warmup/`` and ``project/`` made by the parent."""
    export, warmup = work / "export", work / "warmup"
    csv_path = export / "assessments.csv"
    out_dir = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=work))
    try:
        if kind == "ours":
            # the allocator setting ``cart-registry`` applies at start-up (cart_registry.runtime)
            from cart_registry.runtime import configure_allocator

            allocator = configure_allocator()
            from cart_registry.ingest import ingest_submission
            from cart_registry.project import Project

            project = Project.find(work / "project")
            ingest_submission(project, warmup, SITE, received_at="2023-07-01T00:00:00Z")
            t0 = time.perf_counter()
            result = ingest_submission(project, export, SITE, received_at="2023-07-01T00:00:00Z")
            seconds = time.perf_counter() - t0
            if not result.ok:
                raise RuntimeError("the benchmark export did not ingest cleanly")
            return {"seconds": seconds, "rows_read": result.totals["rows_read"],
                    "peak_rss_mb": _peak_mb(), "polars_allocator": allocator}
        run: Callable[[Path, Path], None] = duckdb_copy if kind == "floor" else pandas_pipeline
        run(warmup / "assessments.csv", out_dir / "warm.parquet")
        t0 = time.perf_counter()
        run(csv_path, out_dir / "out.parquet")
        return {"seconds": time.perf_counter() - t0, "peak_rss_mb": _peak_mb()}
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)


def _run_worker(kind: str, work: Path) -> dict[str, Any]:
    # polars writes its allocator defaults into the environment when it is imported (this
    # process imported it to write the export): a worker starts from the environment a shell
    # would give it
    from cart_registry.runtime import POLARS_MALLOC_ENV

    env = {k: v for k, v in os.environ.items() if k != POLARS_MALLOC_ENV}
    if POLARS_MALLOC_ENV in ORIGINAL_ENV:
        env[POLARS_MALLOC_ENV] = ORIGINAL_ENV[POLARS_MALLOC_ENV]
    proc = subprocess.run([sys.executable, __file__, "--worker", kind, "--workdir", str(work)],
                          capture_output=True, text=True, check=False, env=env)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{kind} worker failed: {proc.stderr.strip()[-800:]}")
    out: dict[str, Any] = json.loads(lines[-1])
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows in the generated export")
    ap.add_argument("--runs", type=int, default=5, help="repetitions (median is reported)")
    ap.add_argument("--no-pandas", action="store_true", help="skip the naive pandas pipeline")
    ap.add_argument("--workdir", type=Path, default=None, help="scratch folder (default: temp)")
    ap.add_argument("--worker", choices=["ours", "floor", "pandas"], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:  # one measurement in this fresh process; --workdir is the parent's folder
        print(json.dumps(_worker(args.worker, args.workdir)))
        return {}

    work = Path(tempfile.mkdtemp(prefix="bench-ingest-", dir=args.workdir))
    try:
        csv_path = write_export(work / "export", args.rows)
        write_export(work / "warmup", WARMUP_ROWS)
        make_project(work / "project")
        ours: list[dict[str, Any]] = []
        floor: list[dict[str, Any]] = []
        naive: list[dict[str, Any]] = []
        for _ in range(args.runs):
            floor.append(_run_worker("floor", work))
            ours.append(_run_worker("ours", work))
            if not args.no_pandas:
                naive.append(_run_worker("pandas", work))
        if ours[0]["rows_read"] != args.rows:
            raise RuntimeError(f"ingest read {ours[0]['rows_read']} rows, not {args.rows}")
        secs = [r["seconds"] for r in ours]
        ratios = [o["seconds"] / f["seconds"] for o, f in zip(ours, floor, strict=True)]
        out: dict[str, Any] = {
            "stage": "ingest_csv",
            "rows": args.rows,
            "csv_mb": round(csv_path.stat().st_size / 1e6, 1),
            "seconds": round(statistics.median(secs), 3),
            "floor": "DuckDB COPY read_csv -> Parquet (zstd)",
            "floor_seconds": round(statistics.median(r["seconds"] for r in floor), 3),
            "ratio": round(statistics.median(ratios), 3),
            "ratios": [round(r, 3) for r in ratios],
            "target_ratio_max": 2.0,
            "met": statistics.median(ratios) <= 2.0,
            "peak_rss_mb": round(max(r["peak_rss_mb"] for r in ours), 1),
            "floor_peak_rss_mb": round(max(r["peak_rss_mb"] for r in floor), 1),
            "fresh_process_per_run": True,
            "runs": args.runs,
            "rows_per_second": round(args.rows / statistics.median(secs)),
            "polars_allocator": ours[0]["polars_allocator"],
        }
        if naive:
            out["pandas_pandera_seconds"] = round(statistics.median(r["seconds"] for r in naive), 3)
            out["ratio_vs_pandas"] = round(statistics.median(
                [o["seconds"] / n["seconds"] for o, n in zip(ours, naive, strict=True)]), 3)
        print(json.dumps(out))
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
