"""Run every stage benchmark, each against a floor measured in the same run.

Each ``bench_*.py`` script measures one stage and its floor(s) side by side and prints one
JSON line with its figures (median of at least three runs, ratio to the floor, target, peak
resident memory). This driver runs them as separate processes (so peak memory is per stage),
collects the lines, writes ``benchmarks/results/<date>-<machine>.json`` and rewrites the
table in ``docs/benchmarks.md``. A stage that misses its target is reported as missing it.

    python benchmarks/run_all.py            # full sizes (about 20-30 minutes on 2 cores)
    python benchmarks/run_all.py --quick    # small sizes, a minute or two
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

#: stage -> (script, full-size args, quick args)
STAGES: list[tuple[str, str, list[str], list[str]]] = [
    ("startup", "bench_startup.py", ["--runs", "9"], ["--runs", "3"]),
    ("km", "bench_km.py", ["--n", "1000000"], ["--n", "20000"]),
    ("synth_scale", "bench_synth_scale.py", ["--patients", "100000"], ["--patients", "2000"]),
    ("ingest_csv", "bench_ingest_csv.py", ["--rows", "1000000"], ["--rows", "20000"]),
    ("fhir_ingest", "bench_fhir_ingest.py", ["--resources", "1000000"], ["--resources", "20000"]),
    ("validate", "bench_validate.py", ["--patients", "100000"], ["--patients", "2000"]),
    ("views", "bench_views.py", ["--patients", "100000"], ["--patients", "2000"]),
]

START = "<!-- bench-table:start -->"
END = "<!-- bench-table:end -->"


def machine() -> dict[str, Any]:
    mem_gb = None
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            kb = int(fh.readline().split()[1])
            mem_gb = round(kb / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "hostname": platform.node(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "memory_gb": mem_gb,
        "python": platform.python_version(),
    }


def run_stage(script: str, args: list[str], timeout: int) -> dict[str, Any]:
    path = HERE / script
    if not path.is_file():
        return {"error": f"{script} not present"}
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, str(path), *args], capture_output=True, text=True, timeout=timeout,
            cwd=ROOT,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    parsed = []
    for ln in proc.stdout.splitlines():
        if ln.startswith("{"):
            try:
                parsed.append(json.loads(ln))
            except json.JSONDecodeError:
                continue
    if proc.returncode != 0 or not parsed:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"error": f"exit {proc.returncode}: {' | '.join(tail)}"}
    result: dict[str, Any] = parsed[-1]
    result["wall_seconds"] = round(time.perf_counter() - t0, 1)
    return result


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


GB2 = 2048.0


def normalise(stage: str, r: dict[str, Any]) -> dict[str, Any]:
    """One table row from a stage's own JSON (the scripts name their figures differently)."""
    if "error" in r:
        return {"stage": stage, "error": r["error"]}
    row: dict[str, Any] = {"stage": stage, "peak": r.get("peak_rss_mb")}
    if stage == "km":
        worst = max(r["integer_days"]["ratio"], r["continuous"]["ratio"])
        row.update(
            figure=f"{r['continuous']['ours_s']:.3f} s continuous, "
            f"{r['integer_days']['ours_s']:.3f} s integer days (n={r['n']:,})",
            floor="numpy KM", ratio=worst, target="≤ 2x", met=worst <= 2.0,
        )
    elif stage == "synth_scale":
        row.update(
            figure=f"{r['wall_s']} s for {r['patients']:,} patients, "
            f"{r['fhir_resources']:,} FHIR resources",
            floor="", ratio=None, target="minutes, flat memory",
            met=r["wall_s"] < 1800,
            peak=max(r.get("peak_rss_main_mb") or 0, r.get("peak_rss_worker_mb") or 0),
        )
    elif stage == "fhir_ingest":
        row.update(
            figure=str(r.get("figure") or f"{r.get('resources_per_s', '')} resources/s"),
            floor="DuckDB read_ndjson (typed)", ratio=r.get("ratio"),
            target=f"≥ {r.get('target_ratio_min')}x; ≥ {r.get('target_speedup_vs_r4b')}x "
            f"fhir.resources (got {r.get('speedup_vs_r4b')}x)",
            met=r.get("met"),
        )
    else:
        ratio = r.get("ratio")
        target = r.get("target") or (
            f"≤ {r['target_ratio_max']}x" if "target_ratio_max" in r else (
                f"≥ {r['target_ratio_min']}x" if "target_ratio_min" in r else "reported"))
        row.update(
            figure=r.get("figure") or (f"{_fmt(r.get('seconds'))} s" if "seconds" in r else ""),
            floor=r.get("floor", ""), ratio=ratio, target=target, met=r.get("met"),
        )
    peak = row.get("peak")
    row["memory_ok"] = None if peak is None else float(peak) < GB2
    return row


