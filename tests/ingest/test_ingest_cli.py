"""`cart-registry ingest`: summary, JSON and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from cart_registry.cli.main import cli
from tests.mapping.helpers import TINY_DATA, tiny_project


def test_summary_and_json(tmp_path: Path) -> None:
    project, export = tiny_project(tmp_path)
    args = ["--project-dir", str(project.root), "ingest", str(export), "--site", "site_tiny",
            "--received-at", "2023-07-01T00:00:00Z"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "read 2 rows, mapped 2, quarantined 0, ignored 0" in res.output
    assert "patient" in res.output and "manifest:" in res.output
    res = CliRunner().invoke(cli, [*args, "--json"])
    out = json.loads(res.output)
    assert out["ok"] and out["tables"] == {"site": 1, "patient": 2}
    assert out["received_at"] == "2023-07-01T00:00:00Z" and out["issues"] == 0
    manifest = json.loads(Path(out["manifest_path"]).read_text())
    assert manifest["submission_id"] == out["submission_id"]


def test_strict_exits_1_when_rows_are_quarantined(tmp_path: Path) -> None:
    project, export = tiny_project(tmp_path, data=TINY_DATA + "P3,Q,01/01/2010,0\n")
    args = ["--project-dir", str(project.root), "ingest", str(export), "--site", "site_tiny"]
    assert CliRunner().invoke(cli, args).exit_code == 0
    assert CliRunner().invoke(cli, [*args, "--strict"]).exit_code == 1


def test_unknown_site_and_bad_received_at_are_usage_errors(tmp_path: Path) -> None:
    project, export = tiny_project(tmp_path)
    base = ["--project-dir", str(project.root), "ingest", str(export)]
    res = CliRunner().invoke(cli, [*base, "--site", "site_nope"])
    assert res.exit_code == 2 and "no mapping for site 'site_nope'" in res.output
    res = CliRunner().invoke(cli, [*base, "--site", "Bad-Site"])
    assert res.exit_code == 2 and "invalid site id" in res.output
    res = CliRunner().invoke(cli, [*base, "--site", "site_tiny", "--received-at", "yesterday"])
    assert res.exit_code == 2 and "not an ISO date-time" in res.output


def test_cli_modules_import_nothing_heavy() -> None:
    code = (
        "import sys\n"
        "import cart_registry.cli.cmd_ingest, cart_registry.cli.cmd_mapping\n"
        "heavy = ['duckdb','pyarrow','polars','pandas','pandera','pydantic','numpy']\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
