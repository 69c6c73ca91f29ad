"""Benchmark the scale preset: generation time and peak memory.

    python benchmarks/bench_synth_scale.py                  # 1e5 patients, ~1e7 FHIR resources
    python benchmarks/bench_synth_scale.py --patients 2000  # quick smoke run

Prints one JSON object: wall and CPU seconds, peak RSS of this process and of its worker
processes (ru_maxrss), bytes written, FHIR resources, and throughput. The output folder is a
temporary one, removed afterwards unless ``--out`` is given.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path


def _rss_mb(who: int) -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS
    scale = 1 / 1024 / 1024 if sys.platform == "darwin" else 1 / 1024
    return round(resource.getrusage(who).ru_maxrss * scale, 1)


def run(patients: int, out: Path | None, workers: int | None, chunk: int) -> dict[str, object]:
    from cart_registry.synth.scale import write_scale

    tmp = None
    if out is None:
        tmp = Path(tempfile.mkdtemp(prefix="bench-synth-"))
        out = tmp / "scale"
    rss_before = _rss_mb(resource.RUSAGE_SELF)
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        counts = write_scale(out, 0, patients=patients, workers=workers, chunk=chunk)
        wall = time.perf_counter() - t0
        cpu_self = time.process_time() - c0
        ch = resource.getrusage(resource.RUSAGE_CHILDREN)
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    res = int(counts["fhir_resources"])  # type: ignore[call-overload]
    return {
        "patients": patients, "workers": counts["workers"], "chunk": chunk,
        "wall_s": round(wall, 2), "cpu_main_s": round(cpu_self, 2),
        "cpu_workers_s": round(ch.ru_utime + ch.ru_stime, 2),
        "peak_rss_main_mb": _rss_mb(resource.RUSAGE_SELF), "rss_main_before_mb": rss_before,
        "peak_rss_worker_mb": _rss_mb(resource.RUSAGE_CHILDREN),
        "bytes_written": size, "fhir_resources": res,
        "fhir_resources_per_s": round(res / wall) if wall else None,
        "patients_per_s": round(patients / wall, 1) if wall else None,
        "csv_rows": counts["csv_rows"], "site_patients": counts["patients"],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=100_000)
    ap.add_argument("--out", type=Path, default=None, help="keep the output here")
    ap.add_argument("--workers", type=int, default=None, help="default: min(2, CPUs)")
    ap.add_argument("--chunk", type=int, default=500, help="patients per chunk")
    args = ap.parse_args(argv)
    print(json.dumps(run(args.patients, args.out, args.workers, args.chunk)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
