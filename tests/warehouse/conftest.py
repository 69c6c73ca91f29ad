"""Registries shared by the warehouse tests (built once per session)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cart_registry.project import Project
from cart_registry.warehouse.loading import load_sites
from tests.warehouse.support import DEFAULT_CONSTRUCTS, new_project, write_submission

CONSTRUCT_DEFAULTS = {"product_type": "investigational", "target_design": "single",
                      "costim_domain": "4-1BB", "binder_origin": "murine",
                      "vector": "lentiviral"}


def constructs() -> list[dict[str, Any]]:
    return [{**CONSTRUCT_DEFAULTS, "construct_name": c["construct_id"], **c}
            for c in DEFAULT_CONSTRUCTS]


@pytest.fixture(scope="session")
def small_registry(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """Three cohort patients at one site (the settings-change cohort), loaded."""
    from tests.warehouse.test_settings_change import COHORT

    project = new_project(Path(tmp_path_factory.mktemp("small")))
    tables: dict[str, Any] = {k: list(v) for k, v in COHORT.items()}
    tables["car_construct"] = constructs()
    write_submission(project, "s1", "s1-001", tables)
    results, refused = load_sites(project)
    assert not refused and results[0].status == "loaded"
    return project


@pytest.fixture(scope="session")
def truth_registry(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The synthetic 'abstract' registry (cart_registry.synth), one submission per site."""
    try:
        from cart_registry.synth.truth import generate_truth  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the synth package
        pytest.skip(f"cart_registry.synth.truth is not available ({exc})")
    from tests.warehouse.support import truth_project

    project = truth_project(Path(tmp_path_factory.mktemp("truth")))
    _, refused = load_sites(project)
    assert not refused
    return project
