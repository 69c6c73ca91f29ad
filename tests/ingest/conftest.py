"""Fixtures of the ingest tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from cart_registry.project import Project
from tests.mapping.helpers import make_project


@pytest.fixture()
def project(tmp_path: Path) -> Project:
    return make_project(tmp_path)

