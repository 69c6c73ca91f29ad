"""The engine's evaluation (fields cleaned once, single-field rules on distinct values) agrees
with evaluating each rule's expressions row by row."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from cart_registry.mapping.apply import INDEX_COL, build_rule, evaluate
from cart_registry.mapping.context import SiteSettings, SourceContext
from cart_registry.mapping.ops import ColumnSpec, Defaults, rule_fields
from cart_registry.readers.base import FILE_COL, KEY_COL, ROW_COL
from tests.mapping.helpers import props, run_rule

RULES: list[Any] = [
    {"op": "surrogate_key", "from": ["a", "b"]},
    {"op": "surrogate_key", "from": ["a", "b"], "method": "join"},
    {"op": "map_values", "from": "a", "values": {"x": "X", "y": "Y", "NA": "missing"}},
    {"op": "patient_id", "from": "a"},
    {"op": "coalesce", "from": ["a", "b"]},
    "b",
]
cells = st.one_of(st.none(), st.sampled_from(["x", " x ", "y", "", "  ", "NA", " NA", "1", "2 "]))


def engine(frame: pl.DataFrame, rule: Any, missing: tuple[str, ...]) -> tuple[list, list[bool]]:
    settings = SiteSettings(site_id="site_t", defaults=Defaults(),
                            missing_codes=frozenset(missing))
    spec = TypeAdapter(ColumnSpec).validate_python(rule)
    ctx = SourceContext(settings, frame.columns, "test", cleaned=True)
    v = build_rule(ctx, spec)
    exprs = [v.expr.alias("value"), *[f.flag.fill_null(False).alias(f"__f_{k}")
                                      for k, f in enumerate(v.failures)]]
    src = frame.with_columns(
        pl.int_range(1, frame.height + 1, dtype=pl.Int64).alias(ROW_COL),
        pl.lit(None, dtype=pl.String).alias(KEY_COL),
        pl.lit("f.csv").alias(FILE_COL),
    ).with_row_index(INDEX_COL)
    fields = rule_fields(spec)
    if len(fields) == 1:
        out = evaluate(src, [], {fields[0]: exprs})
    else:
        out = evaluate(src, exprs, {})
    # flags that never fire are dropped by evaluate
    flags = [c for c in out.columns if c.startswith("__f_")]
    failed = (out.select(pl.any_horizontal(flags)).to_series().to_list() if flags
              else [False] * out.height)
    return out.get_column("value").to_list(), failed


@pytest.mark.parametrize("rule", RULES, ids=str)
@pytest.mark.parametrize("missing", [(), ("NA",)])
@props(40)
@given(a=st.lists(cells, min_size=1, max_size=12), data=st.data())
def test_engine_matches_row_by_row(rule: Any, missing: tuple[str, ...], a: list[str | None],
                                   data: st.DataObject) -> None:
    b = data.draw(st.lists(cells, min_size=len(a), max_size=len(a)))
    frame = pl.DataFrame({"a": a, "b": b}, schema={"a": pl.String, "b": pl.String})
    assert engine(frame, rule, missing) == run_rule(frame, rule, missing=missing)


@pytest.mark.parametrize(("codes", "coded"), [
    (("X", "Y", "missing"), True),   # every mapped value is in the set
    (("X", "Y"), False),             # "missing" is not: the column stays text
])
def test_value_set_columns_come_out_coded_only_when_every_value_is_in_the_set(
        codes: tuple[str, ...], coded: bool) -> None:
    frame = pl.DataFrame({"a": ["x", "NA", None, " y", "x"]}).with_columns(
        pl.int_range(1, 6, dtype=pl.Int64).alias(ROW_COL),
        pl.lit(None, dtype=pl.String).alias(KEY_COL),
        pl.lit("f.csv").alias(FILE_COL),
    ).with_row_index(INDEX_COL)
    rule = {"op": "map_values", "from": "a", "values": {"x": "X", "y": "Y", "NA": "missing"}}
    ctx = SourceContext(SiteSettings(site_id="site_t", defaults=Defaults(),
                                     missing_codes=frozenset()), frame.columns, "test",
                        cleaned=True)
    v = build_rule(ctx, TypeAdapter(ColumnSpec).validate_python(rule))
    out = evaluate(frame, [], {"a": [v.expr.alias("value")]}, {"value": codes})
    assert out.get_column("value").to_list() == ["X", "missing", None, "Y", "X"]
    assert isinstance(out.schema["value"], pl.Enum) is coded
