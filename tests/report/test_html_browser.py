"""endpoints.html in headless Chromium: no console or policy errors, every figure decodes,
the abstract table and the KM figure are there. Skips when Chromium is not installed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from cart_registry.report.writer import HTML_NAME, write_report_files
from tests.report._handmade import EVIL, assembled

#: injected before the page's own <meta> policy so it runs; it records script errors,
#: resource errors, policy violations and console.error calls, then writes them and the
#: state of every image into the DOM for --dump-dom to carry out
PROBE = """<script>
(function () {
  var errors = [];
  window.addEventListener('error', function (e) {
    var t = e.target || {};
    errors.push('error: ' + (e.message || t.src || t.href || 'resource failed'));
  }, true);
  document.addEventListener('securitypolicyviolation', function (e) {
    errors.push('policy: ' + e.violatedDirective + ' ' + e.blockedURI);
  });
  var original = console.error;
  console.error = function () {
    errors.push('console: ' + Array.prototype.join.call(arguments, ' '));
    return original.apply(console, arguments);
  };
  window.addEventListener('load', function () {
    var imgs = Array.prototype.slice.call(document.images);
    var out = document.createElement('pre');
    out.id = 'probe-result';
    out.textContent = JSON.stringify({
      errors: errors,
      images: imgs.length,
      undecoded: imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); })
                     .map(function (i) { return i.alt; }),
      figureWidths: imgs.map(function (i) { return i.getBoundingClientRect().width; })
    });
    document.body.appendChild(out);
  });
})();
</script>
"""

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--virtual-time-budget=5000",
]


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("headless Chromium is not installed (apt-get install chromium)")


def _dump_dom(browser: str, page: Path, profile: Path) -> str:
    proc = subprocess.run(
        [browser, *FLAGS, f"--user-data-dir={profile}", "--window-size=1400,2000",
         "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=90,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.fixture(scope="module")
def dom(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    browser = _chromium()
    from dataclasses import replace

    data = assembled()
    rows = tuple(replace(r, label=EVIL) if r.key == "screened" else r for r in data.abstract)
    out = tmp_path_factory.mktemp("html")
    write_report_files(replace(data, abstract=rows), out)
    html = (out / HTML_NAME).read_text(encoding="utf-8")
    probe = out / "probe.html"
    probe.write_text(html.replace("<head>\n", "<head>\n" + PROBE, 1), encoding="utf-8")
    text = _dump_dom(browser, probe, tmp_path_factory.mktemp("profile"))
    m = re.search(r'<pre id="probe-result">(.*?)</pre>', text, re.S)
    assert m, "the probe did not run: " + text[:500]
    result = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    return text, result


def test_no_console_or_policy_errors(dom: tuple[str, dict[str, Any]]) -> None:
    _, result = dom
    assert result["errors"] == []


def test_figures_decode(dom: tuple[str, dict[str, Any]]) -> None:
    _, result = dom
    assert result["images"] == 3
    assert result["undecoded"] == []
    assert all(w > 300 for w in result["figureWidths"])


def test_abstract_table_and_km_figure_present(dom: tuple[str, dict[str, Any]]) -> None:
    text, _ = dom
    assert 'id="abstract-table"' in text
    assert 'data-key="median_rfs_b"' in text
    assert re.search(r'<figure id="fig-rfsb">\s*<img src="data:image/svg\+xml;base64,', text)
    # the hostile label stayed text: no element was made from it
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<script>alert(1)" not in text
