"""``cart-registry deidentify``: exit codes, JSON output, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from cart_registry.cli.main import cli
from cart_registry.deid.keys import ENV_SITE_KEY
from tests.deid.support import SECRET, tiny_site


def _invoke(project_root: Path, *args: str, key: bool = True) -> tuple[int, str]:
    env = {"CART_REGISTRY_PROJECT_DIR": str(project_root)}
    if key:
        env[ENV_SITE_KEY] = SECRET.decode()
    else:
        env[ENV_SITE_KEY] = ""
    res = CliRunner().invoke(cli, ["deidentify", *args], env=env)
    return res.exit_code, res.output


def test_ok_json_and_errors(tmp_path: Path) -> None:
    project, export = tiny_site(tmp_path)
    code, out = _invoke(project.root, str(export), "--site", "site_tiny", "--out",
                        str(tmp_path / "out"), "--crosswalk", str(tmp_path / "xw.csv"),
                        "--json")
    assert code == 0, out
    body = json.loads(out)
    assert body["patients"] == 4 and body["mode"] == "shift"
    assert body["changes"]["patients.csv"]["pid"] == {"pseudonymised": 4}
    code, out = _invoke(project.root, str(export), "--site", "site_tiny", "--out",
                        str(tmp_path / "out2"))
    assert code == 0 and "de-identified 4 patient(s)" in out and "warning:" in out
    for args, key, expect in (
        (["--site", "site_tiny", "--out", str(tmp_path / "o3")], False, "no site key"),
        (["--site", "site_nope", "--out", str(tmp_path / "o3")], True, "no mapping"),
        (["--site", "../etc", "--out", str(tmp_path / "o3")], True, "invalid site id"),
        (["--site", "site_tiny", "--out", str(tmp_path / "o3"), "--mode", "intervals"], True,
         "disagrees"),
        (["--site", "site_tiny", "--out", str(tmp_path / "o3"), "--shift-range-days", "x"],
         True, "shift range"),
    ):
        code, out = _invoke(project.root, str(export), *args, key=key)
        assert code == 2 and expect in out and "Traceback" not in out, (args, out)
        assert len(out.strip().splitlines()) == 1
    assert not (tmp_path / "o3").exists()
