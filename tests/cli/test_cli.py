"""CLI wiring: version, help, exit codes, start-up imports."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from cart_registry import __version__
from cart_registry.cli.main import COMMANDS, cli


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_every_listed_command_has_help_with_an_example() -> None:
    runner = CliRunner()
    top = runner.invoke(cli, ["-h"])
    assert top.exit_code == 0
    listed = cli.list_commands(None)  # type: ignore[arg-type]
    assert "schema" in listed
    for name in listed:
        assert name in COMMANDS
        res = runner.invoke(cli, [name, "--help"])
        assert res.exit_code == 0, (name, res.output)
        assert "Example" in res.output, name


def test_unknown_table_is_one_line_and_exit_2() -> None:
    res = CliRunner().invoke(cli, ["schema", "--table", "patinet"])
    assert res.exit_code == 2
    assert "did you mean 'patient'" in res.output
    assert "Traceback" not in res.output


def test_usage_error_exit_2() -> None:
    res = CliRunner().invoke(cli, ["no-such-command"])
    assert res.exit_code == 2


def test_help_imports_no_heavy_module() -> None:
    code = (
        "import sys\n"
        "from cart_registry.cli.main import cli\n"
        "try:\n    cli(['--help'], prog_name='cart-registry')\n"
        "except SystemExit:\n    pass\n"
        "import json\n"
        "heavy = ['duckdb','pyarrow','polars','pandas','pandera','lifelines','matplotlib',"
        "'fhir','scipy','numpy','pydantic']\n"
        "print(json.dumps(sorted(m for m in heavy if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_python_dash_m() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "cart_registry", "--version"], capture_output=True, text=True
    )
    assert out.returncode == 0 and __version__ in out.stdout
