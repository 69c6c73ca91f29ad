"""Given/expect cases for the views, one YAML file per view under ``views/``.

Each file names a ``view`` and may give shared ``given`` rows (per canonical table); each case
adds its own ``given`` rows, may change ``settings``, filter with ``where`` and compare against
``expect``: the view's rows, ordered by ``order_by``, must match the expected rows one for one (no more,
no fewer), each compared on the columns that expected row names. Columns a row does not
give are NULL; provenance columns are filled in.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.warehouse.support import fixture_connection, query_records

CASE_DIR = Path(__file__).parent / "views"


def _cases() -> list[Any]:
    out = []
    for path in sorted(CASE_DIR.glob("*.yaml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in spec["cases"]:
            out.append(pytest.param(spec, case, id=f"{path.stem}: {case['name']}"))
    return out


def _norm(v: Any) -> Any:
    if isinstance(v, float):
        return round(v, 6)
    if isinstance(v, dt.datetime):
        return v.date() if v.time() == dt.time() else v
    if isinstance(v, list | tuple):
        return [_norm(x) for x in v]
    return v


def _merge(shared: dict[str, list[Any]], own: dict[str, list[Any]]) -> dict[str, list[Any]]:
    out = {k: list(v) for k, v in shared.items()}
    for k, v in own.items():
        out.setdefault(k, []).extend(v)
    return out


@pytest.mark.parametrize(("spec", "case"), _cases())
def test_view_case(spec: dict[str, Any], case: dict[str, Any]) -> None:
    view = case.get("view", spec["view"])
    given = _merge(spec.get("given") or {}, case.get("given") or {})
    con = fixture_connection(given, case.get("settings"))
    expect = case["expect"] or []
    cols = list(dict.fromkeys(k for row in expect for k in row)) or ["*"]
    order = case.get("order_by", spec.get("order_by"))
    where = f" WHERE {case['where']}" if case.get("where") else ""
    order_sql = f" ORDER BY {', '.join(order)}" if order else ""
    select = ", ".join(f'"{c}"' for c in cols) if cols != ["*"] else "*"
    got = query_records(con, f"SELECT {select} FROM {view}{where}{order_sql}")
    # each expected row is compared on the columns it names
    got_n = [{k: _norm(got[i][k]) for k in want} if i < len(got) else {}
             for i, want in enumerate(expect)] + [dict(r) for r in got[len(expect):]]
    want_n = [{k: _norm(v) for k, v in row.items()} for row in expect]
    assert got_n == want_n, f"{view}: {case['name']}"
