"""The defect mode: every site gets every kind of defect, and the answer key points at it."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path

import pytest

from cart_registry.synth.defects import KEY_COLUMNS
from tests.synth.conftest import SAMPLE

KEY = SAMPLE / "with_defects" / "answer_key.csv"
ENCODING = {"site_edc": "latin-1"}


def _key() -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(KEY.read_text(encoding="utf-8"))))


def _lines(site: str, rel: str, folder: Path) -> list[str]:
    raw = (folder / site / rel).read_bytes().decode(ENCODING.get(site, "utf-8"))
    return raw.replace("\r\n", "\n").split("\n")


def test_answer_key_columns() -> None:
    header = KEY.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header == KEY_COLUMNS
    ids = [r["defect_id"] for r in _key()]
    assert len(ids) == len(set(ids)) >= 40


@pytest.mark.parametrize("site", ["site_redcap", "site_edc", "site_fhir"])
def test_every_site_has_every_kind_of_defect(site: str) -> None:
    rules = Counter(r["rule"] for r in _key() if r["site_id"] == site)
    needed = {"conformance.date_parse", "R08", "R04", "conformance.isin",
              "conformance.not_nullable", "R14", "R13", "duplicate_patient", "malformed_row",
              "R01", "R10"}
    assert needed <= set(rules), needed - set(rules)
    assert rules["orphan_row"] or rules["fhir.reference_unresolved"]
    if site == "site_fhir":
        assert rules["fhir.reference_unresolved"] >= 2


def test_key_rows_point_at_the_edited_lines() -> None:
    for r in _key():
        site, rel = r["site_id"], r["source_file"]
        path = SAMPLE / "with_defects" / site / rel
        assert path.is_file(), r
        if rel.endswith(".csv"):
            bad = _lines(site, rel, SAMPLE / "with_defects")
            clean = set(_lines(site, rel, SAMPLE))
            line = bad[int(r["source_row"])]  # row N is line N+1; index N skips the header
            if r["rule"] == "duplicate_patient" and site == "site_edc":
                assert bad.count(line) == 2, r["defect_id"]  # an exact repeat of a record
            else:
                assert line not in clean, r["defect_id"]
            assert line.startswith(r["record"]), r["defect_id"]
        elif rel.endswith(".ndjson"):
            line = _lines(site, rel, SAMPLE / "with_defects")[int(r["source_row"]) - 1]
            assert r["record"].split("/")[1] in line or r["locator"].split("/")[1] in line
            assert line not in set(_lines(site, rel, SAMPLE))
        elif r["rule"] != "malformed_row":
            bundle = json.loads(path.read_text(encoding="utf-8"))
            res = bundle["entry"][int(r["source_row"])]["resource"]
            assert r["locator"].endswith(res["id"]), r["defect_id"]


def test_fhir_defects_are_in_both_forms() -> None:
    rows = [r for r in _key() if r["site_id"] == "site_fhir" and r["rule"] != "malformed_row"]
    by_form = Counter((r["record"], r["rule"], r["source_file"].split("/")[0]) for r in rows)
    records = {(rec, rule) for rec, rule, _ in by_form}
    for rec, rule in records:
        assert by_form[(rec, rule, "bulk")] == by_form[(rec, rule, "bundles")] == 1, rec


def test_malformed_lines_are_malformed() -> None:
    for r in _key():
        if r["rule"] != "malformed_row":
            continue
        site, rel = r["site_id"], r["source_file"]
        path = SAMPLE / "with_defects" / site / rel
        if rel.endswith(".csv"):
            delim = ";" if site == "site_edc" else ","
            text = path.read_bytes().decode(ENCODING.get(site, "utf-8"))
            rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delim))
            assert len(rows[int(r["source_row"])]) != len(rows[0])
        elif rel.endswith(".ndjson"):
            line = _lines(site, rel, SAMPLE / "with_defects")[int(r["source_row"]) - 1]
            with pytest.raises(json.JSONDecodeError):
                json.loads(line)
        else:
            with pytest.raises(json.JSONDecodeError):
                json.loads(path.read_text(encoding="utf-8"))


def test_clean_exports_are_untouched_by_defects() -> None:
    for site in ("site_redcap", "site_edc"):
        for p in sorted((SAMPLE / site).iterdir()):
            assert (SAMPLE / "with_defects" / site / p.name).is_file()
