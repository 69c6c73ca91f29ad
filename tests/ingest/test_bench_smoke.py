"""The ingest benchmark still runs (tiny size, no timing assertions)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from tests.mapping.helpers import REPO


def test_bench_ingest_csv_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_ingest_csv",
                                                  REPO / "benchmarks" / "bench_ingest_csv.py")
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    result = bench.main(["--rows", "500", "--runs", "1", "--workdir", str(tmp_path)])
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line == result
    for key in ("seconds", "floor_seconds", "ratio", "peak_rss_mb", "pandas_pandera_seconds",
                "ratio_vs_pandas"):
        assert key in result
    assert result["rows"] == 500 and result["stage"] == "ingest_csv"
    assert not any(tmp_path.iterdir())  # the scratch folder is removed
