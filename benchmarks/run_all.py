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
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"error": f"exit {proc.returncode}: {' | '.join(tail)}"}
    result: dict[str, Any] = json.loads(lines[-1])
    result["wall_seconds"] = round(time.perf_counter() - t0, 1)
    return result


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def table_markdown(results: dict[str, dict[str, Any]], meta: dict[str, Any]) -> str:
    rows = [
        f"Measured {meta['date']} on {meta['machine']['cpus']} CPUs, "
        f"{meta['machine']['memory_gb']} GB, {meta['machine']['platform']}, Python "
        f"{meta['machine']['python']} ({'quick sizes' if meta['quick'] else 'full sizes'}).",
        "",
        "| stage | figure | floor | ratio | target | met | peak RSS (MB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for stage, r in results.items():
        if "error" in r:
            rows.append(f"| {stage} | not measured: {r['error']} | | | | | |")
            continue
        figure = r.get("figure") or (f"{_fmt(r.get('seconds'))} s" if "seconds" in r else "")
        target = r.get("target") or (
            f"≤ {r['target_ratio_max']}x" if "target_ratio_max" in r else (
                f"≥ {r['target_ratio_min']}x" if "target_ratio_min" in r else "")
        )
        met = r.get("met")
        rows.append(
            "| " + " | ".join([
                stage, str(figure), str(r.get("floor", "")), _fmt(r.get("ratio")), str(target),
                "yes" if met else ("**no**" if met is False else ""),
                _fmt(r.get("peak_rss_mb")),
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
    out.write_text(json.dumps({"meta": meta, "results": results}, indent=2), encoding="utf-8")
    if not args.no_doc:
        update_doc(ROOT / "docs" / "benchmarks.md", table_markdown(results, meta))
    print(table_markdown(results, meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())
