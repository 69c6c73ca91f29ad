"""Bad input: one clear line naming the file, row and field (or quarantined rows with
reasons), no traceback, and nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner, Result

from cart_registry.canonical.issues import ISSUE_TABLE
from cart_registry.cli.main import cli
from cart_registry.project import Project
from tests.mapping.helpers import TINY_DATA, TINY_PATIENT, TINY_SITE, tiny_project


def ingest(project: Project, export: Path, *extra: str) -> Result:
    return CliRunner().invoke(cli, ["--project-dir", str(project.root), "ingest", str(export),
                                    "--site", "site_tiny", *extra])


def assert_refused(res: Result, project: Project, *fragments: str) -> None:
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    line = res.output.strip()
    assert line.startswith("error: ") and "\n" not in line, line
    for f in fragments:
        assert f in line, (f, line)
    # nothing written: no data partition, no manifest, no staging debris
    reg = project.registry_dir
    assert not (reg / "data").exists() or not any((reg / "data").rglob("*.parquet"))
    assert not (reg / "submissions").exists() or not any((reg / "submissions").rglob("*"))
    assert not list(reg.glob(".stage-*")) and not list(reg.glob(".ingest-*"))


def issues(project: Project) -> pl.DataFrame:
    files = list((project.data_dir / ISSUE_TABLE).rglob("*.parquet"))
    return pl.concat([pl.read_parquet(f) for f in files])


def test_empty_file(tmp_path: Path) -> None:
    project, export = tiny_project(tmp_path, data=b"")
    assert_refused(ingest(project, export), project, "patients.csv", "empty (0 bytes)")


def test_header_only(tmp_path: Path) -> None:
    project, export = tiny_project(tmp_path, data="pid,sex,dob,n_hsct\n")
    assert_refused(ingest(project, export), project, "patients.csv",
                   "has a header but no data rows")


def test_duplicate_headers(tmp_path: Path) -> None:
    project, export = tiny_project(tmp_path, data="pid,sex,dob,sex\nP1,F,01/02/2010,F\n")
    assert_refused(ingest(project, export), project, "patients.csv", "header",
                   "duplicate column 'sex' (columns 2 and 4)")


def test_unknown_column(tmp_path: Path) -> None:
    project, export = tiny_project(tmp_path, data=TINY_DATA.replace("n_hsct", "n_hsct,weigth")
                                   .replace(",0\n", ",0,30\n").replace(",1\n", ",1,31\n"))
    assert_refused(ingest(project, export), project, "patients.csv", "header",
                   "unknown column 'weigth'")


def test_wrong_encoding(tmp_path: Path) -> None:
    data = "pid,sex,dob,n_hsct\nP1,F,01/02/2010,0\nJosé,M,01/02/2011,0\n".encode("latin-1")
    project, export = tiny_project(tmp_path, data=data)
    assert_refused(ingest(project, export), project, "patients.csv", "line 3",
                   "not valid utf-8")


def test_missing_file(tmp_path: Path) -> None:
    project, export = tiny_project(tmp_path, data=None)
    (export / "patient.csv").write_text(TINY_DATA, encoding="utf-8")
    assert_refused(ingest(project, export), project, "no file matches patients.csv",
                   "did you mean 'patient.csv'")


def test_ragged_rows_are_quarantined_with_their_row(tmp_path: Path) -> None:
    project, export = tiny_project(tmp_path, data=TINY_DATA + "P3,F\nP4,F,01/01/2012,0,extra\n")
    res = ingest(project, export, "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["totals"] == {"rows_read": 4, "rows_mapped": 2, "rows_quarantined": 2,
                             "rows_ignored": 0}
    q = issues(project).filter(pl.col("reason_code") == "ragged_row")
    assert q.select("source_file", "source_row", "action").rows() == [
        ("patients.csv", 3, "row_quarantined"), ("patients.csv", 4, "row_quarantined")]
    assert q.get_column("raw_row").to_list() == ['["P3", "F"]', '["P4", "F", "01/01/2012", "0", "extra"]']


@pytest.mark.parametrize("date", ["31/02/2020", "2020-13-01"])
def test_impossible_dates_are_quarantined_with_file_row_and_field(tmp_path: Path, date: str) -> None:
    project, export = tiny_project(tmp_path, data=TINY_DATA + f"P3,F,{date},0\n")
    res = ingest(project, export, "--json", "--strict")
    assert res.exit_code == 1, res.output  # --strict: quarantined rows fail the command
    bad = issues(project).filter(pl.col("reason_code") == "date_parse").row(0, named=True)
    assert (bad["source_file"], bad["source_row"], bad["source_field"], bad["target_column"],
            bad["value"], bad["action"]) == ("patients.csv", 3, "dob", "birth_date", date,
                                             "row_quarantined")
    assert json.loads(bad["raw_row"])["dob"] == date


def test_code_not_in_code_list(tmp_path: Path) -> None:
    project, export = tiny_project(tmp_path, data=TINY_DATA + "P3,X,01/01/2012,0\nP4,UNK,01/01/2012,0\n")
    res = ingest(project, export, "--json")
    assert res.exit_code == 0
    iss = issues(project)
    bad = iss.filter(pl.col("reason_code") == "not_in_code_list")
    assert bad.select("source_row", "source_field", "value").rows() == [(3, "sex", "X")]
    # the missing-data code is not an unknown code: sex is then blank, which sex may not be
    assert iss.filter(pl.col("reason_code") == "missing_required").get_column("source_row").to_list() == [4]


def test_cell_failure_in_a_nullable_column_nulls_the_cell_only(tmp_path: Path) -> None:
    project, export = tiny_project(tmp_path, data=TINY_DATA + "P3,F,01/01/2012,two\n")
    res = ingest(project, export, "--json")
    out = json.loads(res.output)
    assert out["tables"]["patient"] == 3 and out["issues_by_action"] == {"cell_nulled": 1}


def test_mapping_with_unknown_operation(tmp_path: Path) -> None:
    project, export = tiny_project(tmp_path, patient_yaml=TINY_PATIENT.replace(
        "op: patient_id", "op: patientid"))
    assert_refused(ingest(project, export), project, "site_tiny/patient.yaml:6",
                   "unknown operation 'patientid'; did you mean 'patient_id'?")


def test_mapping_with_unknown_column(tmp_path: Path) -> None:
    project, export = tiny_project(tmp_path, patient_yaml=TINY_PATIENT.replace(
        "prior_hsct_count:", "prior_hsct:"))
    assert_refused(ingest(project, export), project, "patient.yaml:10",
                   "'prior_hsct' is not a column of 'patient'", "did you mean 'prior_hsct_count'")


def test_mapping_with_unknown_source_field(tmp_path: Path) -> None:
    project, export = tiny_project(tmp_path, patient_yaml=TINY_PATIENT.replace(
        "birth_date: dob", "birth_date: dobb"))
    assert_refused(ingest(project, export), project, "patient.yaml:8",
                   "field 'dobb' is not in source 'patients' (patients.csv)", "did you mean 'dob'")


def test_mapping_with_unknown_table(tmp_path: Path) -> None:
    project, export = tiny_project(tmp_path)
    bad = project.mappings_dir / "site_tiny" / "patinet.yaml"
    bad.write_text(TINY_PATIENT.replace("table: patient", "table: patinet"), encoding="utf-8")
    assert_refused(ingest(project, export), project, "patinet.yaml:1",
                   "unknown canonical table 'patinet'; did you mean 'patient'?")


def test_mapping_with_unknown_reader_kind(tmp_path: Path) -> None:
    project, export = tiny_project(tmp_path, site_yaml=TINY_SITE.replace("kind: csv", "kind: cvs"))
    assert_refused(ingest(project, export), project, "site.yaml:7",
                   "unknown reader kind 'cvs'; did you mean 'csv'?")


def test_a_crash_during_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cart_registry.canonical import store

    project, export = tiny_project(tmp_path)

    def boom(self: object, manifest: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(store.SubmissionWriter, "commit", boom)
    res = ingest(project, export)
    assert res.exit_code == 2 and "disk full" in res.output and "Traceback" not in res.output
    assert not any((project.registry_dir / "data").rglob("*.parquet"))
    assert not any(p.is_file() for p in project.registry_dir.rglob("*"))
