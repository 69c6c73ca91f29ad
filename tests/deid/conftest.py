"""Session fixtures: the three sample sites ingested plain, shifted and intervals-only."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cart_registry.project import Project
from tests.deid.support import EXPORT_OF, RECEIVED, SITES, make_project, site_key


@dataclass
class Pipeline:
    project: Project
    root: Path
    outs: dict[str, Path] = field(default_factory=dict)
    crosswalks: dict[str, Path] = field(default_factory=dict)
    deid: dict[str, Any] = field(default_factory=dict)
    ingest: dict[str, Any] = field(default_factory=dict)


def _ingest_and_load(p: Pipeline, exports: dict[str, Path]) -> None:
    from cart_registry.ingest import ingest_submission
    from cart_registry.warehouse.loading import load_sites

    for site in SITES:
        p.ingest[site] = ingest_submission(p.project, exports[site], site, received_at=RECEIVED)
    load_sites(p.project, force=True, reason="deid test: validation is tested elsewhere")


def _deidentified(root: Path, policy: str) -> Pipeline:
    from cart_registry.deid.api import deidentify_export

    p = Pipeline(make_project(root, policy=policy), root)
    for site in SITES:
        p.outs[site] = root / "outbox" / site
        p.crosswalks[site] = root / "site-secure" / f"{site}-crosswalk.csv"
        p.deid[site] = deidentify_export(p.project, EXPORT_OF[site], site, p.outs[site],
                                         site_key(), crosswalk=p.crosswalks[site])
    _ingest_and_load(p, p.outs)
    return p


@pytest.fixture(scope="session")
def original(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    root = tmp_path_factory.mktemp("plain")
    p = Pipeline(make_project(root, policy="none"), root)
    _ingest_and_load(p, dict(EXPORT_OF))
    return p


@pytest.fixture(scope="session")
def shifted(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    return _deidentified(tmp_path_factory.mktemp("shift"), "per_patient_shift")


@pytest.fixture(scope="session")
def intervals(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    return _deidentified(tmp_path_factory.mktemp("intervals"), "intervals_only")
