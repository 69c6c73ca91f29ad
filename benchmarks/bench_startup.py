"""Start-up time of ``cart-registry --help`` against ``python -c "import click"``.

Both are run as fresh processes in the same session; the figure is the ratio of medians
(target: at most 1.5x). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time


def _time(cmd: list[str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> dict[str, object]:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args(argv)
    floor = _time([sys.executable, "-c", "import click"], args.runs)
    ours = _time([sys.executable, "-m", "cart_registry", "--help"], args.runs)
    result: dict[str, object] = {
        "stage": "startup",
        "seconds": round(ours, 4),
        "floor": "python -c 'import click'",
        "floor_seconds": round(floor, 4),
        "ratio": round(ours / floor, 3),
        "target_ratio_max": 1.5,
        "met": ours / floor <= 1.5,
        "runs": args.runs,
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
