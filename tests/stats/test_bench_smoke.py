"""The KM benchmark runs end to end on a small n (no timing assertions)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_km.py"


def test_bench_km_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_km", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.main(["--n", "1000", "--repeats", "3"])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(last) == json.loads(json.dumps(result, default=float))
    for kind in ("integer_days", "continuous"):
        row = result[kind]
        assert row["ratio"] > 0
        # both implementations agree on the median and its log-log CI
        assert row["median_ours"] == pytest.approx(row["median_numpy"], rel=1e-12)
    assert result["peak_rss_mb"] > 0
