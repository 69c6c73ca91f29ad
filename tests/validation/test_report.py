"""Report outputs: JSON against its schema, query lists, HTML escaping, audiences, exit codes."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from pathlib import Path

from click.testing import CliRunner

from cart_registry.cli.main import cli
from cart_registry.validation.api import validate_submissions
from cart_registry.validation.report import REPORT_SCHEMA_VERSION, report_json_schema
from cart_registry.validation.summaries import QUERY_COLUMNS
from tests.validation.conftest import AS_OF, DefectRegistry, Registry
from tests.validation.factory import clean_site, write_submission
from tests.validation.jsonschema_lite import errors


def _load(path: Path) -> dict:  # type: ignore[type-arg]
    return json.loads(path.read_text(encoding="utf-8"))


def test_report_json_matches_its_schema(clean_registry: Registry, defect_registry: DefectRegistry) -> None:
    schema = report_json_schema()
    for reg in (clean_registry, defect_registry):
        doc = _load(reg.root / "out" / "report.json")
        assert doc["schema_version"] == REPORT_SCHEMA_VERSION
        assert errors(doc, schema) == []
    assert defect_registry.report.issues  # the schema was checked on real issues


def test_metadata_pins_versions_inputs_and_as_of(defect_registry: DefectRegistry) -> None:
    meta = _load(defect_registry.root / "out" / "report.json")["metadata"]
    assert meta["as_of_date"] == AS_OF.isoformat()
    assert meta["ruleset_version"].startswith("2026.") and "+" in meta["ruleset_version"]
    assert meta["tool_version"]
    files = {f["path"]: f["sha256"] for f in meta["inputs"][0]["files"]}
    manifest_files = {f["path"]: f["sha256"] for f in defect_registry.refs[0].manifest["files"]}
    assert files == manifest_files


def test_validation_json_beside_each_manifest(clean_registry: Registry, defect_registry: DefectRegistry) -> None:
    for reg, status in ((clean_registry, "passed"), (defect_registry, "failed")):
        for ref in reg.refs:
            path = reg.project.registry_dir / "submissions" / ref.site_id / ref.submission_id / "validation.json"
            body = _load(path)
            assert body["status"] == status
            assert set(body["counts_failed"]) == {"fatal", "error", "warning", "info"}
            assert body["run_id"] == reg.report.run_id
            assert body["ruleset_version"] == reg.report.metadata["ruleset_version"]
    assert _load(
        defect_registry.project.registry_dir / "submissions" / "site_d"
        / defect_registry.refs[0].submission_id / "validation.json"
    )["counts_failed"]["fatal"] >= 1  # the duplicated primary key


def test_query_list_is_excel_safe_and_round_trippable(defect_registry: DefectRegistry) -> None:
    raw = (defect_registry.root / "out" / "queries_site_d.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert list(rows[0].keys()) == list(QUERY_COLUMNS)
    assert len(rows) == len(defect_registry.report.issues)
    for r in rows:
        assert r["site_response"] == r["resolution"] == r["responder"] == r["response_date"] == ""
        for v in r.values():
            assert not v.startswith(("=", "+", "-", "@", "\t", "\r")), v
    assert any(r["value"] == "'=cmd|' /C calc'!A0" for r in rows)


def test_html_escapes_everything(fresh_project: object, tmp_path: Path) -> None:
    rows = clean_site("site_x")
    rows["patient"][1]["sex"] = "<script>alert('x')</script>"
    write_submission(fresh_project, "site_x", rows, tmp_path / "exp")  # type: ignore[arg-type]
    validate_submissions(fresh_project, as_of=AS_OF, out_dir=tmp_path / "out",  # type: ignore[arg-type]
                         write_history=False)
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(" in html
    assert "http://" not in html and "https://" not in html  # no CDN: works offline
    assert html.count("<script>") == 1  # our own inline script only


def test_coordinating_centre_view_masks_and_suppresses(defect_registry: DefectRegistry, tmp_path: Path) -> None:
    rep = validate_submissions(defect_registry.project, audience="coordinating_center",
                               as_of=AS_OF, out_dir=tmp_path / "cc", write_history=False)
    text = "\n".join(
        p.read_text(encoding="utf-8-sig") for p in (tmp_path / "cc").iterdir() if p.is_file()
    )
    assert errors(json.loads((tmp_path / "cc" / "report.json").read_text()), report_json_schema()) == []
    assert not re.search(r"site_d-P\d{3}", text), "patient ids leak into the CC outputs"
    assert "record=P0" not in text and "raw row" not in text
    assert "2009-02-30" not in text  # an ingest value: masked
    assert "=cmd|" not in text
    pseudonyms = {i["patient"] for i in rep.issues if i["patient"]}
    assert pseudonyms and all(p.startswith("pt-") for p in pseudonyms)
    # quasi-identifier values (dates) are masked; non-identifying codes stay readable
    dates = [i for i in rep.issues if i["canonical"]["column"] == "birth_date" and i["value_display"]]
    assert dates and {i["value_display"] for i in dates} == {"[masked]"}
    sex = next(i for i in rep.issues if i["rule"]["id"] == "patient.sex.in_value_set")
    assert sex["value_display"] == "[masked]"  # sex is a quasi-identifier
    grade = next(i for i in rep.issues if i["rule"]["id"].endswith("crs_matches_astct"))
    assert grade["value_display"] == "3"
    # small cells: counts 1..10 are shown as a range in the cross-site tables
    card = rep.to_dict()["sites"][0]
    assert card["patients"] == len(defect_registry.placed) + 1  # + the twin: above 10
    assert card["issues_by_severity"]["fatal"] == "1-10"
    res = [r for r in rep.to_dict()["results"] if r["num_violated"] == "1-10"]
    assert res and all(r["pct_violated"] is None for r in res)
    # the same patient gets the same pseudonym in every run
    again = validate_submissions(defect_registry.project, audience="coordinating_center",
                                 as_of=AS_OF, write_history=False)
    assert {i["issue_fingerprint"]: i["patient"] for i in again.issues} == {
        i["issue_fingerprint"]: i["patient"] for i in rep.issues
    }


def test_free_text_is_never_echoed(fresh_project: object, tmp_path: Path) -> None:
    issue = {"source_file": "death.csv", "source_row": 1, "source_key": "record=P006|event=e",
             "source_field": "deat_cause_detail", "target_table": "death",
             "target_column": "cause_detail", "value": "seen by Dr Jane Roe at home",
             "reason_code": "text_too_long", "reason": "too long", "action": "cell_nulled"}
    write_submission(fresh_project, "site_f", clean_site("site_f"), tmp_path / "e",  # type: ignore[arg-type]
                     ingest_issues=[issue])
    for audience in ("site", "coordinating_center"):
        rep = validate_submissions(fresh_project, audience=audience, as_of=AS_OF,  # type: ignore[arg-type]
                                   write_history=False, out_dir=tmp_path / audience)
        hit = [i for i in rep.issues if i["canonical"]["column"] == "cause_detail"]
        assert hit and hit[0]["value_display"] == "[free text withheld]"
        assert hit[0]["rule"]["id"] == "conformance.ingest_other"
        text = "".join(p.read_text(encoding="utf-8-sig") for p in (tmp_path / audience).iterdir())
        assert "Jane Roe" not in text


def test_exit_codes_and_cli(defect_registry: DefectRegistry, clean_registry: Registry) -> None:
    assert clean_registry.report.exit_code == 0
    assert defect_registry.report.exit_code == 1
    runner = CliRunner()
    res = runner.invoke(cli, ["--project-dir", str(defect_registry.root), "validate",
                              "--as-of", "2023-07-15", "--no-history",
                              "--out", str(defect_registry.root / "cli_out")])
    assert res.exit_code == 1, res.output
    assert "FAILED" in res.output and "fatal/error rule(s) over threshold" in res.output
    res = runner.invoke(cli, ["--project-dir", str(clean_registry.root), "validate", "--json",
                              "--as-of", "2023-07-15", "--no-history",
                              "--out", str(clean_registry.root / "cli_out")])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["summary"]["status"] == "passed"


def test_sql_only_prints_and_runs_nothing(tmp_path: Path, repo_root: Path) -> None:
    from tests.validation.factory import make_project

    project = make_project(tmp_path, repo_root)
    res = CliRunner().invoke(cli, ["--project-dir", str(tmp_path), "validate", "--sql-only",
                                   "--as-of", "2023-07-15"])
    assert res.exit_code == 0, res.output
    assert "INSERT INTO dq_violation" in res.output
    assert "-- rule toxicity_event.grade_reported.crs_matches_astct" in res.output
    assert "CREATE OR REPLACE TEMP VIEW dq_course" in res.output
    assert not project.db_path.exists() and not project.reports_dir.exists()


def test_no_submission_is_a_usage_error(tmp_path: Path, repo_root: Path) -> None:
    from tests.validation.factory import make_project

    make_project(tmp_path, repo_root)
    res = CliRunner().invoke(cli, ["--project-dir", str(tmp_path), "validate"])
    assert res.exit_code == 2 and "no complete submission" in res.output


def test_as_of_is_recorded_and_defaults_to_today(clean_registry: Registry) -> None:
    rep = validate_submissions(clean_registry.project, write_history=False)
    assert rep.as_of == dt.date.today()
    assert rep.metadata["as_of_date"] == dt.date.today().isoformat()
