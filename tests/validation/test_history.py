"""History across submissions: new / persisting / resolved, and waivers from query answers."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import duckdb
from click.testing import CliRunner

from cart_registry.cli.main import cli
from cart_registry.project import Project
from cart_registry.validation.api import validate_submissions
from tests.validation.conftest import AS_OF
from tests.validation.defects import DEFECTS
from tests.validation.factory import clean_site, write_submission

BY_NAME = {d.name: d for d in DEFECTS}


def _site(defects: dict[str, str]) -> dict:  # type: ignore[type-arg]
    rows = clean_site("site_h", n_patients=8)
    for name, pid in defects.items():
        BY_NAME[name].mutate(rows, f"site_h-{pid}")
    return rows


def _keys(report: object, change: str) -> set[tuple[str, str]]:
    return {
        (i["rule"]["id"], i["canonical"]["record_key"])
        for i in report.issues  # type: ignore[attr-defined]
        if i["status_vs_previous"] == change
    }


def test_fixed_new_persisting_and_waived(fresh_project: Project, tmp_path: Path) -> None:
    first = {"grade5_alive": "P002", "interval_10_days": "P003", "sex_code": "P004"}
    write_submission(fresh_project, "site_h", _site(first), tmp_path / "e1",
                     received_at="2023-07-01T00:00:00Z")
    r1 = validate_submissions(fresh_project, as_of=AS_OF, out_dir=tmp_path / "r1")
    assert {i["status_vs_previous"] for i in r1.issues} == {"new"}
    assert r1.sites[0]["previous_submission_id"] is None

    # the site fixes two defects, keeps one and introduces a new one
    second = {"sex_code": "P004", "relapse_before_cr": "P005"}
    ref2 = write_submission(fresh_project, "site_h", _site(second), tmp_path / "e2",
                            received_at="2023-08-01T00:00:00Z")
    r2 = validate_submissions(fresh_project, as_of=AS_OF, out_dir=tmp_path / "r2")
    assert r2.sites[0]["submission_id"] == ref2.submission_id
    assert r2.sites[0]["previous_submission_id"] == r1.sites[0]["submission_id"]
    assert ("patient.sex.in_value_set", "site_h-P004") in _keys(r2, "persisting")
    assert ("relapse.relapse_date.after_cr", "site_h-R1".replace("R1", "P005-R1")) in _keys(r2, "new")
    resolved = {(x["rule_id"], x["canonical"]["record_key"]) for x in r2.resolved}
    assert ("toxicity_event.grade_reported.grade5_implies_death", "site_h-P002-X1") in resolved
    assert ("course.interval.min_14_days", "site_h-P003-I2") in resolved
    assert not _keys(r2, "persisting") & resolved
    assert r2.sites[0]["issues"]["resolved"] == len(r2.resolved) >= 2
    # fingerprints are stable across submissions: the persisting issue keeps its fingerprint
    fp1 = {i["issue_fingerprint"] for i in r1.issues if i["rule"]["id"] == "patient.sex.in_value_set"}
    fp2 = {i["issue_fingerprint"] for i in r2.issues if i["rule"]["id"] == "patient.sex.in_value_set"}
    assert fp1 == fp2 and len(fp1) == 1

    # the site answers: the sex code is confirmed as is (with reason), another is disagreed
    qpath = tmp_path / "r2" / "queries_site_h.csv"
    rows = list(csv.DictReader(qpath.read_text(encoding="utf-8-sig").splitlines()))
    for r in rows:
        if r["rule_id"] == "patient.sex.in_value_set":
            r.update(resolution="confirmed_as_is", site_response="local code kept on purpose",
                     responder="dm@site_h", response_date="2023-08-05")
        elif r["rule_id"] == "relapse.relapse_date.after_cr":
            r.update(resolution="disagree", site_response="CR was documented elsewhere",
                     responder="dm@site_h", response_date="2023-08-05")
    answered = tmp_path / "answered.csv"
    with answered.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    res = CliRunner().invoke(cli, ["--project-dir", str(fresh_project.root), "queries",
                                   "import", str(answered)])
    assert res.exit_code == 0, res.output
    assert "1 waiver(s)" in res.output

    r3 = validate_submissions(fresh_project, as_of=AS_OF, out_dir=tmp_path / "r3")
    waived = [i for i in r3.issues if i["status_vs_previous"] == "waived"]
    assert [(i["rule"]["id"], i["canonical"]["record_key"]) for i in waived] == [
        ("patient.sex.in_value_set", "site_h-P004")
    ]
    assert waived[0]["waiver"]["reason"] == "local code kept on purpose"
    assert waived[0]["waiver"]["expires_on"] == "2024-08-04"
    result = next(r for r in r3.results if r.rule_id == "patient.sex.in_value_set")
    assert (result.num_violated, result.num_waived, result.status) == (0, 1, "pass")
    # a waiver that has expired by the as-of date is not honoured
    r4 = validate_submissions(fresh_project, as_of=dt.date(2024, 9, 1), write_history=False)
    assert not [i for i in r4.issues if i["status_vs_previous"] == "waived"]

    con = duckdb.connect(str(fresh_project.db_path), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM dq.run").fetchall() == [(3,)]
        assert con.execute(
            "SELECT count(DISTINCT submission_id) FROM dq.submission").fetchall() == [(2,)]
        assert con.execute("SELECT count(*) FROM dq.waiver").fetchall() == [(1,)]
        assert con.execute(
            "SELECT resolution FROM dq.query_response ORDER BY 1").fetchall() == [
            ("confirmed_as_is",), ("disagree",)]
        assert con.execute("SELECT count(*) FROM dq.result WHERE status = 'fail'").fetchall()[0][0] > 0
    finally:
        con.close()


def test_bad_answers_are_refused(fresh_project: Project, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("issue_fingerprint,site_id,rule_id,resolution,site_response,responder\n"
                   "abc,site_h,r.x.y,maybe,,\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["--project-dir", str(fresh_project.root), "queries",
                                   "import", str(bad)])
    assert res.exit_code == 2 and "line 2" in res.output and "maybe" in res.output
    bad.write_text("issue_fingerprint,site_id,rule_id,resolution,site_response,responder\n"
                   "abc,site_h,r.x.y,confirmed_as_is,,\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["--project-dir", str(fresh_project.root), "queries",
                                   "import", str(bad)])
    assert res.exit_code == 2 and "needs the reason" in res.output
