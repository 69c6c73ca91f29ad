"""``cart-registry synth`` wiring."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from cart_registry.cli.main import cli


def test_help_has_an_example() -> None:
    res = CliRunner().invoke(cli, ["synth", "--help"])
    assert res.exit_code == 0
    assert "Example:" in res.output and "--preset" in res.output


def test_json_result(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["synth", "--seed", "4", "--out", str(tmp_path / "o"),
                                   "--json"])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.output)
    assert payload["counts"]["included"] == 61
    assert payload["n_files"] == len(payload["files"]) > 30
    assert (tmp_path / "o" / "site_fhir" / "bulk" / "manifest.json").is_file()


def test_foreign_folder_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    res = CliRunner().invoke(cli, ["synth", "--out", str(tmp_path)])
    assert res.exit_code == 2
    assert res.output.startswith("error:") and "Traceback" not in res.output


def test_scale_preset_small(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["synth", "--preset", "scale", "--patients", "40", "--out",
                                   str(tmp_path / "s"), "--json"])
    assert res.exit_code == 0, res.output
    counts = json.loads(res.output)["counts"]
    assert sum(counts["patients"].values()) == 40
