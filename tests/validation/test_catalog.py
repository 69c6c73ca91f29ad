"""The rule catalog: loads, is checked on load, documents itself, and every rule's SQL binds."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from cart_registry.cli.main import cli
from cart_registry.errors import ConfigError
from cart_registry.standard import load_standard
from cart_registry.validation.catalog import (
    SUBCATEGORIES,
    _package_file,
    _sql_dir_files,
    load_catalog,
    parse_catalog,
)
from cart_registry.validation.conformance import column_check_sql
from cart_registry.validation.docs import catalog_markdown

STANDARD = load_standard()
CATALOG = load_catalog(STANDARD)
TEXT = _package_file("catalog.yaml")


def test_catalog_shape() -> None:
    ids = [r.id for r in CATALOG]
    assert len(ids) == len(set(ids))
    for r in CATALOG:
        assert re.fullmatch(r"[a-z][a-z0-9_]*(\.[a-z0-9_+]+)+", r.id), r.id
        assert r.subcategory in SUBCATEGORIES[r.category]
        assert r.message and r.fix_hint and r.title
        assert r.threshold.note
        assert set(r.endpoints) <= set(CATALOG.endpoint_tags)
    # domain.md 8.3: every rule R01..R21 is implemented (R18 by the generated checks)
    refs = {ref for r in CATALOG for ref in r.refs}
    assert {f"R{n:02d}" for n in range(1, 22)} - refs == {"R18"}
    gen = {r.id for r in CATALOG if r.kind == "conformance"}
    assert {"cart_infusion.construct_id.foreign_key", "patient.primary_key.unique",
            "patient.sex.in_value_set", "toxicity_event.grade_reported.in_range"} <= gen


def test_every_sql_file_has_a_header_and_a_rule() -> None:
    used = {r.sql_file for r in CATALOG if r.sql_file}
    assert used == set(_sql_dir_files()) - {"_prelude.sql"}
    for name in used:
        text = _package_file(f"sql/{name}")
        assert text.startswith("-- rule: "), name
        assert "-- grain: one row per" in text, name
        rule_id = text.splitlines()[0].split()[2]
        assert CATALOG.get(rule_id).sql_file == name


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("category: plausibility, subcategory: temporal}", "category: plausible, subcategory: temporal}"), "category"),
        (("sql: birth_before_diagnosis.sql", "sql: no_such_file.sql"), "not found"),
        (("id: event.date.after_diagnosis", "id: patient.birth_date.before_diagnosis"), "duplicate rule id"),
        (("endpoints: [AGE]\n    refs: [R01]", "endpoints: [AGES]\n    refs: [R01]"), "unknown endpoint tag"),
        (("category: plausibility, subcategory: temporal}", "category: plausibility, subcategory: value}"), "subcategory"),
    ],
)
def test_broken_catalogs_are_refused(change: tuple[str, str], message: str) -> None:
    old, new = change
    assert old in TEXT
    with pytest.raises(ConfigError, match=message):
        parse_catalog(TEXT.replace(old, new, 1), STANDARD)


def test_rules_doc_is_current(repo_root: Path) -> None:
    doc = repo_root / "docs" / "validation-rules.md"
    assert doc.read_text(encoding="utf-8") == catalog_markdown(CATALOG), (
        "docs/validation-rules.md is stale: run "
        "`cart-registry rules list --format markdown > docs/validation-rules.md`"
    )


def test_rules_list_cli() -> None:
    res = CliRunner().invoke(cli, ["rules", "list", "--severity", "fatal"])
    assert res.exit_code == 0
    assert "patient.primary_key.unique" in res.output and "submission.ledger.balanced" in res.output
    res = CliRunner().invoke(cli, ["rules", "list", "--json"])
    assert res.exit_code == 0 and '"ruleset_version"' in res.output


def test_generated_not_null_sql_finds_nulls() -> None:
    """The writer refuses nulls in required columns, so check the generated SQL directly."""
    t = STANDARD.table("follow_up")
    con = duckdb.connect()
    con.execute("CREATE TABLE follow_up (site_id VARCHAR, patient_id VARCHAR, vital_status VARCHAR)")
    con.execute("INSERT INTO follow_up VALUES ('s', 's-1', NULL), ('s', 's-2', 'alive')")
    rows = con.execute(column_check_sql(t, t.column("vital_status"), "not_null")).fetchall()
    assert [(r[1], r[3], r[4]) for r in rows] == [("s-1", "vital_status", "s-1")]
