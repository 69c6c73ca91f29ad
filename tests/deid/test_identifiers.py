"""No direct identifier survives ``deidentify``: names, MRNs, phone numbers, the site's record
ids, exact birth dates. The samples carry no names, so identifier-bearing copies are built
here (tests/deid/support.py) the way a registry engineer would meet them."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from cart_registry.deid.api import deidentify_export
from cart_registry.ingest import ingest_submission
from tests.deid.support import (
    RECEIVED,
    all_bytes,
    crosswalk,
    identified_edc,
    identified_fhir,
    identified_redcap,
    make_project,
    set_site,
    site_key,
)


def _assert_no_identifier(out: Path, people: list[dict[str, str]]) -> None:
    data = all_bytes(out)
    assert len(people) >= 16
    for p in people:
        for kind in ("mrn", "first", "last", "phone"):
            assert p[kind].encode() not in data, (kind, p[kind])
        assert p["id"].encode() not in data, ("record id", p["id"])
    assert b"Quillfeather" not in data and b"Zephyrine" not in data and b"MRN-47" not in data


def _dob_moved(people: list[dict[str, str]], xwalk: dict[str, dict[str, str]],
               dob_of: dict[str, str]) -> None:
    """Every patient's birth date in the output differs from the original one."""
    moved = 0
    for p in people:
        if not p["dob"]:
            continue
        new = dob_of[xwalk[p["id"]]["pseudonym"]]
        assert new != p["dob"], p["id"]
        moved += 1
    assert moved >= 16


def test_edc_names_mrn_phone_and_ids_are_gone(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", sites=("site_edc",))
    set_site(project, "site_edc", deidentify={
        "direct_identifiers": ["MRN", "FIRST_NAME", "LAST_NAME", "PHONE"]})
    export = tmp_path / "edc"
    people = identified_edc(export)
    out, xw = tmp_path / "out", tmp_path / "secure" / "xw.csv"
    result = deidentify_export(project, export, "site_edc", out, site_key(), crosswalk=xw)
    _assert_no_identifier(out, people)
    pat = result.changes["patients.csv"]
    assert {pat[c].get("cells_removed") for c in ("MRN", "FIRST_NAME", "LAST_NAME", "PHONE")} \
        == {50}
    header = (out / "patients.csv").read_bytes().decode("latin-1").splitlines()[0]
    assert "MRN" not in header and "LAST_NAME" not in header
    text = (out / "patients.csv").read_bytes().decode("latin-1")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    _dob_moved(people, crosswalk(xw), {r["SUBJID"]: r["BIRTH_DATE"] for r in rows})
    # the output is what the registry expects: it ingests with nothing quarantined
    res = ingest_submission(project, out, "site_edc", received_at=RECEIVED)
    assert res.totals["rows_quarantined"] == 0 and res.tables["patient"] == 50


def test_declared_identifiers_go_even_when_unmapped_fields_are_kept(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", sites=("site_edc",))
    set_site(project, "site_edc", deidentify={
        "direct_identifiers": ["MRN", "FIRST_NAME", "LAST_NAME", "PHONE"],
        "unmapped_fields": "keep"},
        reader_extra={"infusions": {"ignore_columns": ["CAR_LINE"]}})
    export = tmp_path / "edc"
    people = identified_edc(export)
    out = tmp_path / "out"
    result = deidentify_export(project, export, "site_edc", out, site_key())
    _assert_no_identifier(out, people)
    assert result.changes["infusions.csv"]["CAR_LINE"] == {"kept_unmapped": 79}
    assert any("unmapped_fields: keep" in w for w in result.warnings)


def test_redcap_identifier_flags_of_the_dictionary_are_honoured(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", sites=("site_redcap",))
    export = tmp_path / "rc"
    people = identified_redcap(export)
    out, xw = tmp_path / "out", tmp_path / "secure" / "xw.csv"
    result = deidentify_export(project, export, "site_redcap", out, site_key(), crosswalk=xw)
    _assert_no_identifier(out / "CARTRegistry_DATA.csv", people)
    changes = result.changes["CARTRegistry_DATA.csv"]
    assert changes["mrn"] == {"cells_removed": len(people)}
    assert changes["record_id"] == {"pseudonymised": 1191}
    assert "CARTRegistry_Events.csv" in result.not_copied  # not read by the mapping
    rows = list(csv.DictReader(io.StringIO((out / "CARTRegistry_DATA.csv").read_text())))
    _dob_moved(people, crosswalk(xw), {r["record_id"]: r["dob"] for r in rows if r["dob"]})
    res = ingest_submission(project, out, "site_redcap", received_at=RECEIVED)
    assert res.totals["rows_quarantined"] == 0 and res.tables["patient"] == 69


@pytest.mark.parametrize("form", ["bulk", "bundles"])
def test_fhir_names_identifiers_narrative_and_displays_are_gone(tmp_path: Path, form: str
                                                                ) -> None:
    project = make_project(tmp_path / "p", sites=("site_fhir",))
    export = tmp_path / "fhir"
    people = identified_fhir(export, form=form)
    out, xw = tmp_path / "out", tmp_path / "secure" / "xw.csv"
    result = deidentify_export(project, export, "site_fhir", out, site_key(), crosswalk=xw)
    data = all_bytes(out)
    _assert_no_identifier(out, people)
    # every resource id is a pseudonym too (EHR ids can be record numbers)
    ids = [r["id"] for r in _resources(export)]
    assert len(ids) > 500
    assert not [i for i in ids[::5] if i.encode() in data]
    changes = result.changes["fhir"]
    assert changes["Patient.name"]["removed"] == 16
    assert changes["Patient.identifier"] == {"pseudonymised": 16, "removed": 16}
    assert changes["Patient.text"]["free_text_removed"] == 16
    dob = {}
    for res in _resources(out):
        if res["resourceType"] == "Patient":
            assert set(res) <= {"resourceType", "id", "meta", "extension", "identifier",
                                "gender", "birthDate", "deceasedDateTime"}
            dob[f"site_fhir-{res['id']}"] = res["birthDate"]
    _dob_moved(people, crosswalk(xw), dob)
    if form == "bundles":  # files were named after the patient: they are renamed
        assert not any(p["id"] in f.name for p in people for f in out.rglob("*.json"))
    ing = ingest_submission(project, out, "site_fhir", received_at=RECEIVED)
    assert ing.totals["rows_quarantined"] == 0 and ing.tables["patient"] == 16


def _resources(folder: Path) -> list[dict[str, Any]]:
    out = []
    for p in sorted(folder.rglob("*")):
        if p.name.endswith(".ndjson"):
            out += [json.loads(x) for x in p.read_text().splitlines() if x]
        elif p.suffix == ".json" and p.name not in ("manifest.json", "deid-manifest.json"):
            doc = json.loads(p.read_text())
            out += [e["resource"] for e in doc.get("entry", [])] if doc.get(
                "resourceType") == "Bundle" else [doc]
    return out
