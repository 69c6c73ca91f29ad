"""Located problems: every quarantined resource names file, row, resource and element path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from cart_registry.fhir.conventions import cs, ext
from cart_registry.fhir.export import read_export
from cart_registry.project import Project

RO = cs("registry-observation")


def patient(pid: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "gender": "female", "birthDate": "2012-04-05",
            "extension": [{"url": ext("registry-status"), "valueCode": "included"}]}


def last_contact(oid: str, subject: str, date: str = "2023-01-02T10:00:00-05:00",
                 **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": oid, "status": "final",
            "code": {"coding": [{"system": RO, "code": "last-contact"}]},
            "subject": {"reference": subject}, "effectiveDateTime": date,
            "component": [{"code": {"coding": [{"system": RO, "code": "vital-status"}]},
                           "valueCodeableConcept": {"coding": [
                               {"system": cs("vital-status"), "code": "alive"}]}}],
            **extra}


def adverse_event(aid: str, subject: str) -> dict[str, Any]:
    return {"resourceType": "AdverseEvent", "id": aid, "actuality": "actual",
            "subject": {"reference": subject}, "date": "2021-05-01",
            "event": {"coding": [{"system": cs("toxicity-type"), "code": "crs"}]}}


def grade(oid: str, subject: str, focus: str, value: int) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": oid, "status": "final",
            "code": {"coding": [{"system": RO, "code": "toxicity-grade"}]},
            "subject": {"reference": subject}, "focus": [{"reference": focus}],
            "valueInteger": value}


def write_ndjson(folder: Path, name: str, resources: list[dict[str, Any] | bytes]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [r if isinstance(r, bytes) else orjson.dumps(r) for r in resources]
    (folder / name).write_bytes(b"".join(line + b"\n" for line in lines))


def by_code(read: Any) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for p in read.problems:
        out.setdefault(p.reason_code, []).append(p)
    return out


def test_unresolved_and_ambiguous_references_are_reported(tmp_path: Path) -> None:
    folder = tmp_path / "bulk"
    write_ndjson(folder, "Patient.ndjson", [patient("p1"), patient("dup")])
    write_ndjson(folder, "Patient2.ndjson", [patient("dup")])
    write_ndjson(folder, "Observation.ndjson", [
        last_contact("lc1", "Patient/p1"),
        last_contact("lc2", "Patient/nobody"),
        last_contact("lc3", "Patient/dup"),
        last_contact("lc4", "Group/p1"),
    ])
    read = read_export(folder)
    probs = by_code(read)
    (unres, wrong_type) = sorted(probs["unresolved_reference"], key=lambda p: p.row)
    assert (unres.file, unres.row, unres.key, unres.path) == (
        "Observation.ndjson", 2, "Observation/lc2", "Observation.subject.reference")
    assert unres.value == "Patient/nobody"
    assert wrong_type.row == 4
    (amb,) = probs["ambiguous_reference"]
    assert (amb.row, amb.key, amb.path) == (3, "Observation/lc3", "Observation.subject.reference")
    assert "2 resources match" in amb.message
    assert [r["_source_key"] for r in read.rows["fhir:last_contact"]] == ["Observation/lc1"]


def test_structure_value_sets_and_dates_are_located(tmp_path: Path) -> None:
    folder = tmp_path / "bulk"
    write_ndjson(folder, "Patient.ndjson", [patient("p1")])
    write_ndjson(folder, "Observation.ndjson", [
        last_contact("ok", "Patient/p1", "2015-04"),            # partial date: valid FHIR
        last_contact("baddate", "Patient/p1", "2015-13-45"),
        last_contact("badstatus", "Patient/p1", status="done"),
        last_contact("withdrawn", "Patient/p1", status="entered-in-error"),
        {"resourceType": "Observation", "id": "nocode", "status": "final",
         "subject": {"reference": "Patient/p1"}, "category": [{"coding": [
             {"system": cs("registry-observation-category"), "code": "baseline"}]}]},
    ])
    read = read_export(folder)
    probs = by_code(read)
    (bad_date,) = probs["invalid_date"]
    assert (bad_date.row, bad_date.path) == (2, "Observation.effectiveDateTime")
    (bad_status,) = probs["not_in_value_set"]
    assert (bad_status.row, bad_status.path, bad_status.value) == (3, "Observation.status",
                                                                   "done")
    (missing,) = probs["missing_required"]
    assert (missing.row, missing.path) == (5, "Observation.code")
    assert read.rows_ignored["Observation.ndjson"]["status entered-in-error: Observation"] == 1
    (row,) = read.rows["fhir:last_contact"]
    assert row["last_contact_date"] == "2015-04"  # kept as text with its precision


def test_grade_observations_merge_or_conflict(tmp_path: Path) -> None:
    folder = tmp_path / "bulk"
    write_ndjson(folder, "Patient.ndjson", [patient("p1")])
    write_ndjson(folder, "AdverseEvent.ndjson", [adverse_event("ae1", "Patient/p1"),
                                                 adverse_event("ae2", "Patient/p1")])
    write_ndjson(folder, "Observation.ndjson", [
        grade("g1", "Patient/p1", "AdverseEvent/ae1", 2),
        grade("g2a", "Patient/p1", "AdverseEvent/ae2", 1),
        grade("g2b", "Patient/p1", "AdverseEvent/ae2", 3),
        grade("g3", "Patient/p1", "AdverseEvent/missing", 1),
    ])
    read = read_export(folder)
    rows = {r["tox_id"]: r for r in read.rows["fhir:toxicity"]}
    assert rows["ae1"]["grade_reported"] == "2"
    assert rows["ae2"]["grade_reported"] is None  # two grades: not chosen
    probs = by_code(read)
    assert sorted(p.key for p in probs["conflicting_resources"]) == [
        "Observation/g2a", "Observation/g2b"]
    (unres,) = probs["unresolved_reference"]
    assert unres.path == "Observation.focus[0].reference"
    merged = read.rows_ignored["Observation.ndjson"]
    assert merged["merged into the fhir:toxicity row of its AdverseEvent: Observation"] == 1
    assert read.paths["fhir:toxicity"]["grade_reported"].endswith(".valueInteger")


def test_bundle_urn_and_contained_references(tmp_path: Path) -> None:
    pid = "8f0e6b1e-0000-4000-8000-000000000001"
    lc = last_contact("lc", f"urn:uuid:{pid}")
    bad = last_contact("lc-bad", "#nothing-contained")
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": f"urn:uuid:{pid}", "resource": patient(pid)},
        {"fullUrl": "urn:uuid:8f0e6b1e-0000-4000-8000-000000000002", "resource": lc},
        {"fullUrl": "urn:uuid:8f0e6b1e-0000-4000-8000-000000000003", "resource": bad},
        {"request": {"method": "DELETE", "url": "Observation/old"}},
    ]}
    folder = tmp_path / "bundles"
    folder.mkdir()
    (folder / "b.json").write_text(json.dumps(bundle), encoding="utf-8")
    read = read_export(folder)
    assert [r["patient_id"] for r in read.rows["fhir:last_contact"]] == [pid]
    (p,) = read.problems
    assert (p.file, p.row, p.key, p.reason_code) == ("b.json", 2, "Observation/lc-bad",
                                                     "unresolved_reference")
    assert read.rows_ignored["b.json"] == {"entry without a resource (DELETE): Bundle": 1}


def test_ingest_issues_carry_reason_codes(tmp_path: Path, fhir_project: Path) -> None:
    from cart_registry.canonical.store import partition_dir
    from cart_registry.fhir import ingest_fhir_submission

    folder = tmp_path / "bulk"
    write_ndjson(folder, "Patient.ndjson", [patient("p1")])
    write_ndjson(folder, "Observation.ndjson", [last_contact("lc1", "Patient/p1"),
                                                last_contact("lc2", "Patient/p9"),
                                                b"not json"])
    project = Project.find(fhir_project)
    res = ingest_fhir_submission(project, folder, "site_fhir", received_at="2024-01-01T00:00:00Z")
    assert res.ok
    assert res.issues_by_reason["unresolved_reference"] == 1
    assert res.issues_by_reason["invalid_json"] == 1
    issues = pl.read_parquet(partition_dir(project.data_dir, "_ingest_issue", "site_fhir",
                                           res.submission_id) / "part-0.parquet")
    lines = sorted(issues.filter(pl.col("source_file") == "Observation.ndjson")
                   ["source_row"].to_list())
    assert lines == [2, 3]
    assert res.tables["follow_up"] == 1 and res.totals["rows_quarantined"] == 2


def test_a_partial_birth_date_is_imputed_and_counted(tmp_path: Path, fhir_project: Path) -> None:
    from cart_registry.canonical.store import partition_dir
    from cart_registry.fhir import ingest_fhir_submission

    folder = tmp_path / "bulk"
    write_ndjson(folder, "Patient.ndjson", [
        patient("p1"), {**patient("p2"), "birthDate": "2012-04"},
        {**patient("p3"), "birthDate": "2011"}])
    project = Project.find(fhir_project)
    res = ingest_fhir_submission(project, folder, "site_fhir", received_at="2024-01-01T00:00:00Z")
    assert res.ok and res.tables["patient"] == 3 and res.totals["rows_quarantined"] == 0
    rows = pl.read_parquet(partition_dir(project.data_dir, "patient", "site_fhir",
                                         res.submission_id) / "part-0.parquet")
    got = dict(zip(rows["patient_id"].to_list(), rows["birth_date"].cast(pl.String).to_list(),
                   strict=True))
    assert got == {"site_fhir-p1": "2012-04-05", "site_fhir-p2": "2012-04-15",
                   "site_fhir-p3": "2011-07-01"}
    manifest = json.loads(Path(res.manifest_path).read_text(encoding="utf-8"))
    (entry,) = [e for e in manifest["lineage"]
                if e["table"] == "patient" and e["column"] == "birth_date"]
    assert entry["counts"] == {"imputed_day": 1, "imputed_month_and_day": 1}


def test_bundle_shell_problems_are_reported_without_quarantining_entries(
        tmp_path: Path, fhir_project: Path) -> None:
    from cart_registry.canonical.store import partition_dir
    from cart_registry.fhir import ingest_fhir_submission

    bundle = {"resourceType": "Bundle", "id": "b1", "type": "collection", "entry": [
        {"fullUrl": "Patient/p1", "resource": patient("p1")},          # not an absolute URL
        {"fullUrl": "urn:uuid:8f0e6b1e-0000-4000-8000-000000000002",
         "resource": last_contact("lc1", "Patient/p1")},
    ]}
    folder = tmp_path / "bundles"
    folder.mkdir()
    (folder / "b.json").write_text(json.dumps(bundle), encoding="utf-8")
    project = Project.find(fhir_project)
    res = ingest_fhir_submission(project, folder, "site_fhir", received_at="2024-01-01T00:00:00Z")
    assert res.ok and res.tables["patient"] == 1 and res.tables["follow_up"] == 1
    assert res.totals["rows_quarantined"] == 0
    assert res.issues_by_action == {"reported": 1}
    issues = pl.read_parquet(partition_dir(project.data_dir, "_ingest_issue", "site_fhir",
                                           res.submission_id) / "part-0.parquet")
    (row,) = issues.rows(named=True)
    assert (row["source_file"], row["source_row"], row["source_field"], row["value"],
            row["reason_code"], row["action"], row["raw_row"]) == (
        "b.json", 0, "Bundle.entry[0].fullUrl", "Patient/p1", "bundle_shell", "reported", None)
    assert row["reason"].startswith("bundle_structure: Bundle.entry[0].fullUrl: ")


def test_quarantined_resources_carry_their_id_and_element_path(
        tmp_path: Path, fhir_project: Path) -> None:
    from cart_registry.canonical.store import partition_dir
    from cart_registry.fhir import ingest_fhir_submission

    folder = tmp_path / "bulk"
    write_ndjson(folder, "Patient.ndjson", [patient("p1")])
    write_ndjson(folder, "Observation.ndjson", [last_contact("lc2", "Patient/p9")])
    project = Project.find(fhir_project)
    res = ingest_fhir_submission(project, folder, "site_fhir", received_at="2024-01-01T00:00:00Z")
    issues = pl.read_parquet(partition_dir(project.data_dir, "_ingest_issue", "site_fhir",
                                           res.submission_id) / "part-0.parquet")
    (row,) = issues.rows(named=True)
    assert (row["source_file"], row["source_row"], row["source_key"], row["source_field"],
            row["value"], row["action"]) == (
        "Observation.ndjson", 1, "Observation/lc2", "Observation.subject.reference",
        "Patient/p9", "row_quarantined")
