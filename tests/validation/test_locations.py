"""Every reported location points at the offending cell of the site's own file."""

from __future__ import annotations

import csv
from pathlib import Path

from tests.validation.conftest import DefectRegistry


def cell(export_dir: Path, file: str, row: int, field: str) -> str:
    with (export_dir / file).open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return rows[row - 1][field]  # source_row: 1-based data row, header not counted


def test_locations_point_at_the_value(defect_registry: DefectRegistry) -> None:
    export = defect_registry.root / "exports" / "site_d"
    checked = 0
    for i in defect_registry.report.issues:
        src = i["source"]
        if i["rule"]["id"].startswith("conformance.") or i["value_display"] is None:
            continue  # the hand-made ingest issues point at invented cells
        if i["canonical"]["column"] in ("cytogenetic_lesions",):
            continue  # a list is rendered differently in the CSV
        assert src["file"] and src["row"] and src["field"], i
        assert src["field"].endswith(i["canonical"]["column"])  # from the manifest lineage
        got = cell(export, src["file"], src["row"], src["field"])
        if i["value_display"] in ("true", "false"):  # the site writes REDCap yes/no as 1/0
            got = {"1": "true", "0": "false"}[got]
        assert got == i["value_display"], i
        # the REDCap locator agrees with the row: record and repeat instance
        raw = cell(export, src["file"], src["row"], "record_id")
        assert src["record_id"] == raw
        if src["redcap_repeat_instance"] is not None:
            assert str(src["redcap_repeat_instance"]) == cell(
                export, src["file"], src["row"], "redcap_repeat_instance")
        assert i["canonical"]["mapping_rule"] == f"site_d.{i['canonical']['table']}"
        checked += 1
    assert checked >= 25


def test_ingest_issue_location_is_kept(defect_registry: DefectRegistry) -> None:
    i = next(x for x in defect_registry.report.issues if x["rule"]["id"] == "conformance.date_parse")
    assert (i["source"]["file"], i["source"]["row"], i["source"]["field"]) == (
        "enrolment.csv", 3, "enro_birth_date")
    assert (i["source"]["record_id"], i["source"]["redcap_event_name"]) == ("P003", "baseline_arm_1")
    assert i["canonical"]["mapping_rule"] == "site_d.patient"
