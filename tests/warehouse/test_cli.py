"""``cart-registry load | sql | endpoints | export`` wiring, output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from cart_registry.cli.main import cli
from cart_registry.project import Project
from tests.warehouse.support import new_project, write_submission
from tests.warehouse.test_loading import _patients


def run(project: Project, *args: str) -> tuple[int, str]:
    res = CliRunner().invoke(cli, ["--project-dir", str(project.root), *args])
    return res.exit_code, res.output


def test_load_exit_codes_and_json(tmp_path: Path) -> None:
    project = new_project(tmp_path)
    write_submission(project, "site_a", "site_a-001", _patients("site_a", ["1"]))
    write_submission(project, "site_b", "site_b-001", _patients("site_b", ["1"]),
                     validation="fatal")
    code, out = run(project, "load", "--site", "site_b")
    assert code == 1 and "fatal finding" in out and "Traceback" not in out
    code, out = run(project, "load", "--site", "site_b", "--force")
    assert code == 2 and "--force needs --reason" in out
    code, out = run(project, "load", "--json")
    assert code == 1
    body = json.loads(out[: out.rindex("}") + 1])
    assert [r["site_id"] for r in body["results"]] == ["site_a"]
    assert "site_b" in body["refused"][0]
    code, out = run(project, "load", "--site", "site_a")
    assert code == 0 and "already current" in out
    code, out = run(project, "load", "--site", "site_b", "--force", "--reason", "PI waiver")
    assert code == 0 and "(forced)" in out


def test_sql_is_read_only(small_registry: Project) -> None:
    code, out = run(small_registry, "sql", 'SELECT n, "both", a_only FROM endpoints.cr_paired',
                    "--format", "csv")
    assert code == 0 and out.splitlines() == ["n,both,a_only", "3,1,1"]
    code, out = run(small_registry, "sql", "SELECT count(*) AS n FROM canonical.patient",
                    "--json")
    assert code == 0 and json.loads(out)["rows"] == [{"n": 3}]
    for stmt in ("DELETE FROM store.patient", "CREATE TABLE x AS SELECT 1",
                 "COPY (SELECT 1) TO 'x.csv'", "ATTACH 'y.duckdb' AS y"):
        code, out = run(small_registry, "sql", stmt)
        assert code == 2 and "read-only" in out and len(out.strip().splitlines()) == 1, stmt
    code, out = run(small_registry, "sql", "SELECT * FROM read_csv('/etc/passwd')")
    assert code == 2 and "file system operations are disabled" in out
    code, out = run(small_registry, "sql", "SELECT * FROM endpoints.nope")
    assert code == 2 and "does not exist" in out


def test_endpoints_table_and_json(small_registry: Project) -> None:
    code, out = run(small_registry, "endpoints", "--section", "abstract")
    assert code == 0 and "Screened" in out and "settings " in out
    code, out = run(small_registry, "endpoints", "--json")
    body = json.loads(out)
    assert code == 0
    assert body["settings"]["rfs_origin"] == "cr_date" and len(body["settings_hash"]) == 12
    items = {i["key"]: i for i in body["items"]}
    assert items["cohort"]["n"] == 3
    assert "endpoints.cr_paired" in body["views"]
    assert body["submissions"][0]["submission_id"] == "s1-001"


def test_export_writes_adam(small_registry: Project, tmp_path: Path) -> None:
    code, out = run(small_registry, "export", "--out", str(tmp_path / "x"), "--format", "csv",
                    "--no-canonical")
    assert code == 0, out
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == [
        "adsl.csv", "adtte.csv", "define.json"]
