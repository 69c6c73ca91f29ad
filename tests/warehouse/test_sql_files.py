"""The SQL view files: headers, declared dependencies, build order, zero-row build."""

from __future__ import annotations

import duckdb
import pytest

from cart_registry.errors import ConfigError
from cart_registry.settings import StudySettings
from cart_registry.standard import load_standard
from cart_registry.standard.derive import duckdb_ddl
from cart_registry.warehouse.sql_files import (
    LAYERS,
    base_relations,
    check_and_order,
    parse_view,
    referenced_relations,
)
from cart_registry.warehouse.views import build_views, view_definitions

HEADER = """-- view: derived.a
-- grain: one row per thing
-- depends_on: {deps}
-- description: A test view whose description
--   runs over two lines.
"""


def _view(name: str, deps: str, body: str) -> object:
    layer, stem = name.split(".")
    text = HEADER.replace("derived.a", name).format(deps=deps) + body
    return parse_view(text, layer, stem, f"sql/{layer}/{stem}.sql")


def test_header_is_parsed() -> None:
    v = _view("derived.a", "canonical.patient", "SELECT * FROM canonical.patient;")
    assert v.grain == "one row per thing"  # type: ignore[attr-defined]
    assert v.depends_on == ("canonical.patient",)  # type: ignore[attr-defined]
    assert v.description == "A test view whose description runs over two lines."  # type: ignore[attr-defined]
    assert v.body == "SELECT * FROM canonical.patient"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-- view: derived.a\n-- grain: g\nSELECT 1", "header lacks depends_on, description"),
        (HEADER.format(deps="canonical.patient").replace("derived.a", "derived.b")
         + "SELECT 1", "the file defines 'derived.a'"),
        (HEADER.format(deps="patient") + "SELECT 1", "is not schema.relation"),
        (HEADER.format(deps="canonical.patient"), "no SELECT after the header"),
    ],
)
def test_bad_headers_are_refused(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_view(text, "derived", "a", "sql/derived/a.sql")


def test_references_ignore_comments_and_strings() -> None:
    body = ("SELECT 'derived.not_a_view' AS x -- derived.neither\n"
            "/* endpoints.nope */ FROM canonical.patient p JOIN derived.course c USING (x)")
    assert referenced_relations(body) == {"canonical.patient", "derived.course"}


def test_undeclared_missing_unused_and_cyclic_dependencies_fail() -> None:
    base = base_relations(["patient"])
    undeclared = _view("derived.a", "canonical.patient",
                       "SELECT * FROM canonical.patient JOIN derived.b USING (x)")
    with pytest.raises(ConfigError, match="uses derived.b without declaring it"):
        check_and_order([undeclared], base)  # type: ignore[list-item]
    missing = _view("derived.a", "derived.nowhere", "SELECT * FROM derived.nowhere")
    with pytest.raises(ConfigError, match="neither a view nor a canonical table"):
        check_and_order([missing], base)  # type: ignore[list-item]
    unused = _view("derived.a", "canonical.patient, study.settings",
                   "SELECT * FROM canonical.patient")
    with pytest.raises(ConfigError, match="never uses it"):
        check_and_order([unused], base)  # type: ignore[list-item]
    a = _view("derived.a", "derived.b", "SELECT * FROM derived.b")
    b = _view("derived.b", "derived.a", "SELECT * FROM derived.a")
    with pytest.raises(ConfigError, match="cycle"):
        check_and_order([a, b], base)  # type: ignore[list-item]


def test_packaged_views_are_ordered_by_their_dependencies() -> None:
    views = view_definitions()
    assert {v.layer for v in views} == set(LAYERS)
    seen: set[str] = set()
    for v in views:
        assert all(d in seen or d.split(".")[0] not in LAYERS for d in v.depends_on), v.name
        seen.add(v.name)
        assert v.grain.startswith("one row"), f"{v.name}: grain must say what one row is"


def test_every_view_builds_on_zero_row_tables() -> None:
    """Zero-row canonical tables from the standard's DDL (with its constraints)."""
    std = load_standard()
    con = duckdb.connect()
    con.execute("CREATE SCHEMA canonical")
    for t in std:
        con.execute(duckdb_ddl(t, schema="canonical"))
    # as views: CREATE VIEW binds each one, so a wrong column or order fails here
    result = build_views(con, StudySettings(), standard=std)
    assert len(result.views) == len(view_definitions())
    # materialized, every derived and ADaM relation also runs; endpoint views run on them
    result = build_views(con, StudySettings(), standard=std, materialize=True)
    assert set(result.materialized) == {v for v in result.views if not v.startswith("endpoints.")}
    for name in result.views:
        rows = con.execute(f"SELECT * FROM {name}").fetchall()
        if name == "derived.censoring_variant":
            assert len(rows) == 3
        elif not name.startswith("endpoints."):
            assert rows == [], name
    # and back to views: a rebuild replaces tables by views
    result = build_views(con, StudySettings(), standard=std)
    assert result.materialized == ()
    assert con.execute("SELECT count(*) FROM derived.course").fetchone() == (0,)
