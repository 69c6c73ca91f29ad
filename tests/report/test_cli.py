"""``cart-registry report``: help, a missing registry, and a report from a registry file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from cart_registry.cli.main import cli
from tests.report._truthdb import truth_registry_file


def test_help_ends_with_an_example() -> None:
    res = CliRunner().invoke(cli, ["report", "--help"])
    assert res.exit_code == 0
    assert "Example:" in res.output and "cart-registry report --out" in res.output


def test_no_registry_is_one_line_and_exit_2(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["--project-dir", str(tmp_path), "report"])
    assert res.exit_code == 2
    assert "no registry" in res.output and "Traceback" not in res.output


def test_bad_as_of_is_refused(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["--project-dir", str(tmp_path), "report", "--as-of", "soon"])
    assert res.exit_code == 2 and "ISO" in res.output


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> Path:
    root = tmp_path_factory.mktemp("project")
    (root / "mappings").mkdir()
    shutil.copy(repo_root / "mappings" / "registry.yaml", root / "mappings" / "registry.yaml")
    truth_registry_file(root / "registry" / "registry.duckdb")
    return root


def test_report_json_output(project: Path) -> None:
    # one run: default folder (registry/reports), an explicit stamp, JSON on stdout
    out = project / "registry" / "reports"
    res = CliRunner().invoke(
        cli, ["--project-dir", str(project), "report", "--as-of", "2023-07-15", "--json"],
    )
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert payload["as_of"] == "2023-07-15" and payload["data_cutoff"] == "2023-06-30"
    names = {Path(p).name for p in payload["files"]}
    assert {"endpoints.html", "endpoints.md", "endpoints.json", "endpoints_os_b.svg"} <= names
    doc = json.loads((out / "endpoints.json").read_text(encoding="utf-8"))
    assert doc["meta"]["registry"] == "cart_registry sample registry"
    assert doc["meta"]["source"] == "registry/registry.duckdb"
    assert f"{doc['abstract'][0]['n']}" == "135"
