"""The scale preset streams: bytes do not depend on chunking; the benchmark runs."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import pytest

from cart_registry.synth.scale import write_scale

REPO = Path(__file__).resolve().parents[2]


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_chunking_does_not_change_the_bytes(tmp_path: Path) -> None:
    a = write_scale(tmp_path / "a", 5, patients=90, chunk=90, workers=1)
    b = write_scale(tmp_path / "b", 5, patients=90, chunk=17, workers=1)
    assert a["fhir_resources"] == b["fhir_resources"] > 90 * 27 * 0.5
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")
    bulk = (tmp_path / "a" / "site_fhir" / "bulk" / "Observation.ndjson").read_text()
    assert all(json.loads(line)["resourceType"] == "Observation" for line in bulk.splitlines())


def test_benchmark_smoke(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
                         ) -> None:
    monkeypatch.setattr(sys, "argv", ["bench_synth_scale.py", "--patients", "60",
                                      "--workers", "1", "--chunk", "30"])
    with pytest.raises(SystemExit) as exc:
        runpy.run_path(str(REPO / "benchmarks" / "bench_synth_scale.py"), run_name="__main__")
    assert exc.value.code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["patients"] == 60 and out["fhir_resources"] > 0 and out["wall_s"] > 0
