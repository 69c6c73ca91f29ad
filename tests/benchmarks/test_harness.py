"""The benchmark driver runs a stage, parses its JSON line and tabulates it (no timing)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _driver() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run_all", ROOT / "benchmarks" / "run_all.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["bench_run_all"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_every_stage_script_exists() -> None:
    drv = _driver()
    for _stage, script, _full, _quick in drv.STAGES:
        assert (ROOT / "benchmarks" / script).is_file(), script


def test_startup_stage_runs_and_is_tabulated() -> None:
    drv = _driver()
    result = drv.run_stage("bench_startup.py", ["--runs", "1"], timeout=120)
    assert "error" not in result, result
    assert result["floor_seconds"] > 0 and result["seconds"] > 0
    table = drv.table_markdown(
        {"startup": result, "missing": {"error": "x.py not present"}},
        {"date": "2026-01-01", "machine": drv.machine(), "quick": True},
    )
    assert "| startup |" in table and "not measured: x.py not present" in table


def test_a_missed_target_is_shown_as_missed() -> None:
    drv = _driver()
    row = drv.normalise("ingest_csv", {"seconds": 3.0, "floor": "duckdb", "ratio": 2.9,
                                       "target_ratio_max": 2.0, "met": False,
                                       "peak_rss_mb": 2500.0})
    assert row["met"] is False and row["memory_ok"] is False
    table = drv.table_markdown({"ingest_csv": {"seconds": 3.0, "ratio": 2.9, "met": False,
                                               "target_ratio_max": 2.0}},
                               {"date": "d", "machine": drv.machine(), "quick": True})
    assert "**no**" in table


def test_a_failing_script_is_reported_not_raised(tmp_path: Path) -> None:
    drv = _driver()
    assert drv.run_stage("no_such_bench.py", [], timeout=5)["error"].endswith("not present")


@pytest.mark.parametrize("doc", ["docs/benchmarks.md"])
def test_doc_has_the_table_markers(doc: str) -> None:
    text = (ROOT / doc).read_text(encoding="utf-8")
    assert "<!-- bench-table:start -->" in text and "<!-- bench-table:end -->" in text
