"""Date rules (age cap, partial and Excel dates, unparseable cells), free text, the output
folder and the options that are refused."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest

from cart_registry.deid.api import deidentify_export
from cart_registry.deid.keys import SiteKey
from cart_registry.deid.patients import DAY_ZERO
from cart_registry.errors import CartRegistryError, ConfigError, InputError
from cart_registry.ingest import ingest_submission
from tests.deid.support import (
    RECEIVED,
    TINY_DATA,
    TINY_SITE,
    crosswalk,
    site_key,
    tiny_site,
)


def _csv(path: Path) -> dict[str, dict[str, str]]:
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    return {r["pid"]: r for r in rows}


def _run(tmp_path: Path, **kw: object) -> tuple[object, dict[str, dict[str, str]], Path]:
    project, export = tiny_site(tmp_path)
    out, xw = tmp_path / "out", tmp_path / "xw.csv"
    result = deidentify_export(project, export, "site_tiny", out, site_key(), crosswalk=xw,
                               **kw)  # type: ignore[arg-type]
    return result, crosswalk(xw), out


def _d(text: str) -> dt.date:
    return dt.date.fromisoformat(text) if "-" in text else dt.datetime.strptime(
        text, "%d/%m/%Y").date()


def test_dates_are_shifted_capped_imputed_or_emptied(tmp_path: Path) -> None:
    result, xw, out = _run(tmp_path)
    pats = _csv(out / "patients.csv")
    by_orig = {k: (xw[k]["pseudonym"], int(xw[k]["offset_days"])) for k in xw}
    p1, off1 = by_orig["P1"]
    # P1 is 96 at last contact: the birth date becomes last contact minus 90 years, shifted
    assert _d(pats[p1]["dob"]) == dt.date(1926, 6, 1) + dt.timedelta(days=off1)
    assert result.age_capped == 1  # type: ignore[attr-defined]
    # P2's partial date is imputed as the mapping would (15 June), then shifted
    p2, off2 = by_orig["P2"]
    assert _d(pats[p2]["dob"]) == dt.date(2010, 6, 15) + dt.timedelta(days=off2)
    assert pats[p2]["dx"] == "UNK"  # a missing-data code is not a date: kept as it is
    p3, _ = by_orig["P3"]
    assert pats[p3]["dob"] == ""  # 31/02 is no date: emptied (and reported)
    p4, off4 = by_orig["P4"]
    assert _d(pats[p4]["dob"]) == dt.date(2020, 1, 1) + dt.timedelta(days=off4)  # Excel
    # dates keep the format the mapping reads (the rule's first format)
    assert all(len(r["dob"]) in (0, 10) and r["dob"][2:3] in ("", "/") for r in pats.values())
    inf = list(csv.DictReader(io.StringIO((out / "infusions.csv").read_text())))
    orphan = [r for r in inf if not r["pid"]]
    assert orphan and orphan[0]["date"] == ""  # a date without a patient cannot be shifted
    changes = result.changes  # type: ignore[attr-defined]
    assert changes["patients.csv"]["dob"] == {"date_shifted": 3, "emptied_unparseable": 1,
                                              "age_capped": 1}
    assert changes["infusions.csv"]["date"]["emptied_no_patient"] == 1
    assert changes["followup.csv"]["detail"] == {"emptied": 1}  # free text (cause_detail)
    assert b"Quillfeather" not in (out / "followup.csv").read_bytes()
    warnings = " ".join(result.warnings)  # type: ignore[attr-defined]
    assert "could not be parsed" in warnings and "without a patient id" in warnings


def test_intervals_mode_counts_days_from_the_first_infusion(tmp_path: Path) -> None:
    yaml_text = TINY_SITE.replace("per_patient_shift", "intervals_only")
    project, export = tiny_site(tmp_path, site_yaml=yaml_text)
    xw_path = tmp_path / "xw.csv"
    deidentify_export(project, export, "site_tiny", tmp_path / "out", site_key(),
                      crosswalk=xw_path)
    xw = crosswalk(xw_path)
    inf = {r["pid"]: r for r in csv.DictReader(io.StringIO(
        (tmp_path / "out" / "infusions.csv").read_text())) if r["pid"]}
    for orig in ("P1", "P2", "P3"):
        assert _d(inf[xw[orig]["pseudonym"]]["date"]) == DAY_ZERO
    fu = _csv(tmp_path / "out" / "followup.csv")
    # P2: infused 2020-03-02, last seen 2023-01-01 -> day 1035
    assert (_d(fu[xw["P2"]["pseudonym"]]["last"]) - DAY_ZERO).days == 1035
    # P4 has no infusion: the anchor is its earliest other date
    assert _d(fu[xw["P4"]["pseudonym"]]["last"]) - DAY_ZERO == dt.date(2023, 3, 3) - dt.date(
        2021, 1, 1)


def test_flagged_free_text_is_kept_and_reported(tmp_path: Path) -> None:
    text = TINY_SITE + "deidentify: {free_text_action: flag}\n"
    project, export = tiny_site(tmp_path, site_yaml=text)
    result = deidentify_export(project, export, "site_tiny", tmp_path / "out", site_key())
    assert b"Quillfeather" in (tmp_path / "out" / "followup.csv").read_bytes()
    assert result.changes["followup.csv"]["detail"] == {"flagged_free_text": 1}
    assert any("scrub them" in w for w in result.warnings)


def test_output_is_deterministic_and_ingests(tmp_path: Path) -> None:
    project, export = tiny_site(tmp_path)
    a, b = tmp_path / "a", tmp_path / "b"
    deidentify_export(project, export, "site_tiny", a, site_key())
    deidentify_export(project, export, "site_tiny", b, site_key())
    for f in sorted(a.iterdir()):
        assert f.read_bytes() == (b / f.name).read_bytes(), f.name
    # running again over an earlier output replaces it (it is a de-identified export)
    deidentify_export(project, export, "site_tiny", a, site_key())
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []
    res = ingest_submission(project, a, "site_tiny", received_at=RECEIVED)
    assert res.tables["patient"] == 4 and res.ok
    manifest = json.loads((a / "deid-manifest.json").read_text())
    assert manifest["key_version"] == "2024-test" and "key_check" in manifest
    assert {f["path"] for f in manifest["files"]} == {"patients.csv", "infusions.csv",
                                                      "followup.csv"}


def _refused(tmp_path: Path, exc: type[Exception], match: str, *, data: dict[str, str] | None
             = None, site_yaml: str = TINY_SITE, out: str = "out", **kw: object) -> None:
    project, export = tiny_site(tmp_path, data=data, site_yaml=site_yaml)
    target = export / "inner" if out == "inside" else tmp_path / out
    with pytest.raises(exc, match=match):
        key = kw.pop("key", site_key())
        assert isinstance(key, SiteKey)
        deidentify_export(project, export, "site_tiny", target, key, **kw)  # type: ignore[arg-type]
    assert not (tmp_path / "out" / "deid-manifest.json").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("case", [
    "policy_none", "mode_mismatch", "key_version", "crosswalk_inside", "out_inside_export",
    "ragged_row", "range_zero", "range_reversed", "range_text", "range_too_wide",
    "dates_without_patient", "out_not_deid", "undecodable"])
def test_refusals_are_one_line_errors(tmp_path: Path, case: str) -> None:
    from tests.deid.support import site_key as key_of

    if case == "policy_none":
        _refused(tmp_path, ConfigError, "date_shift_policy: none",
                 site_yaml=TINY_SITE.replace("per_patient_shift", "none"))
    elif case == "mode_mismatch":
        _refused(tmp_path, ConfigError, "disagrees", mode="intervals")
    elif case == "key_version":
        _refused(tmp_path, ConfigError, "pseudonym_key_version",
                 key=key_of(version="other"))
    elif case == "crosswalk_inside":
        _refused(tmp_path, ConfigError, "inside the output folder",
                 crosswalk=tmp_path / "out" / "xw.csv")
    elif case == "out_inside_export":
        _refused(tmp_path, ConfigError, "must not contain", out="inside")
    elif case == "ragged_row":
        data = dict(TINY_DATA, **{"patients.csv": TINY_DATA["patients.csv"] + "P9,F\n"})
        _refused(tmp_path, InputError, "cannot be de-identified", data=data)
    elif case.startswith("range_"):
        value = {"range_zero": "0-10", "range_reversed": "300-200", "range_text": "a-b",
                 "range_too_wide": "3651"}[case]
        _refused(tmp_path, ConfigError, "shift range", shift_range=value)
    elif case == "dates_without_patient":
        text = TINY_SITE.replace("followup: {files: [followup.csv]}",
                                 "followup: {files: [followup.csv]}\n    visits: "
                                 "{files: [visits.csv]}")
        project, export = tiny_site(tmp_path, site_yaml=text)
        (export / "visits.csv").write_text("visit,when\nV1,2020-01-01\n")
        (project.site_mapping_dir("site_tiny") / "antileukemic_therapy.yaml").write_text(
            "table: antileukemic_therapy\nrules:\n  - id: v\n    source: visits\n    columns:\n"
            "      therapy_id: visit\n      patient_id: {op: constant, value: site_tiny-P1}\n"
            "      therapy_class: {op: constant, value: other}\n"
            "      intent: {op: constant, value: other}\n      start_date: when\n")
        with pytest.raises(ConfigError, match="no field that holds the patient id"):
            deidentify_export(project, export, "site_tiny", tmp_path / "out", site_key())
    elif case == "out_not_deid":
        (tmp_path / "out").mkdir()
        (tmp_path / "out" / "keep-me.txt").write_text("site notes")
        _refused(tmp_path, ConfigError, "refusing to replace")
        assert (tmp_path / "out" / "keep-me.txt").read_text() == "site notes"
    elif case == "undecodable":
        project, export = tiny_site(tmp_path)
        (export / "patients.csv").write_bytes(b"pid,sex,dob,dx\nP1,F,\xff\xfe,2014-05-02\n")
        with pytest.raises(CartRegistryError, match="not valid utf-8"):
            deidentify_export(project, export, "site_tiny", tmp_path / "out", site_key())


def test_an_export_is_not_deidentified_twice(tmp_path: Path) -> None:
    project, export = tiny_site(tmp_path)
    deidentify_export(project, export, "site_tiny", tmp_path / "once", site_key())
    with pytest.raises(ConfigError, match="already de-identified"):
        deidentify_export(project, tmp_path / "once", "site_tiny", tmp_path / "twice",
                          site_key())
