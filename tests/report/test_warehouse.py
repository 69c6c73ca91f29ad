"""The report's contract with the warehouse: which views and columns it reads."""

from __future__ import annotations

from typing import Any

import pytest

from cart_registry.errors import ProjectError
from cart_registry.report.warehouse import (
    READS,
    REQUIRED,
    check_contract,
    read_cohort_inputs,
    read_settings,
)


@pytest.fixture
def con(truth_con: Any) -> Any:
    return truth_con


def test_every_read_relation_and_column_exists(con: Any) -> None:
    hard, soft = check_contract(con)
    assert hard == [] and soft == []
    assert set(REQUIRED) <= set(READS)


def test_settings_in_declaration_order(con: Any) -> None:
    from cart_registry.settings import StudySettings

    settings, digest = read_settings(con)
    assert list(settings) == list(StudySettings.model_fields)
    assert len(digest) == 12


def test_inputs_carry_no_identifiers(con: Any, truth_data: Any) -> None:
    ids = {str(r[0]) for r in con.execute("SELECT patient_id FROM canonical.patient").fetchall()}
    text = repr(truth_data)
    assert len(ids) == 135 and not [i for i in ids if i in text]
    assert truth_data.missing == ()


def _rebuild(con: Any) -> None:
    from cart_registry.settings import StudySettings
    from cart_registry.warehouse.views import build_views

    build_views(con, StudySettings())


def test_missing_required_view_is_named(con: Any) -> None:
    try:
        con.execute("DROP VIEW endpoints.survival_summary")  # not read: no effect
        assert check_contract(con) == ([], [])
        con.execute("CREATE OR REPLACE VIEW endpoints.cr_paired AS SELECT 1 AS n")
        with pytest.raises(ProjectError, match=r"endpoints\.cr_paired lacks column\(s\) both"):
            read_cohort_inputs(con)
    finally:
        _rebuild(con)


def test_missing_optional_view_is_listed(con: Any) -> None:
    from cart_registry.report.warehouse import _read_optional

    try:
        con.execute("DROP VIEW endpoints.toxicity_paired")
        hard, soft = check_contract(con)
        assert hard == [] and soft == ["endpoints.toxicity_paired does not exist"]
        # an absent relation is never queried (the dropped view would raise if it were)
        keep = "endpoints.toxicity_by_course"
        got = _read_optional(con, {r for r in READS if r != keep} | {"endpoints.toxicity_paired"})
        assert set(got) == {"toxicity_course"}
    finally:
        _rebuild(con)


def test_negative_times_are_left_out_with_a_note(con: Any) -> None:
    from cart_registry.report.warehouse import _tte

    try:
        # one RFSB row ending before its origin (a data error validation reports)
        rows = con.execute("SELECT count(*) FROM adam.adtte WHERE PARAMCD = 'RFSB'").fetchone()
        con.execute("CREATE TEMP TABLE t_adtte AS SELECT * FROM adam.adtte")
        con.execute("UPDATE t_adtte SET AVAL = -3 WHERE PARAMCD = 'RFSB' AND AVAL = "
                    "(SELECT min(AVAL) FROM t_adtte WHERE PARAMCD = 'RFSB')")
        con.execute("CREATE OR REPLACE VIEW adam.adtte AS SELECT * FROM temp.t_adtte")
        tte, notes = _tte(con)
        rfs = next(t for t in tte if t.paramcd == "RFSB")
        assert rows is not None and rfs.n < rows[0]
        assert notes and notes[0].startswith("RFSB: ") and "negative time" in notes[0]
    finally:
        con.execute("DROP TABLE IF EXISTS temp.t_adtte")
        _rebuild(con)


def test_agrees_with_the_warehouse_endpoint_table(con: Any, truth_data: Any) -> None:
    """The warehouse's own endpoint table and this report fit the same rows with the same
    statistics: their headline numbers must agree."""
    try:
        from cart_registry.warehouse.endpoints import endpoint_table_from_connection
    except ImportError as exc:  # pragma: no cover - sibling module
        pytest.skip(f"warehouse endpoint table not available: {exc}")
    from cart_registry.settings import StudySettings

    table = endpoint_table_from_connection(con, StudySettings())
    data = truth_data
    pairs = {
        "median_rfsb": "median_rfs_b",
        "median_osb": "median_os_b",
    }
    for theirs, mine in pairs.items():
        it, row = table.item(theirs), data.row(mine)
        assert row.value == pytest.approx(it.value)
        assert row.ci is not None
        assert (row.ci.lower, row.ci.upper) == (pytest.approx(it.low), pytest.approx(it.high))
        assert (row.n, row.N) == (it.n, it.denominator)
    assert data.row("cr_after_b").p == pytest.approx(table.item("cr_mcnemar_p").value)
    assert data.row("cir_b_at_12m").value == pytest.approx(table.item("cir_b_12m").value)
    fu = table.item("median_followup_b")
    assert data.row("followup_b").value == pytest.approx(fu.value)
