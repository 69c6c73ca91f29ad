"""The REDCap reader on REDCapR's real test projects (../shared/realdata/redcapr-test-projects).

Expected structure comes from the files themselves, read independently here with the csv
module, and from their own documentation (event.csv, checkboxes-1's `desired_result`, the
decimal-comma/decimal-dot twin projects), never from the reader's output.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from pathlib import Path

import polars as pl
import pytest

from cart_registry.errors import InputError
from cart_registry.readers.base import KEY_COL, ROW_COL
from cart_registry.readers.csv_reader import CsvFormat
from cart_registry.readers.redcap import parse_choices, read_dictionary, read_redcap_export
from tests.conftest import shared_path
from tests.mapping.helpers import run_rule

PROJECTS = [
    "arm-multiple-delete", "arm-single-delete", "arm-single-longitudinal",
    "blank-for-gray-status", "checkboxes-1", "clinical-trial-1", "dag", "dag-write",
    "decimal-comma", "decimal-dot", "empty-rows", "file-repo", "metadata-write",
    "multilevel-model-1", "project-color-boxes", "repeating-instruments", "simple",
    "single-column", "survey", "validation-types-1", "vignette-repeating",
]
EMPTY = {"empty-rows", "single-column"}  # their data.csv is one byte: no header at all


def project_dir(name: str) -> Path:
    return shared_path("realdata", "redcapr-test-projects", name)


def dictionary_of(folder: Path) -> Path:
    return next(folder.glob("dictiona*.csv"))  # decimal-comma's is misspelt upstream


def read(name: str):  # type: ignore[no-untyped-def]
    folder = project_dir(name)
    return read_redcap_export([folder / "data.csv"], dictionary_of(folder), CsvFormat(),
                              export_dir=folder)


def raw_rows(name: str) -> list[dict[str, str]]:
    with (project_dir(name) / "data.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("name", PROJECTS)
def test_every_project_reads_and_accounts_for_every_row(name: str) -> None:
    if name in EMPTY:
        with pytest.raises(InputError, match="data.csv: no header row"):
            read(name)
        return
    ex = read(name)
    rows = raw_rows(name)
    assert ex.rows_read == {"data.csv": len(rows)}
    rid = ex.dictionary.record_id
    assert ex.record_ids == list(dict.fromkeys(r[rid] for r in rows))
    # every data row is in at least one instrument table or counted as holding no data
    claimed = set().union(*[set(t.frame.get_column(ROW_COL)) for t in ex.tables.values()])
    unclaimed = sum(ex.rows_ignored.get("data.csv", {}).values())
    assert len(claimed) + unclaimed == len(rows)
    assert set(ex.tables) == set(ex.dictionary.forms)


def test_longitudinal_events_match_event_csv() -> None:
    for name in ("arm-single-longitudinal", "arm-multiple-delete"):
        folder = project_dir(name)
        with (folder / "event.csv").open(newline="", encoding="utf-8") as fh:
            declared = {r["unique_event_name"] for r in csv.DictReader(fh)}
        ex = read(name)
        assert ex.longitudinal
        frame = next(iter(ex.tables.values())).frame
        seen = set(frame.get_column("redcap_event_name"))
        assert seen <= declared and seen
        keys = frame.get_column(KEY_COL).to_list()
        assert all(k.startswith("record=") and "|event=" in k for k in keys)
    frame = read("arm-single-longitudinal").tables["collection"].frame
    assert set(frame.get_column("redcap_event_name")) == {"intake_arm_1", "dischage_arm_1",
                                                           "follow_up_arm_1"}


@pytest.mark.parametrize("name", ["repeating-instruments", "vignette-repeating", "multilevel-model-1"])
def test_repeating_instruments_and_instances(name: str) -> None:
    rows = raw_rows(name)
    want: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        if r["redcap_repeat_instrument"]:
            want[r["redcap_repeat_instrument"]][r[next(iter(r))]] += 1
    ex = read(name)
    for form, per_record in want.items():
        frame = ex.tables[form].frame
        rid = ex.dictionary.record_id
        assert Counter(frame.get_column(rid).to_list()) == per_record
        inst = frame.group_by(rid).agg(pl.col("redcap_repeat_instance").cast(pl.Int64).sort())
        for record, instances in inst.iter_rows():
            assert instances == list(range(1, per_record[record] + 1))
        assert all(f"|instrument={form}|instance=" in k
                   for k in frame.get_column(KEY_COL).to_list())


def test_vignette_repeating_known_counts() -> None:
    # the vignette: record 1 has 3 blood pressures, 2 labs, 2 images; record 2 has 3 images
    ex = read("vignette-repeating")
    counts = {f: Counter(t.frame.get_column("record_id").to_list()) for f, t in ex.tables.items()}
    assert counts["blood_pressure"] == {"1": 3, "2": 3}
    assert counts["laboratory"] == {"1": 2, "2": 2}
    assert counts["image"] == {"1": 2, "2": 3}
    assert counts["intake"] == {"1": 1, "2": 1}


def test_checkboxes_match_the_projects_own_expectations() -> None:
    # checkboxes-1's `desired_result` says: record 1 ticks check_one 1 and check_two a, c;
    # record 3 ticks check_one 1-4
    ex = read("checkboxes-1")
    frame = ex.tables["form_2"].frame
    one, _ = run_rule(frame, {"op": "checkbox_set", "field": "check_one"})
    two, _ = run_rule(frame, {"op": "checkbox_set", "field": "check_two"})
    got = dict(zip(frame.get_column("record_id").to_list(), zip(one, two, strict=True), strict=True))
    assert got["1"] == (["1"], ["a", "c"])
    assert got["3"] == (["1", "2", "3", "4"], None)
    assert got["2"] == (None, ["b", "d"])
    assert "4" not in got  # nothing ticked and no other field: the row holds no form_2 data


def test_comma_decimal_project_reads_the_same_numbers_as_its_dot_twin() -> None:
    values = {}
    for name in ("decimal-comma", "decimal-dot"):
        ex = read(name)
        frame = ex.tables["demographics"].frame
        from tests.mapping.helpers import context

        ctx = context(frame)
        ctx.settings.dictionary = ex.dictionary
        from cart_registry.mapping.apply import build_rule
        from cart_registry.mapping.ops import CastOp

        out = frame.select(*[
            build_rule(ctx, CastOp.model_validate({"op": "cast", "from": f, "to": "float"})).expr.alias(f)
            for f in ("height", "weight")
        ])
        values[name] = out.rows()
    assert values["decimal-comma"] == values["decimal-dot"] == [
        (1.54, 52.3), (1.84, 92.3), (1.95, 123.4), (1.61, 45.9)]


def test_ui_and_api_dictionary_headers_give_the_same_fields() -> None:
    folder = project_dir("simple")
    ui = read_dictionary(folder / "dictionary.csv")
    api = read_dictionary(folder / "metadata.csv")
    assert (ui.style, api.style) == ("ui", "api")
    # the two files are different versions of the project (age became a calc field), but
    # they declare the same fields on the same forms, and the same race checkbox
    assert [(f.name, f.form) for f in ui.fields] == [(f.name, f.form) for f in api.fields]
    race_ui, race_api = ui.field("race"), api.field("race")
    assert race_ui is not None and race_api is not None
    assert race_ui.field_type == race_api.field_type == "checkbox"
    assert race_ui.choices == race_api.choices and len(race_ui.choices) == 6


def test_label_export_is_turned_back_into_raw_codes(tmp_path: Path) -> None:
    """Write a label export of repeating-instruments (as REDCap would) and read it back."""
    folder = project_dir("repeating-instruments")
    d = read_dictionary(dictionary_of(folder))
    rows = raw_rows("repeating-instruments")
    labels = {f.name: f.choices for f in d.fields if f.choices}
    status = {"0": "Incomplete", "1": "Unverified", "2": "Complete"}
    out = tmp_path / "data.csv"
    with out.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        for r in rows:
            lab = dict(r)
            for k, v in r.items():
                if k in labels and v:
                    lab[k] = labels[k][v]
                elif k.endswith("_complete") and v:
                    lab[k] = status[v]
                elif k == "redcap_repeat_instrument" and v == "bp":
                    lab[k] = "BP"
            w.writerow(lab)
    raw = read("repeating-instruments")
    back = read_redcap_export([out], dictionary_of(folder), CsvFormat(), values="label")
    for form in raw.tables:
        a = raw.tables[form].frame.drop("_source_file")
        b = back.tables[form].frame.drop("_source_file")
        assert a.equals(b), form


def test_unknown_column_names_file_and_suggests(tmp_path: Path) -> None:
    folder = project_dir("repeating-instruments")
    data = (folder / "data.csv").read_text(encoding="utf-8").replace("bp_systolic", "bp_systolc", 1)
    (tmp_path / "data.csv").write_text(data, encoding="utf-8")
    with pytest.raises(InputError, match="data.csv: header: column 'bp_systolc' is not in the "
                                         "REDCap dictionary .*did you mean 'bp_systolic'"):
        read_redcap_export([tmp_path / "data.csv"], dictionary_of(folder), CsvFormat())


def test_parse_choices() -> None:
    assert parse_choices("1, Yes | 2, No") == {"1": "Yes", "2": "No"}
    assert parse_choices("a,A|b , B, with comma|c") == {"a": "A", "b": "B, with comma", "c": "c"}
