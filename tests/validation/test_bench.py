"""The validation benchmark runs end to end at a tiny size (no timing assertion)."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def test_bench_validate_smoke(repo_root: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "bench_validate", repo_root / "benchmarks" / "bench_validate.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    result = mod.main(["--patients", "60", "--sites", "2"])
    assert result["stage"] == "validate" and result["patients"] == 60
    assert result["rules"] > 100 and result["seconds"] > 0
    assert result["issues"] >= 0
