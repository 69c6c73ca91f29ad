"""Fixtures shared by every layer's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
#: material prepared for the project beside the checkout; CI has it, a fresh clone may not
SHARED = REPO_ROOT.parent / "shared"


def copy_site_mapping(site: str, mappings: Path) -> None:
    """Copy the repository's mapping folder of ``site`` into ``mappings/``, with the folder
    its site.yaml ``extends`` (the sample FHIR site uses fhir_default)."""
    import shutil

    import yaml

    src = REPO_ROOT / "mappings" / site
    shutil.copytree(src, mappings / site)
    base = (yaml.safe_load((src / "site.yaml").read_text(encoding="utf-8")) or {}).get("extends")
    if base and not (mappings / base).exists():
        shutil.copytree(REPO_ROOT / "mappings" / base, mappings / base)


def shared_path(*parts: str) -> Path:
    """Path under ``../shared``; skips the calling test with a reason when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"../shared/{'/'.join(parts)} is not present beside this checkout")
    return path


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


def _hypothesis_profiles() -> None:
    import os

    from hypothesis import settings

    # CI runs a fixed set of examples so a red build is reproducible; local runs explore.
    settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
    settings.register_profile("dev", deadline=None)
    settings.load_profile("ci" if os.environ.get("CI") else "dev")


_hypothesis_profiles()
