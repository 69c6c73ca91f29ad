"""`mapping check` and `mapping init`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from cart_registry.cli.main import cli
from cart_registry.mapping.draft import draft_from_redcap
from cart_registry.mapping.spec import load_site_mapping
from cart_registry.project import Project
from cart_registry.standard import load_standard
from tests.conftest import shared_path
from tests.mapping.helpers import TINY_DATA, sample_site, tiny_project

STD = load_standard()


def run(project: Project, *args: str) -> tuple[int, str]:
    res = CliRunner().invoke(cli, ["--project-dir", str(project.root), *args])
    assert "Traceback" not in res.output
    return res.exit_code, res.output


@pytest.mark.parametrize("site", ["site_redcap", "site_edc"])
def test_sample_mappings_check_clean_against_their_exports(project: Project, site: str) -> None:
    code, out = run(project, "--json", "mapping", "check", site, str(sample_site(site)))
    report = json.loads(out)
    assert code == 0 and report["ok"] and report["errors"] == 0, out
    assert report["rules_checked"] >= 11 and report["rows_read"] > 0


def test_check_without_export_is_static_only(project: Project) -> None:
    code, out = run(project, "mapping", "check", "site_edc")
    assert code == 0 and "site_edc: 0 error(s)" in out


def test_check_reports_code_targets_outside_the_value_set(tmp_path: Path) -> None:
    project, _ = tiny_project(tmp_path, patient_yaml=(
        "table: patient\nrules:\n  - id: p\n    source: patients\n    columns:\n"
        "      patient_id: {op: patient_id, from: pid}\n"
        "      sex: {op: map_values, from: sex, values: {F: femme, M: male}}\n"
        "      registry_status: {op: constant, value: includ}\n"))
    code, out = run(project, "mapping", "check", "site_tiny")
    assert code == 1
    assert "patient.yaml:7: rules[0].columns.sex: code 'F' -> 'femme' is not in the value set of sex" in out
    assert "rules[0].columns.registry_status: constant -> 'includ' is not in the value set" in out
    assert "did you mean 'included'" in out


def test_check_reports_codes_seen_in_the_export_but_not_mapped(tmp_path: Path) -> None:
    project, export = tiny_project(tmp_path, data=TINY_DATA + "P3,X,01/01/2012,0\nP4,Y,01/01/2012,0\n")
    code, out = run(project, "mapping", "check", "site_tiny", str(export))
    assert code == 1
    assert "rules[0].columns.sex: 2 cell(s) not in the code list (F, M): 'X', 'Y'" in out


def test_check_reports_a_missing_required_column(tmp_path: Path) -> None:
    project, _ = tiny_project(tmp_path, patient_yaml=(
        "table: patient\nrules:\n  - id: p\n    source: patients\n    columns:\n"
        "      patient_id: {op: patient_id, from: pid}\n"))
    code, out = run(project, "mapping", "check", "site_tiny")
    assert code == 1 and "does not map required column patient.sex" in out


def test_check_reports_a_broken_file_with_its_line(tmp_path: Path) -> None:
    project, _ = tiny_project(tmp_path, patient_yaml="table: patient\nrules: [{id: p, source: x, columns: {a: {op: nope}}}]\n")
    code, out = run(project, "mapping", "check", "site_tiny")
    assert code == 1 and "patient.yaml:2" in out and "unknown operation 'nope'" in out


def test_init_drafts_the_sample_redcap_site(tmp_path: Path, project: Project) -> None:
    folder = sample_site("site_redcap")
    out = tmp_path / "draft" / "site_new"
    code, text = run(project, "--json", "mapping", "init", "--redcap-dictionary",
                     str(folder / "CARTRegistry_DataDictionary.csv"), "--site", "site_new",
                     "--out", str(out))
    assert code == 0, text
    result = json.loads(text)
    assert result["todo"] > 0
    m = load_site_mapping(out, site_id="site_new", table_names=STD.table_names)
    # forms land on the tables the generator's README says they feed
    sources = {t: tm.spec.rules[0].source for t, tm in m.tables.items()}
    assert sources["patient"] == "demographics" and sources["cart_infusion"] == "car_infusion"
    assert sources["toxicity_event"] == "toxicity" and sources["follow_up"] == "survival"
    sex = m.tables["patient"].spec.rules[0].columns["sex"]
    assert sex.values == {"1": "female", "2": "male", "3": "other", "9": "unknown"}  # type: ignore[union-attr]
    # refuse to overwrite, unless --force
    again = ["mapping", "init", "--redcap-dictionary",
             str(folder / "CARTRegistry_DataDictionary.csv"), "--site", "site_new", "--out", str(out)]
    code, text = run(project, *again)
    assert code == 2 and "refusing to overwrite" in text
    assert run(project, *again, "--force")[0] == 0


def test_init_writes_into_the_project_by_default(tmp_path: Path, project: Project) -> None:
    folder = sample_site("site_redcap")
    code, text = run(project, "mapping", "init", "--redcap-dictionary",
                     str(folder / "CARTRegistry_DataDictionary.csv"), "--site", "site_redcap")
    assert code == 2 and "already exist" in text  # the sample mapping is there
    code, _ = run(project, "mapping", "init", "--redcap-dictionary",
                  str(folder / "CARTRegistry_DataDictionary.csv"), "--site", "site_b")
    assert code == 0 and (project.mappings_dir / "site_b" / "site.yaml").is_file()


REAL = ["arm-multiple-delete", "arm-single-delete", "arm-single-longitudinal",
        "blank-for-gray-status", "checkboxes-1", "clinical-trial-1", "dag", "dag-write",
        "decimal-comma", "decimal-dot", "empty-rows", "file-repo", "metadata-write",
        "multilevel-model-1", "project-color-boxes", "repeating-instruments", "simple",
        "single-column", "survey", "validation-types-1", "vignette-repeating"]


@pytest.mark.parametrize("name", REAL)
def test_init_drafts_a_skeleton_for_every_real_project(tmp_path: Path, name: str) -> None:
    folder = shared_path("realdata", "redcapr-test-projects", name)
    dictionary = next(folder.glob("dictiona*.csv"))
    files = draft_from_redcap(dictionary, "site_x", STD)
    for text in files.values():
        yaml.safe_load(text)
    out = tmp_path / "site_x"
    out.mkdir()
    for fname, text in files.items():
        (out / fname).write_text(text, encoding="utf-8")
    m = load_site_mapping(out, site_id="site_x", table_names=STD.table_names)
    forms = set(__import__("cart_registry.readers.redcap", fromlist=["x"]).read_dictionary(dictionary).forms)
    for tm in m.tables.values():
        assert all(r.source in forms for r in tm.spec.rules)
    if "patient.yaml" in files:
        assert "patient_id: {op: patient_id" in files["patient.yaml"]
