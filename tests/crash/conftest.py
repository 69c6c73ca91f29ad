"""A registry with site_edc's old submission loaded and a new one ingested, built once and
copied for each test (each test may kill, lock or load it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cart_registry.project import Project
from tests.crash.support import Registry, build


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    return build(tmp_path_factory.mktemp("crash-template"))


@pytest.fixture()
def registry(_template: Registry, tmp_path: Path) -> Registry:
    assert _template.baseline is not None
    shutil.copytree(_template.project.root, tmp_path / "project")
    shutil.copy(_template.baseline, tmp_path / "baseline.duckdb")
    shutil.copy(_template.baseline, tmp_path / "project" / "registry" / "registry.duckdb")
    return Registry(Project.find(tmp_path / "project"), _template.old, _template.new,
                    dict(_template.counts), tmp_path / "baseline.duckdb")
