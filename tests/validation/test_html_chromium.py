"""report.html in headless Chromium: renders offline, no script error, scorecard visible."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.validation.conftest import DefectRegistry

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--virtual-time-budget=3000",
]

#: injected before the report's own script: page errors and the scorecard's laid-out size are
#: written into the DOM, which --dump-dom then shows (no DevTools protocol needed)
PROBE = """<script>
window.__errors = [];
window.onerror = function (m) { window.__errors.push(String(m)); };
var __ce = console.error; console.error = function (m) { window.__errors.push(String(m)); __ce.apply(console, arguments); };
window.addEventListener("load", function () {
  var box = document.getElementById("scorecard").getBoundingClientRect();
  var p = document.createElement("div");
  p.id = "probe";
  p.setAttribute("data-errors", String(window.__errors.length));
  p.setAttribute("data-error-text", window.__errors.join(" | "));
  p.setAttribute("data-scorecard", Math.round(box.width) + "x" + Math.round(box.height));
  p.setAttribute("data-cards", String(document.querySelectorAll(".site-card").length));
  var sel = document.getElementById("f-sev"); sel.value = "error"; sel.dispatchEvent(new Event("change"));
  p.setAttribute("data-shown-errors", document.getElementById("shown").textContent);
  document.body.appendChild(p);
});
</script>"""


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("chromium is not installed (the CI script installs it from Debian)")
    return exe


def _run(exe: str, *args: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True, text=True, timeout=90,
        )


def test_report_renders_without_errors(defect_registry: DefectRegistry, tmp_path: Path) -> None:
    exe = _chromium()
    html = (defect_registry.root / "out" / "report.html").read_text(encoding="utf-8")
    probed = tmp_path / "probed.html"
    probed.write_text(html.replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")
    res = _run(exe, "--dump-dom", probed.as_uri())
    assert res.returncode == 0, res.stderr[-2000:]
    m = re.search(r'<div id="probe"[^>]*>', res.stdout)
    assert m, res.stdout[-2000:]
    probe = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', m.group(0)))
    assert probe["errors"] == "0", probe["error-text"]
    w, h = (int(x) for x in probe["scorecard"].split("x"))
    assert w > 300 and h > 100, probe
    assert probe["cards"] == "1"
    n_error = sum(1 for i in defect_registry.report.issues if i["rule"]["severity"] == "error")
    assert probe["shown-errors"] == str(n_error)  # the filter works
    assert "Uncaught" not in res.stderr

    shot = tmp_path / "report.png"
    res = _run(exe, f"--screenshot={shot}", "--window-size=1400,1000",
               (defect_registry.root / "out" / "report.html").as_uri())
    assert res.returncode == 0 and shot.is_file() and shot.stat().st_size > 20_000, res.stderr[-2000:]
