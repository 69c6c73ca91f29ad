"""Property tests (Hypothesis) for what tests/mapping and tests/ingest do not yet cover:
every mapping operation on arbitrary text (never raises, keeps one value per row, flags only
cells that had a value), the CSV and NDJSON readers on arbitrary bytes, the REDCap reader on
arbitrary cell text, and deidentify's one-offset-per-patient rule on generated exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cart_registry.errors import InputError
from tests.adversarial.conftest import TALLY
from tests.mapping.helpers import props, run_rule

# any text a cell can hold (polars strings are UTF-8: no lone surrogates), plus the strings
# that break parsers: huge numbers, NaN, dates, blanks, markup, formulas
SPECIAL = ["", " ", "\x00", "1e999", "-0", "NaN", "inf", "9" * 400, "31/02/2020",
           "2020-13-01", "UNK", "0x1F", "<script>", "=1+1", "'; DROP TABLE x;--", "\u202e",
           "1,5", "00010", "1" * 20 + ".5", "\t\n"]
cell = st.one_of(st.none(), st.sampled_from(SPECIAL),
                 st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
column = st.lists(cell, min_size=1, max_size=25)

#: one configuration of every operation (redcap_label needs a REDCap dictionary: its
#: absence is a mapping error reported when the rule is built, tested in tests/mapping)
OP_RULES: dict[str, Any] = {
    "rename": "a",
    "cast_int": {"op": "cast", "from": "a", "to": "int"},
    "cast_float_comma": {"op": "cast", "from": "a", "to": "float", "decimal": ","},
    "cast_bool": {"op": "cast", "from": "a", "to": "bool"},
    "parse_date": {"op": "parse_date", "from": "a", "formats": ["%d/%m/%Y", "%Y-%m-%d %H:%M"],
                   "excel_serial": True, "partial": "mid"},
    "map_values": {"op": "map_values", "from": "a", "values": {"1": "x", "UNK": None},
                   "ignore_case": True},
    "convert_units": {"op": "convert_units", "from": "a", "from_unit": "degF",
                      "to_unit": "degC"},
    "convert_units_per_row": {"op": "convert_units", "from": "a", "unit_field": "b",
                              "unit_codes": {"F": "degF", "C": "degC"}, "to_unit": "degC"},
    "per_kg": {"op": "per_kg", "from": "a", "weight_from": "b", "weight_unit": "kg",
               "from_unit": "cells", "to_unit": "e6_cells"},
    "checkbox_set": {"op": "checkbox_set", "field": "cb", "codes": {"1": "x", "2": "y"}},
    "checkbox_bool": {"op": "checkbox_bool", "field": "cb", "codes": ["1"]},
    "split": {"op": "split", "from": "a", "separator": "|", "index": -1},
    "split_list": {"op": "split", "from": "a", "separator": ","},
    "merge": {"op": "merge", "from": ["a", "b"], "separator": "-"},
    "constant": {"op": "constant", "value": "x"},
    "coalesce": {"op": "coalesce", "from": ["a", "b"]},
    "coalesce_rules": {"op": "coalesce", "options": [
        {"op": "parse_date", "from": "a", "formats": ["%Y-%m-%d"]},
        {"op": "parse_date", "from": "b", "formats": ["%d/%m/%Y"]}]},
    "null_if": {"op": "null_if", "from": "a", "values": ["NA", "unknown"]},
    "fill_null": {"from": "a", "steps": [{"op": "fill_null", "value": "none"}]},
    "lookup_construct": {"op": "lookup_construct", "from": "a", "codes": {"K": "tisa-cel"}},
    "patient_id": {"op": "patient_id", "from": "a"},
    "surrogate_key_hash": {"op": "surrogate_key", "from": ["a", "b"], "label": "x"},
    "surrogate_key_join": {"op": "surrogate_key", "method": "join", "from": ["a", "b"]},
    "pipeline": {"from": "a", "steps": [{"op": "split", "separator": " ", "index": 0},
                                        {"op": "cast", "to": "float"},
                                        {"op": "convert_units", "from_unit": "percent",
                                         "to_unit": "fraction"}]},
}


@pytest.mark.parametrize("name", sorted(OP_RULES))
def test_every_operation_on_arbitrary_text(name: str) -> None:
    @props(40)
    @given(a=column, b=column, cb=column)
    def check(a: list[str | None], b: list[str | None], cb: list[str | None]) -> None:
        n = min(len(a), len(b), len(cb))
        frame = pl.DataFrame({"a": a[:n], "b": b[:n], "cb___1": cb[:n], "cb___2": a[:n]},
                             schema={k: pl.String for k in ("a", "b", "cb___1", "cb___2")})
        values, failed = run_rule(frame, OP_RULES[name], missing=("UNK",),
                                  catalog={"tisa-cel": "tisa-cel"})
        assert len(values) == n and len(failed) == n
        for v, f, raw in zip(values, failed, a[:n], strict=True):
            if f:  # a failure is a cell that had a value and lost it
                assert v is None or isinstance(v, list) or name.startswith("coalesce")
            if name in ("rename", "null_if") and raw is not None and raw.strip() and not f:
                # trimmed (Unicode White_Space; Python's strip also takes \x1c-\x1f)
                assert v is None or v.strip() == raw.strip()

    check()
    TALLY["examples"] += 40


@props(150)
@given(data=st.binary(max_size=400), delimiter=st.sampled_from([",", ";", "\t"]),
       careful=st.booleans())
def test_csv_reader_on_arbitrary_bytes(tmp_path_factory: pytest.TempPathFactory, data: bytes,
                                       delimiter: str, careful: bool) -> None:
    from cart_registry.readers.csv_reader import CsvFormat, read_csv_text

    path = tmp_path_factory.mktemp("bytes") / "x.csv"
    path.write_bytes(b"a,b,c\n".replace(b",", delimiter.encode()) + data)
    TALLY["examples"] += 1
    try:
        out = read_csv_text(path, CsvFormat(encoding="detect", delimiter=delimiter),
                            careful=careful)
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    # every data row is a frame row or a broken (quarantined) one: none is lost
    assert out.rows_read == out.frame.height + len(out.broken)


@props(150)
@given(data=st.binary(max_size=600))
def test_ndjson_lines_on_arbitrary_bytes(data: bytes) -> None:
    from cart_registry.fhir.ndjson import iter_ndjson

    TALLY["examples"] += 1
    items = list(iter_ndjson(io.BytesIO(data)))
    lines = [x[:-1] if x.endswith(b"\r") else x for x in data.split(b"\n")]
    assert len(items) == sum(1 for x in lines if x and not x.isspace())
    for it in items:
        assert (it.value is None) != (it.fault_kind is None)


text_cell = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00\r"),
                    max_size=15)


@props(60)
@given(rows=st.lists(st.tuples(text_cell, text_cell), min_size=1, max_size=10))
def test_redcap_cells_round_trip(tmp_path_factory: pytest.TempPathFactory,
                                 rows: list[tuple[str, str]]) -> None:
    from cart_registry.readers.csv_reader import CsvFormat
    from cart_registry.readers.redcap import read_redcap_export

    folder = tmp_path_factory.mktemp("rc")
    (folder / "dict.csv").write_text(
        "field_name,form_name,field_type,field_label\nrecord_id,demo,text,Id\n"
        "note,demo,text,Note\nother,demo,text,Other\n")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL)
    w.writerow(["record_id", "note", "other"])
    w.writerows([(f"R{i}", a, b) for i, (a, b) in enumerate(rows)])
    (folder / "data.csv").write_text(buf.getvalue())
    TALLY["examples"] += 1
    out = read_redcap_export([folder / "data.csv"], folder / "dict.csv", CsvFormat())
    assert out.rows_read["data.csv"] == len(rows)
    got = out.frame.select("note", "other").rows() if out.frame is not None else []
    assert got == [tuple(v if v != "" else None for v in r) for r in rows]


patient = st.sampled_from([f"P{i}" for i in range(6)])
day = st.dates(min_value=dt.date(2001, 1, 1), max_value=dt.date(2022, 12, 31))


@props(12)
@given(inf=st.lists(st.tuples(patient, day), min_size=1, max_size=12),
       fu=st.lists(st.tuples(patient, day), min_size=1, max_size=6, unique_by=lambda t: t[0]))
def test_one_offset_per_patient_across_files(tmp_path_factory: pytest.TempPathFactory,
                                             inf: list[tuple[str, dt.date]],
                                             fu: list[tuple[str, dt.date]]) -> None:
    from cart_registry.deid.api import deidentify_export
    from tests.deid.support import crosswalk, site_key, tiny_site

    root = tmp_path_factory.mktemp("prop")
    data = {
        "patients.csv": "pid,sex,dob,dx\n" + "".join(
            f"{p},F,01/02/1999,\n" for p in sorted({p for p, _ in inf + fu})),
        "infusions.csv": "pid,n,product,date\n" + "".join(
            f"{p},{i},tisa-cel,{d:%Y-%m-%d}\n" for i, (p, d) in enumerate(inf)),
        "followup.csv": "pid,last,vital,detail\n" + "".join(
            f"{p},{d:%d/%m/%Y},A,\n" for p, d in fu),
    }
    project, export = tiny_site(root, data=data)
    deidentify_export(project, export, "site_tiny", root / "out", site_key(),
                      crosswalk=root / "xw.csv")
    xw = crosswalk(root / "xw.csv")
    back = {r["pseudonym"].split("-", 1)[1]: (k, int(r["offset_days"])) for k, r in xw.items()}

    def undo(name: str, col: str, fmt: str) -> list[tuple[str, dt.date]]:
        rows = csv.DictReader(io.StringIO((root / "out" / name).read_text()))
        out = []
        for r in rows:
            orig, off = back[r["pid"].split("-", 1)[1]]
            when = dt.datetime.strptime(r[col], fmt).date()
            assert -365 <= off <= -1
            out.append((orig, when - dt.timedelta(days=off)))
        return out

    TALLY["examples"] += 1
    assert sorted(undo("infusions.csv", "date", "%d/%m/%Y")) == sorted(inf)
    assert sorted(undo("followup.csv", "last", "%d/%m/%Y")) == sorted(fu)

