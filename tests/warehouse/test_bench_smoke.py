"""The views benchmark runs end to end on a tiny registry (no timing assertions)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_views.py"


@pytest.mark.parametrize("data", ["numpy", "auto"])
def test_bench_views_smoke(data: str, capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_views", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.main(["--patients", "150", "--repeats", "3", "--data", data])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(last) == json.loads(json.dumps(result))
    assert result["ratio"] > 0 and result["peak_rss_mb"] > 0
    # the views and the hand-written floor query agree on the cohort
    assert result["cohort"] == result["floor_cohort"] > 0
