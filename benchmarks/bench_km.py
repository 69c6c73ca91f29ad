"""Benchmark: ``cart_registry.stats`` Kaplan-Meier (+ median with CI) against minimal numpy.

The baseline is the smallest honest numpy KM (``np.unique`` + ``bincount`` + ``cumprod``,
Greenwood log-log band, first-crossing median) written below, run in the same process on the
same data. Our fit does more (three CI types' machinery, R's quantile rules, counts kept
per time), so the ratio says what that costs. Target: at most 2x numpy.

    python benchmarks/bench_km.py --n 1000000
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from statistics import median
from typing import Any

import numpy as np

from cart_registry.stats import kaplan_meier, km_median

Z95 = 1.959963984540054


def numpy_km(t: np.ndarray[Any, Any], e: np.ndarray[Any, Any]) -> tuple[float, float, float]:
    """Minimal numpy KM with log-log band; median and CI = first time each reaches 0.5."""
    times, inv, counts = np.unique(t, return_inverse=True, return_counts=True)
    deaths = np.bincount(inv, weights=e, minlength=times.size)
    n_risk = t.size - np.cumsum(counts) + counts
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.cumprod(1.0 - deaths / n_risk)
        gw = np.cumsum(deaths / (n_risk * (n_risk - deaths)))
        theta = Z95 * np.sqrt(gw) / np.log(s)
        loglog = np.log(-np.log(s))
        lower = np.exp(-np.exp(loglog - theta))
        upper = np.exp(-np.exp(loglog + theta))

    def first_below(curve: np.ndarray[Any, Any]) -> float:
        hit = np.flatnonzero(curve <= 0.5)
        return float(times[hit[0]]) if hit.size else float("nan")

    return first_below(s), first_below(lower), first_below(upper)


def ours(t: np.ndarray[Any, Any], e: np.ndarray[Any, Any]) -> tuple[Any, Any, Any]:
    med = km_median(kaplan_meier(t, e))
    return med.estimate, med.lower, med.upper


def make_data(n: int, kind: str, seed: int = 20230901) -> tuple[np.ndarray[Any, Any], ...]:
    rng = np.random.default_rng(seed)
    event_t = rng.exponential(420.0, n)
    censor_t = rng.uniform(30.0, 1800.0, n)
    t = np.minimum(event_t, censor_t)
    e = event_t <= censor_t
    if kind == "integer_days":
        t = np.ceil(t).astype(np.int64)
    return t, e


def time_it(fn: Callable[[], object], repeats: int) -> float:
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return median(runs)


def peak_rss_mb() -> float:
    # ru_maxrss is KiB on Linux (bytes on macOS)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=1_000_000, help="subjects (default 1e6)")
    parser.add_argument("--repeats", type=int, default=5, help="runs per case, >= 3")
    args = parser.parse_args(argv)
    if args.repeats < 3:
        parser.error("--repeats must be at least 3")

    results: dict[str, Any] = {"benchmark": "km_median", "n": args.n, "repeats": args.repeats}
    for kind in ("integer_days", "continuous"):
        t, e = make_data(args.n, kind)
        ours(t, e), numpy_km(t, e)  # warm-up (page faults, caches)
        t_ours = time_it(partial(ours, t, e), args.repeats)
        t_np = time_it(partial(numpy_km, t, e), args.repeats)
        results[kind] = {
            "ours_s": round(t_ours, 5),
            "numpy_s": round(t_np, 5),
            "ratio": round(t_ours / t_np, 3),
            "median_ours": ours(t, e),
            "median_numpy": numpy_km(t, e),
        }
        print(
            f"{kind:>13}: ours {t_ours * 1e3:8.1f} ms   numpy {t_np * 1e3:8.1f} ms   "
            f"ratio {t_ours / t_np:5.2f}x   median {results[kind]['median_ours']}"
        )
    results["peak_rss_mb"] = round(peak_rss_mb(), 1)
    print(f"peak RSS {results['peak_rss_mb']} MB")
    print(json.dumps(results, default=float))
    return results


if __name__ == "__main__":
    main()
