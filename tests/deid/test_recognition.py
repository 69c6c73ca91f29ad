"""Ingest recognises a de-identified export by its deid-manifest.json and checks it against
the site's date_shift_policy; a file edited after de-identification is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cart_registry.canonical.store import list_submissions
from cart_registry.deid.api import deidentify_export
from cart_registry.errors import ConfigError, InputError
from cart_registry.ingest import ingest_submission
from cart_registry.project import Project
from tests.deid.support import RECEIVED, TINY_SITE, site_key, tiny_site


def _deid(tmp_path: Path) -> tuple[Project, Path]:
    project, export = tiny_site(tmp_path)
    out = tmp_path / "out"
    deidentify_export(project, export, "site_tiny", out, site_key())
    return project, out


def _site_yaml(project: Project, text: str) -> None:
    (project.site_mapping_dir("site_tiny") / "site.yaml").write_text(text)


def test_recognised_and_recorded(tmp_path: Path) -> None:
    project, out = _deid(tmp_path)
    res = ingest_submission(project, out, "site_tiny", received_at=RECEIVED)
    manifest = json.loads(Path(res.manifest_path).read_text())
    assert manifest["deidentified"]["mode"] == "shift"
    assert manifest["deidentified"]["key_version"] == "2024-test"
    # the manifest is not data: no source file is called deid-manifest.json
    assert all(f["path"] != "deid-manifest.json" for f in manifest["source_files"])


@pytest.mark.parametrize("case", ["plain_but_site_shifts", "deid_but_site_says_none",
                                  "mode_differs", "key_version_differs", "other_site"])
def test_policy_and_manifest_must_agree(tmp_path: Path, case: str) -> None:
    project, out = _deid(tmp_path)
    if case == "plain_but_site_shifts":
        export = tmp_path / "export"
        with pytest.raises(ConfigError, match="has no deid-manifest.json"):
            ingest_submission(project, export, "site_tiny")
        return
    text = {
        "deid_but_site_says_none": TINY_SITE.replace("per_patient_shift", "none"),
        "mode_differs": TINY_SITE.replace("per_patient_shift", "intervals_only"),
        "key_version_differs": TINY_SITE.replace('"2024-test"', '"2025-1"'),
        "other_site": TINY_SITE,
    }[case]
    _site_yaml(project, text)
    if case == "other_site":
        body = json.loads((out / "deid-manifest.json").read_text())
        body["site_id"] = "site_edc"
        (out / "deid-manifest.json").write_text(json.dumps(body))
    with pytest.raises(ConfigError):
        ingest_submission(project, out, "site_tiny")
    assert list_submissions(project) == []


@pytest.mark.parametrize("case", ["edited", "traversal", "absolute", "not_json", "not_ours",
                                  "missing_file", "huge"])
def test_a_tampered_export_is_refused(tmp_path: Path, case: str) -> None:
    project, out = _deid(tmp_path)
    mpath = out / "deid-manifest.json"
    body = json.loads(mpath.read_text())
    if case == "edited":
        with (out / "patients.csv").open("a") as fh:
            fh.write("P99,F,01/01/2000,\n")
    elif case in ("traversal", "absolute"):
        body["files"].append({"path": "../../etc/passwd" if case == "traversal" else
                              "/etc/passwd", "sha256": "0" * 64})
        mpath.write_text(json.dumps(body))
    elif case == "not_json":
        mpath.write_bytes(b"{\x00not json")
    elif case == "not_ours":
        mpath.write_text(json.dumps({"format": "something/else"}))
    elif case == "missing_file":
        (out / "followup.csv").unlink()
    elif case == "huge":
        mpath.write_bytes(b" " * (17 << 20))
    with pytest.raises(InputError):
        ingest_submission(project, out, "site_tiny")
    assert list_submissions(project) == []
