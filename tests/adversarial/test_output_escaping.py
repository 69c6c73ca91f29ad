"""Markup and spreadsheet formulas typed by a site (or put in the settings and the construct
catalog) come out inert: HTML-escaped in report.html and the endpoint report, apostrophe-
prefixed in queries_<site>.csv, ledger.csv and the ADaM/canonical CSV exports."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import yaml

from tests.adversarial.conftest import TALLY
from tests.deid.support import TINY_SITE, TINY_TABLES, make_project

XSS = "<script>alert('xss-probe')</script>"
FORMULA = "=HYPERLINK(\"http://evil.example\",\"click\")"
PAYLOADS = {
    "patients.csv": "pid,sex,dob,dx\n"
                    "P1,F,01/02/2010,2014-05-02\n"
                    f"P2,\"{XSS}\",01/02/2010,2014-05-02\n"
                    f"P3,M,01/02/2011,\"{FORMULA.replace(chr(34), chr(34) * 2)}\"\n"
                    "P4,M,@SUM(1+1),-2+3\n"
                    "+SUM(1),F,01/02/2010,2014-05-02\n",
    "infusions.csv": "pid,n,product,date\nP1,1,tisa-cel,2015-03-01\nP3,1,tisa-cel,2016-03-01\n",
    "followup.csv": "pid,last,vital,detail\n"
                    f"P1,2016-06-01,D,\"{FORMULA.replace(chr(34), chr(34) * 2)} {XSS}\"\n"
                    "P2,2023-01-01,A,\nP3,2023-02-02,A,\nP4,2023-03-03,A,\n",
}


def _inert_csv(path: Path) -> int:
    """Check every cell of a CSV; returns how many were neutralised (start with an ')."""
    neutralised = 0
    text = path.read_text(encoding="utf-8-sig")
    for row in csv.reader(io.StringIO(text, newline="")):
        for cell in row:
            if cell.startswith("'") and cell[1:2] in ("=", "+", "-", "@"):
                neutralised += 1
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), (path.name, cell)
            if cell.startswith("-"):
                float(cell)  # a negative number is data; anything else must be prefixed
    return neutralised


@pytest.mark.slow
def test_markup_and_formulas_are_inert_in_every_output(tmp_path: Path) -> None:
    from cart_registry.errors import CartRegistryError
    from cart_registry.exports.adam import export_adam
    from cart_registry.ingest import ingest_submission
    from cart_registry.validation.api import validate_submissions
    from cart_registry.warehouse.loading import load_sites

    project = make_project(tmp_path / "p", policy="none", sites=())
    tiny = project.mappings_dir / "site_tiny"
    tiny.mkdir()
    (tiny / "site.yaml").write_text(TINY_SITE.replace("per_patient_shift", "none"))
    for table, text in TINY_TABLES.items():
        (tiny / f"{table}.yaml").write_text(text)
    settings = yaml.safe_load(project.settings_file.read_text())
    settings["name"] = f"Registry {XSS}"
    settings["study"]["study_id"] = FORMULA
    project.settings_file.write_text(yaml.safe_dump(settings))
    catalog = project.construct_catalog_file
    catalog.write_text(catalog.read_text().replace("construct_name: Kymriah",
                                                   f"construct_name: \"Kymriah {XSS}\"", 1))
    export = tmp_path / "export"
    export.mkdir()
    for name, text in PAYLOADS.items():
        (export / name).write_text(text)
    TALLY["tried"] += 8  # the payloads above, one input each
    res = ingest_submission(project, export, "site_tiny", received_at="2023-07-01T00:00:00Z")
    assert res.totals["rows_quarantined"] >= 2 and res.ok
    reports = project.reports_dir
    for audience in ("site", "coordinating_center"):
        validate_submissions(project, audience=audience,
                             out_dir=reports / audience, as_of=None)
    load_sites(project, force=True, reason="escaping test")
    export_adam(project, project.exports_dir, formats=("csv",))
    wrote_report = True
    try:
        from cart_registry.report.api import write_endpoint_report

        write_endpoint_report(project, reports / "endpoints")
    except (ImportError, CartRegistryError):
        wrote_report = False  # checked below only when the sibling module can run

    html = sorted(reports.rglob("*.html"))
    assert len(html) >= 2 + wrote_report
    for page in html:
        text = page.read_text(encoding="utf-8")
        assert "alert('xss-probe')" not in text and "<script>alert(" not in text, page
    site_html = (reports / "site" / "report.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(&#39;xss-probe&#39;)" in site_html  # shown, escaped
    if wrote_report:
        ep = (reports / "endpoints" / "endpoints.html").read_text(encoding="utf-8")
        assert "xss-probe" in ep and "&lt;script&gt;" in ep  # the registry name, escaped
        md = (reports / "endpoints" / "endpoints.md").read_text(encoding="utf-8")
        assert "<script>" not in md
    csvs = sorted(reports.rglob("*.csv")) + sorted(project.exports_dir.rglob("*.csv"))
    assert any(p.name == "queries_site_tiny.csv" for p in csvs)
    assert any(p.name.lower().startswith("adsl") for p in csvs)
    neutralised = sum(_inert_csv(p) for p in csvs)
    assert neutralised >= 3  # the formulas reached the files, inert
    TALLY["accepted"] += 8  # every payload came out inert (quarantined or escaped)
