"""Fixtures of the FHIR tests: a freshly rendered FHIR site and a scratch project."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, copy_site_mapping


@pytest.fixture(scope="session")
def site_fhir_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic FHIR site rendered from the generator's truth (bundles/ and bulk/)."""
    from cart_registry.synth.render import render_site
    from cart_registry.synth.truth import generate_truth

    out = tmp_path_factory.mktemp("site_fhir")
    for rel, f in render_site(generate_truth("abstract", 0), "site_fhir").items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f.to_bytes())
    return out


def make_project(root: Path, sites: tuple[str, ...] = ("site_fhir",)) -> Path:
    """A project folder with the repository's settings, catalog and the given site mappings."""
    maps = root / "mappings"
    maps.mkdir(parents=True)
    for name in ("registry.yaml", "constructs.yaml"):
        shutil.copy(REPO_ROOT / "mappings" / name, maps / name)
    for site in sites:
        copy_site_mapping(site, maps)
    return root


@pytest.fixture()
def fhir_project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "project")
