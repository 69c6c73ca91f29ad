"""The FHIR benchmark runs end to end at a tiny size (no timing assertions)."""

from __future__ import annotations

import importlib.util
import json

import pytest

from tests.conftest import REPO_ROOT


def test_bench_fhir_ingest_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    path = REPO_ROOT / "benchmarks" / "bench_fhir_ingest.py"
    spec = importlib.util.spec_from_file_location("bench_fhir_ingest", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main(["--resources", "3000", "--runs", "1", "--sample", "200",
                     "--no-second-size"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["stage"] == "fhir_ingest" and out["resources"] > 2000
    assert out["details"][next(iter(out["details"]))]["ours"]["kept_rows"] > 0
    assert {"ratio", "speedup_vs_r4b", "peak_rss_mb_by_size"} <= set(out)
