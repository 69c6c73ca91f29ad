"""Every mapping operation, with properties checked by Hypothesis where they exist."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from cart_registry.mapping.ops import OPS
from cart_registry.mapping.ops.dates import EXCEL_EPOCH, check_format
from cart_registry.mapping.ops.units import UNITS, convert
from tests.mapping.helpers import props, run_rule

FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y%m%d", "%d-%b-%Y",
           "%Y-%m-%d %H:%M"]
dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31))


def one(values: list[str | None], rule: dict, **kw: object) -> tuple[list, list[bool]]:
    return run_rule(pl.DataFrame({"x": values}, schema={"x": pl.String}), rule, **kw)


def test_registry_is_closed_and_documented() -> None:
    assert set(OPS) == {
        "rename", "cast", "parse_date", "map_values", "convert_units", "per_kg",
        "checkbox_set", "checkbox_bool", "split", "merge", "constant", "coalesce", "null_if",
        "fill_null", "lookup_construct", "redcap_label", "patient_id", "surrogate_key",
    }
    doc = (__import__("pathlib").Path(__file__).resolve().parents[2] / "docs" / "mapping-spec.md").read_text()
    for name, cls in OPS.items():
        assert f"`{name}`" in doc, name
        assert cls.__doc__, name


# ------------------------------------------------------------------ parse_date
@props(80)
@given(d=dates, fmt=st.sampled_from(FORMATS))
def test_parse_date_accepts_every_valid_date_in_every_format(d: dt.date, fmt: str) -> None:
    text = dt.datetime(d.year, d.month, d.day, 13, 45).strftime(fmt)
    values, failed = one([text], {"op": "parse_date", "from": "x", "formats": FORMATS})
    # %d/%m/%Y and %m/%d/%Y read the same text differently: the first declared format wins
    if fmt == "%m/%d/%Y" and d.day <= 12:
        expected = dt.date(d.year, d.day, d.month)
    else:
        expected = d
    assert values == [expected] and failed == [False]


@props(80)
@given(year=st.integers(1900, 2099), month=st.integers(1, 12), day=st.integers(1, 31),
       fmt=st.sampled_from(["%Y-%m-%d", "%d/%m/%Y"]))
def test_parse_date_rejects_impossible_days(year: int, month: int, day: int, fmt: str) -> None:
    try:
        dt.date(year, month, day)
        valid = True
    except ValueError:
        valid = False
    text = fmt.replace("%Y", f"{year:04d}").replace("%m", f"{month:02d}").replace("%d", f"{day:02d}")
    values, failed = one([text], {"op": "parse_date", "from": "x", "formats": [fmt]})
    assert failed == [not valid]
    assert (values[0] is None) == (not valid)


@pytest.mark.parametrize("text", ["31/02/2020", "2020-13-01", "00/01/2020", "29/02/2021",
                                  "2020-02-30", "03/04/20", "2020/01/01", "tomorrow", "12"])
def test_parse_date_impossible_or_malformed_text_fails(text: str) -> None:
    values, failed = one([text], {"op": "parse_date", "from": "x",
                                  "formats": ["%d/%m/%Y", "%Y-%m-%d"]})
    assert values == [None] and failed == [True]


def test_parse_date_blank_and_missing_codes_are_not_failures() -> None:
    values, failed = one([None, "  ", "UNK"], {"op": "parse_date", "from": "x"}, missing=("UNK",))
    assert values == [None, None, None] and failed == [False, False, False]


@props()
@given(d=st.dates(min_value=dt.date(1900, 1, 2), max_value=dt.date(2099, 12, 31)))
def test_excel_serial_round_trip(d: dt.date) -> None:
    serial = (d - EXCEL_EPOCH).days
    values, failed = one([str(serial), f"{serial}.0"], {"op": "parse_date", "from": "x",
                                                       "excel_serial": True})
    assert values == [d, d] and failed == [False, False]


def test_partial_dates_need_a_rule_and_are_imputed() -> None:
    texts = ["2020-06", "UN/06/2020", "06/2020", "2020", "UNK/UNK/2020", "2020-13"]
    values, failed = one(texts, {"op": "parse_date", "from": "x"})
    assert failed == [True] * 6
    values, failed = one(texts, {"op": "parse_date", "from": "x", "partial": "first"})
    j = dt.date(2020, 6, 1)
    assert values == [j, j, j, dt.date(2020, 1, 1), dt.date(2020, 1, 1), None]
    assert failed == [False] * 5 + [True]
    values, _ = one(texts[:4], {"op": "parse_date", "from": "x", "partial": "mid"})
    assert values == [dt.date(2020, 6, 15)] * 3 + [dt.date(2020, 7, 1)]


@pytest.mark.parametrize("fmt", ["%y-%m-%d", "%d/%m", "%Q-%m-%d"])
def test_date_formats_are_checked(fmt: str) -> None:
    with pytest.raises(ValueError):
        check_format(fmt)


# ------------------------------------------------------------------ map_values
codes = st.text(alphabet="ABCDEF0123", min_size=1, max_size=3)


@props()
@given(table=st.dictionaries(codes, st.sampled_from(["female", "male", "other"]), min_size=1,
                             max_size=5),
       cells=st.lists(st.one_of(st.none(), codes, st.just("UNK")), max_size=20))
def test_map_values_never_invents_a_code(table: dict[str, str], cells: list[str | None]) -> None:
    values, failed = one(cells, {"op": "map_values", "from": "x", "values": table},
                         missing=("UNK",))
    for cell, value, bad in zip(cells, values, failed, strict=True):
        if cell is None or (cell == "UNK" and "UNK" not in table):
            assert value is None and not bad
        elif cell in table:
            assert value == table[cell] and not bad
        else:
            assert value is None and bad
    assert {v for v in values if v is not None} <= set(table.values())


def test_map_values_maps_a_missing_code_when_listed_and_ignores_case_on_request() -> None:
    values, failed = one(["UNK", "f", "F"], {"op": "map_values", "from": "x",
                                             "values": {"F": "female", "UNK": "unknown"},
                                             "ignore_case": True}, missing=("UNK",))
    assert values == ["unknown", "female", "female"] and failed == [False] * 3


def test_map_values_on_a_split_list() -> None:
    rule = {"from": "x", "steps": [{"op": "split", "separator": "|"},
                                   {"op": "map_values", "values": {"A": "KMT2A_r", "B": "none"}}]}
    values, failed = one(["A|B", "A|Z", None], rule)
    assert values[0] == ["KMT2A_r", "none"] and failed == [False, True, False]


def test_map_values_needs_a_list() -> None:
    with pytest.raises(ValidationError):
        one(["a"], {"op": "map_values", "from": "x"})


# ------------------------------------------------------------------ units
pairs = [(a, b) for a in UNITS for b in UNITS if UNITS[a].dimension == UNITS[b].dimension]


@props(100)
@given(pair=st.sampled_from(pairs),
       x=st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False))
def test_unit_conversions_invert(pair: tuple[str, str], x: float) -> None:
    a, b = pair
    there = convert(x, a, b)
    assert math.isclose(convert(there, b, a), x, rel_tol=1e-9, abs_tol=1e-6)
    values, failed = one([repr(x)], {"op": "convert_units", "from": "x", "from_unit": a,
                                     "to_unit": b})
    assert math.isclose(values[0], there, rel_tol=1e-9, abs_tol=1e-9) and failed == [False]


def test_fahrenheit_and_per_row_units() -> None:
    values, _ = one(["98.6", "212"], {"op": "convert_units", "from": "x", "from_unit": "degF",
                                     "to_unit": "degC"})
    assert values == pytest.approx([37.0, 100.0])
    frame = pl.DataFrame({"t": ["100.4", "38", "37", "40"], "u": ["F", "°C", "K", None]})
    values, failed = run_rule(frame, {"op": "convert_units", "from": "t", "unit_field": "u",
                                      "unit_codes": {"F": "degF", "°C": "degC"},
                                      "to_unit": "degC"})
    assert values[:2] == pytest.approx([38.0, 38.0]) and values[2:] == [None, None]
    assert failed == [False, False, True, True]


def test_convert_units_refuses_other_dimensions() -> None:
    from cart_registry.mapping.ops.base import SpecError

    with pytest.raises(SpecError):
        one(["1"], {"op": "convert_units", "from": "x", "from_unit": "kg", "to_unit": "degC"})


@props()
@given(cells=st.integers(1, 10**10), weight=st.floats(2, 150))
def test_per_kg_divides_by_weight(cells: int, weight: float) -> None:
    frame = pl.DataFrame({"n": [str(cells)], "w": [repr(weight)]})
    values, failed = run_rule(frame, {"op": "per_kg", "from": "n", "weight_from": "w",
                                      "from_unit": "cells", "to_unit": "e6_cells"})
    assert values[0] == pytest.approx(cells / 1e6 / weight) and failed == [False]


def test_per_kg_without_weight_fails() -> None:
    frame = pl.DataFrame({"n": ["5e7", None], "w": [None, "20"]})
    values, failed = run_rule(frame, {"op": "per_kg", "from": "n", "weight_from": "w",
                                      "from_unit": "cells", "to_unit": "e6_cells"})
    assert values == [None, None] and failed == [True, False]


# ------------------------------------------------------------------ cast
@props()
@given(x=st.floats(allow_nan=False, allow_infinity=False, width=64))
def test_cast_float_round_trips_text_with_either_decimal_mark(x: float) -> None:
    values, failed = one([repr(x)], {"op": "cast", "from": "x", "to": "float"})
    assert values == [x] and failed == [False]
    comma = repr(x).replace(".", ",")
    values, failed = one([comma], {"op": "cast", "from": "x", "to": "float", "decimal": ","})
    assert values == [x] and failed == [False]


@props()
@given(n=st.integers(-(2**52), 2**52))
def test_cast_int_round_trips(n: int) -> None:
    values, failed = one([str(n), f"{n}.0"], {"op": "cast", "from": "x", "to": "int"})
    assert values == [n, n] and failed == [False, False]


@pytest.mark.parametrize("text", ["12.5", "abc", "inf", "nan", "1,2,3", "12 kg"])
def test_cast_int_refuses(text: str) -> None:
    values, failed = one([text], {"op": "cast", "from": "x", "to": "int"})
    assert values == [None] and failed == [True]


def test_cast_bool_uses_site_or_rule_values() -> None:
    values, failed = one(["O", "N", "x", None], {"op": "cast", "from": "x", "to": "bool",
                                                 "true_values": ["o"], "false_values": ["n"]})
    assert values == [True, False, None, None] and failed == [False, False, True, False]


# ------------------------------------------------------------------ checkboxes
@props()
@given(ticks=st.lists(st.tuples(st.booleans(), st.booleans(), st.booleans()), min_size=1,
                      max_size=10))
def test_checkbox_set_is_the_ticked_codes(ticks: list[tuple[bool, bool, bool]]) -> None:
    frame = pl.DataFrame({
        "cyto___1": ["1" if a else "0" for a, _, _ in ticks],
        "cyto___2": ["1" if b else "0" for _, b, _ in ticks],
        "cyto____99": ["1" if c else "0" for _, _, c in ticks],
    })
    values, failed = run_rule(frame, {"op": "checkbox_set", "field": "cyto",
                                      "codes": {"1": "KMT2A_r", "2": "BCR_ABL1", "-99": "unknown"}})
    for (a, b, c), got in zip(ticks, values, strict=True):
        want = sorted([v for t, v in ((a, "KMT2A_r"), (b, "BCR_ABL1"), (c, "unknown")) if t])
        assert (got or []) == want
    assert not any(failed)


def test_checkbox_unlisted_tick_fails_but_missing_code_does_not() -> None:
    frame = pl.DataFrame({"p___1": ["1", "0", "0"], "p___2": ["0", "1", "0"],
                          "p___unk": ["0", "0", "1"]})
    values, failed = run_rule(frame, {"op": "checkbox_set", "field": "p", "codes": {"1": "a"}},
                              missing=("UNK",))
    assert values == [["a"], None, None] and failed == [False, True, False]
    values, _ = run_rule(frame, {"op": "checkbox_bool", "field": "p", "codes": ["2"]},
                         missing=("UNK",))
    assert values == [False, True, None]


# ------------------------------------------------------------------ text ops
parts = st.text(alphabet=st.characters(blacklist_characters="|\x00", blacklist_categories=("Cs",)),
                min_size=1, max_size=8).map(str.strip).filter(bool)


@props()
@given(a=parts, b=parts)
def test_merge_then_split_gives_the_parts_back(a: str, b: str) -> None:
    frame = pl.DataFrame({"a": [a], "b": [b]})
    merged, _ = run_rule(frame, {"op": "merge", "from": ["a", "b"], "separator": "|"})
    assert merged == [f"{a}|{b}"]
    first, _ = run_rule(pl.DataFrame({"x": merged}), {"op": "split", "from": "x",
                                                      "separator": "|", "index": 0})
    last, _ = run_rule(pl.DataFrame({"x": merged}), {"op": "split", "from": "x",
                                                     "separator": "|", "index": -1})
    assert (first, last) == ([a], [b])


def test_split_missing_part_fails() -> None:
    values, failed = one(["a|b", "a"], {"op": "split", "from": "x", "separator": "|", "index": 1})
    assert values == ["b", None] and failed == [False, True]


def test_constant_coalesce_null_if_fill_null() -> None:
    frame = pl.DataFrame({"a": [None, "x", "ND"], "b": ["y", "z", None]})
    assert run_rule(frame, {"op": "constant", "value": "astct_2019"})[0] == ["astct_2019"] * 3
    assert run_rule(frame, {"op": "coalesce", "from": ["a", "b"]})[0] == ["y", "x", "ND"]
    nulled = {"from": "a", "steps": [{"op": "null_if", "values": ["nd"]},
                                     {"op": "fill_null", "value": "none"}]}
    assert run_rule(frame, nulled)[0] == ["none", "x", "none"]


def test_coalesce_failure_counts_only_when_no_option_gives_a_value() -> None:
    frame = pl.DataFrame({"a": ["bad", "bad", "2020-01-02"], "b": ["2021-01-01", None, None]})
    rule = {"op": "coalesce", "options": [{"op": "parse_date", "from": "a"},
                                          {"op": "parse_date", "from": "b"}]}
    values, failed = run_rule(frame, rule)
    assert values == [dt.date(2021, 1, 1), None, dt.date(2020, 1, 2)]
    assert failed == [False, True, False]


# ------------------------------------------------------------------ identifiers
@props()
@given(local=st.from_regex(r"[A-Za-z0-9_.-]{1,20}", fullmatch=True))
def test_patient_id_prefixes_once(local: str) -> None:
    values, failed = one([local, f"site_t-{local}"], {"op": "patient_id", "from": "x"})
    assert values == [f"site_t-{local}", f"site_t-{local}"] and failed == [False, False]


def test_patient_id_refuses_odd_characters() -> None:
    values, failed = one(["a b", "é"], {"op": "patient_id", "from": "x"})
    assert values == [None, None] and failed == [True, True]


@props(30)
@given(a=parts, b=parts)
def test_surrogate_key_is_a_stable_md5(a: str, b: str) -> None:
    frame = pl.DataFrame({"a": [a], "b": [b]})
    values, _ = run_rule(frame, {"op": "surrogate_key", "from": ["a", "b"], "label": "crs"})
    digest = hashlib.md5(f"{a}\x1f{b}\x1fcrs".encode()).hexdigest()[:16]
    assert values == [f"site_t-{digest}"]
    joined, _ = run_rule(frame, {"op": "surrogate_key", "from": ["a", "b"], "method": "join"})
    assert joined == [f"site_t-{a}-{b}"]


def test_surrogate_key_with_a_blank_part_fails() -> None:
    frame = pl.DataFrame({"a": ["1", None], "b": [None, None]}, schema={"a": pl.String, "b": pl.String})
    values, failed = run_rule(frame, {"op": "surrogate_key", "from": ["a", "b"]})
    assert values == [None, None] and failed == [True, False]


def test_lookup_construct_by_site_code_or_catalog_name() -> None:
    catalog = {"tisa-cel": "tisa-cel", "tisagenlecleucel (kymriah)": "tisa-cel"}
    values, failed = one(["KYM", "Tisa-Cel", "tisagenlecleucel (Kymriah)", "XX"],
                         {"op": "lookup_construct", "from": "x", "codes": {"KYM": "tisa-cel"}},
                         catalog=catalog)
    assert values == ["tisa-cel"] * 3 + [None] and failed == [False] * 3 + [True]


def test_lookup_construct_refuses_a_target_outside_the_catalog() -> None:
    from cart_registry.mapping.ops.base import SpecError

    with pytest.raises(SpecError, match="not in the construct catalog"):
        one(["KYM"], {"op": "lookup_construct", "from": "x", "codes": {"KYM": "tisa"}},
            catalog={"tisa-cel": "tisa-cel"})


def test_rename_trims_and_blanks_are_null() -> None:
    values, failed = one(["  a ", "", "   ", None], "x")
    assert values == ["a", None, None, None] and failed == [False] * 4


def test_redcap_label_uses_the_dictionary(tmp_path: Path) -> None:
    from cart_registry.readers.redcap import read_dictionary
    from tests.mapping.helpers import context

    dic = tmp_path / "d.csv"
    dic.write_text('field_name,form_name,field_type,field_label,select_choices_or_calculations\n'
                   'record_id,f,text,ID,\ncause,f,dropdown,Cause,"1, Infection | 2, Relapse"\n',
                   encoding="utf-8")
    frame = pl.DataFrame({"cause": ["1", "2", "3", None]})
    ctx = context(frame)
    ctx.settings.dictionary = read_dictionary(dic)
    from pydantic import TypeAdapter

    from cart_registry.mapping.apply import build_rule
    from cart_registry.mapping.ops import ColumnSpec

    v = build_rule(ctx, TypeAdapter(ColumnSpec).validate_python({"op": "redcap_label", "from": "cause"}))
    out = frame.select(v.expr.alias("v"), v.failures[0].flag.alias("f"))
    assert out.rows() == [("Infection", False), ("Relapse", False), (None, True), (None, False)]
