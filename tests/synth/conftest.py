"""Fixtures of the synthetic-registry tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from cart_registry.synth.api import SynthResult, synthesize
from cart_registry.synth.truth import Truth, generate_truth

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_exports"
CATALOG = REPO / "mappings" / "constructs.yaml"
COMMITTED_SEED = 0


@pytest.fixture(scope="session")
def truth0() -> Truth:
    return generate_truth("abstract", COMMITTED_SEED)


@pytest.fixture(scope="session")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SynthResult]:
    out = tmp_path_factory.mktemp("regen") / "sample_exports"
    return out, synthesize(out, preset="abstract", seed=COMMITTED_SEED, defects=True)