def table_markdown(results: dict[str, dict[str, Any]], meta: dict[str, Any]) -> str:
    rows = [
        f"Measured {meta['date']} on {meta['machine']['cpus']} CPUs, "
        f"{meta['machine']['memory_gb']} GB, {meta['machine']['platform']}, Python "
        f"{meta['machine']['python']} ({'quick sizes' if meta['quick'] else 'full sizes'}).",
        "",
        "| stage | figure | floor | ratio | target | met | peak RSS (MB) | < 2 GB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for stage, r in results.items():
        n = normalise(stage, r)
        if "error" in n:
            rows.append(f"| {stage} | not measured: {n['error']} | | | | | | |")
            continue
        met = n.get("met")
        rows.append(
            "| " + " | ".join([
                stage, str(n["figure"]), str(n["floor"]), _fmt(n["ratio"]), str(n["target"]),
                "yes" if met else ("**no**" if met is False else ""),
                _fmt(n["peak"]),
                "" if n["memory_ok"] is None else ("yes" if n["memory_ok"] else "**no**"),
            ]) + " |"
        )
    return "\n".join(rows)


def update_doc(doc: Path, table: str) -> None:
    text = doc.read_text(encoding="utf-8") if doc.is_file() else f"# Benchmarks\n\n{START}\n{END}\n"
    if START not in text:
        text += f"\n{START}\n{END}\n"
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    doc.write_text(f"{head}{START}\n{table}\n{END}{tail}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    ap.add_argument("--only", action="append", default=[], help="run only these stages")
    ap.add_argument("--timeout", type=int, default=900, help="seconds per stage")
    ap.add_argument("--no-doc", action="store_true", help="do not rewrite docs/benchmarks.md")
    args = ap.parse_args(argv)

    results: dict[str, dict[str, Any]] = {}
    for stage, script, full, quick in STAGES:
        if args.only and stage not in args.only:
            continue
        print(f"[bench] {stage} ...", file=sys.stderr, flush=True)
        results[stage] = run_stage(script, quick if args.quick else full, args.timeout)
        print(f"[bench] {stage}: {json.dumps(results[stage])}", file=sys.stderr, flush=True)

    meta = {"date": dt.date.today().isoformat(), "machine": machine(), "quick": args.quick}
    out = HERE / "results" / f"{meta['date']}-{meta['machine']['hostname'] or 'machine'}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.only and out.is_file():
        # a partial run updates the stages it ran and keeps the others of the same day
        earlier = json.loads(out.read_text(encoding="utf-8"))
        if earlier.get("meta", {}).get("quick") == args.quick:
            merged = dict(earlier.get("results", {}))
            merged.update(results)
            results = {stage: merged[stage] for stage, *_ in STAGES if stage in merged}
    out.write_text(json.dumps({"meta": meta, "results": results}, indent=2), encoding="utf-8")
    if not args.no_doc:
        update_doc(ROOT / "docs" / "benchmarks.md", table_markdown(results, meta))
    print(table_markdown(results, meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())
