"""Ingest of a generated CSV export against DuckDB's CSV -> Parquet copy of the same file.

The benchmark writes a wide ``;``-delimited export of N disease assessments (the shape of
the sample EDC site: dd/mm/yyyy dates, local codes, O/N booleans, scientific-notation MRD)
and a site mapping for it, then measures, interleaved, median of ``--runs`` repetitions:

* ``ingest``: ``ingest_submission`` end to end (read as text, map, Pandera conformance,
  ledger, zstd Parquet, manifest);
* the floor: DuckDB ``COPY (SELECT * FROM read_csv(...)) TO '...parquet'`` of the same file
  (target: ingest <= 2x the floor);
* a naive pipeline: pandas ``read_csv`` + pandera (pandas backend) + ``to_parquet``.

Peak resident memory is the process high-water mark during the ingest runs (reset through
``/proc/self/clear_refs`` where the kernel allows it). Prints one JSON line.

    python benchmarks/bench_ingest_csv.py --rows 1000000
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(ROOT))

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


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


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


def _timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


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


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows in the generated export")
    ap.add_argument("--runs", type=int, default=3, help="repetitions (median is reported)")
    ap.add_argument("--no-pandas", action="store_true", help="skip the naive pandas pipeline")
    ap.add_argument("--workdir", type=Path, default=None, help="scratch folder (default: temp)")
    args = ap.parse_args(argv)

    from cart_registry.ingest import ingest_submission

    work = Path(tempfile.mkdtemp(prefix="bench-ingest-", dir=args.workdir))
    try:
        export = work / "export"
        csv_path = write_export(export, args.rows)
        project = make_project(work / "project")
        # warm-up: imports (pandera, polars, DuckDB) and the page cache, not measured
        duckdb_copy(csv_path, work / "warm.parquet")
        result = ingest_submission(project, export, SITE, received_at="2023-07-01T00:00:00Z")
        assert result.totals["rows_read"] == args.rows and result.ok

        ours: list[float] = []
        floor: list[float] = []
        naive: list[float] = []
        peak = 0.0
        reset_ok = False
        for rep in range(args.runs):
            copy_out, pd_out = work / f"copy{rep}.parquet", work / f"pd{rep}.parquet"
            floor.append(_timed(lambda: duckdb_copy(csv_path, copy_out)))  # noqa: B023
            reset_ok = _reset_peak()
            ours.append(_timed(lambda: ingest_submission(
                project, export, SITE, received_at="2023-07-01T00:00:00Z")))
            peak = max(peak, _peak_mb())
            if not args.no_pandas:
                naive.append(_timed(lambda: pandas_pipeline(csv_path, pd_out)))  # noqa: B023
        ratios = [o / f for o, f in zip(ours, floor, strict=True)]
        out: dict[str, Any] = {
            "stage": "ingest_csv",
            "rows": args.rows,
            "csv_mb": round(csv_path.stat().st_size / 1e6, 1),
            "seconds": round(statistics.median(ours), 3),
            "floor": "DuckDB COPY read_csv -> Parquet (zstd)",
            "floor_seconds": round(statistics.median(floor), 3),
            "ratio": round(statistics.median(ratios), 3),
            "target_ratio_max": 2.0,
            "met": statistics.median(ratios) <= 2.0,
            "peak_rss_mb": round(peak, 1),
            "peak_rss_reset": reset_ok,
            "runs": args.runs,
            "rows_per_second": round(args.rows / statistics.median(ours)),
        }
        if naive:
            out["pandas_pandera_seconds"] = round(statistics.median(naive), 3)
            out["ratio_vs_pandas"] = round(
                statistics.median([o / n for o, n in zip(ours, naive, strict=True)]), 3)
        print(json.dumps(out))
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
