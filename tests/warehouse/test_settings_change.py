"""A study setting changes the endpoints it defines, and nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from tests.warehouse.support import d, fixture_connection

LAYERS = ("derived", "endpoints", "adam")

COHORT: dict[str, list[dict[str, Any]]] = {
    "patient": [
        {"patient_id": f"s1-p{i}", "birth_date": d("2010-01-01"), "registry_status": "included",
         "sex": "female"} for i in (1, 2, 3)
    ],
    "cart_infusion": [
        {"infusion_id": "a1", "patient_id": "s1-p1", "construct_id": "tisa-cel",
         "infusion_date": d("2020-01-01"), "infusion_intent": "initial"},
        {"infusion_id": "b1", "patient_id": "s1-p1", "construct_id": "cd19x22",
         "infusion_date": d("2020-06-01"), "infusion_intent": "initial"},
        {"infusion_id": "a2", "patient_id": "s1-p2", "construct_id": "tisa-cel",
         "infusion_date": d("2020-01-01"), "infusion_intent": "initial"},
        {"infusion_id": "b2", "patient_id": "s1-p2", "construct_id": "cd22-a",
         "infusion_date": d("2020-04-01"), "infusion_intent": "initial"},
        {"infusion_id": "a3", "patient_id": "s1-p3", "construct_id": "cd19-b",
         "infusion_date": d("2020-01-01"), "infusion_intent": "initial"},
        {"infusion_id": "b3", "patient_id": "s1-p3", "construct_id": "tisa-cel",
         "infusion_date": d("2020-08-01"), "infusion_intent": "initial"},
    ],
    "disease_assessment": [
        {"assessment_id": "x1", "patient_id": "s1-p1", "assessment_date": d("2020-01-29"),
         "specimen": "bone_marrow", "response": "cr_mrd_neg"},
        {"assessment_id": "x2", "patient_id": "s1-p1", "assessment_date": d("2020-06-29"),
         "specimen": "bone_marrow", "response": "cri"},
        {"assessment_id": "x3", "patient_id": "s1-p2", "assessment_date": d("2020-01-29"),
         "specimen": "bone_marrow", "response": "nr"},
        {"assessment_id": "x4", "patient_id": "s1-p2", "assessment_date": d("2020-04-29"),
         "specimen": "bone_marrow", "response": "cr_mrd_pos"},
        {"assessment_id": "x5", "patient_id": "s1-p3", "assessment_date": d("2020-01-29"),
         "specimen": "bone_marrow", "response": "cr_mrd_neg"},
        {"assessment_id": "x6", "patient_id": "s1-p3", "assessment_date": d("2020-08-29"),
         "specimen": "bone_marrow", "response": "nr"},
    ],
    "relapse": [
        {"relapse_id": "r1", "patient_id": "s1-p1", "relapse_date": d("2020-05-01"),
         "lineage": "b_lymphoid"},
        {"relapse_id": "r2", "patient_id": "s1-p1", "relapse_date": d("2020-12-01"),
         "lineage": "b_lymphoid"},
        {"relapse_id": "r3", "patient_id": "s1-p3", "relapse_date": d("2020-06-01"),
         "lineage": "b_lymphoid"},
    ],
    "antigen_expression": [
        {"expr_id": "e1", "patient_id": "s1-p1", "sample_date": d("2020-12-01"),
         "timepoint": "relapse", "antigen": "CD19", "status": "dim"},
        {"expr_id": "e2", "patient_id": "s1-p1", "sample_date": d("2020-05-20"),
         "timepoint": "pre_infusion", "antigen": "CD19", "status": "negative"},
    ],
    "hsct": [{"hsct_id": "h2", "patient_id": "s1-p2", "hsct_date": d("2020-07-01"),
              "hsct_type": "allogeneic"}],
    "death": [
        {"patient_id": "s1-p2", "death_date": d("2021-01-01"), "primary_cause": "gvhd"},
        {"patient_id": "s1-p3", "death_date": d("2020-12-01"),
         "primary_cause": "relapse_progression"},
    ],
    "follow_up": [
        {"patient_id": "s1-p1", "last_contact_date": d("2021-06-01"), "vital_status": "alive",
         "last_disease_status": "not_cr"},
        {"patient_id": "s1-p2", "last_contact_date": d("2021-01-01"), "vital_status": "dead"},
        {"patient_id": "s1-p3", "last_contact_date": d("2020-12-01"), "vital_status": "dead"},
    ],
}


def snapshot(settings: dict[str, Any]) -> dict[str, list[tuple[Any, ...]]]:
    con = fixture_connection(COHORT, settings, materialize=True)
    names = [r[0] for r in con.execute(
        "SELECT schema_name || '.' || view_name FROM duckdb_views() "
        "WHERE schema_name IN ('derived', 'endpoints', 'adam') "
        "UNION ALL SELECT schema_name || '.' || table_name FROM duckdb_tables() "
        "WHERE schema_name IN ('derived', 'endpoints', 'adam')").fetchall()]
    out = {}
    for n in names:
        out[n] = sorted(con.execute(f"SELECT * FROM {n}").fetchall(), key=repr)
    return out


def changed(a: dict[str, list[Any]], b: dict[str, list[Any]]) -> set[str]:
    assert a.keys() == b.keys()
    return {k for k in a if a[k] != b[k]}


@pytest.fixture(scope="module")
def baseline() -> dict[str, list[tuple[Any, ...]]]:
    return snapshot({})


def test_rfs_origin_changes_rfs_and_nothing_else(baseline: dict[str, Any]) -> None:
    other = snapshot({"rfs_origin": "infusion_date"})
    assert changed(baseline, other) == {
        "derived.tte_origin", "derived.time_to_event", "adam.adtte",
        "endpoints.survival_summary",
    }
    # only the RFS parameters that follow the setting moved; RFSBI already used the infusion
    b = set(baseline["adam.adtte"])
    o = set(other["adam.adtte"])
    assert {r[3] for r in b ^ o} == {"RFSA", "RFSB", "RFSBC"}


def test_every_relation_is_compared(baseline: dict[str, Any]) -> None:
    from cart_registry.warehouse.views import view_definitions

    assert set(baseline) == {v.name for v in view_definitions()}
    # the fixture exercises the endpoints: a snapshot of empty views would prove nothing
    assert len(baseline["adam.adtte"]) > 10
    assert baseline["endpoints.cr_paired"] != [(3, 0, 0, 0, 0, 0, 0)]


def test_antigen_rule_changes_switch_endpoints_and_nothing_else(baseline: dict[str, Any]) -> None:
    other = snapshot({"antigen_difference_rule": "disjoint"})
    assert changed(baseline, other) == {
        "derived.cart_ab", "endpoints.antigen_switch", "endpoints.cr_by_switch",
        "endpoints.switch_reason", "adam.adsl",
    }


def test_cri_rule_changes_response_and_what_follows(baseline: dict[str, Any]) -> None:
    other = snapshot({"cri_counts_as_cr": False})
    diff = changed(baseline, other)
    assert {"derived.best_response", "endpoints.cr_paired", "endpoints.response_by_course",
            "adam.adtte"} <= diff
    # toxicity and cohort counts do not depend on response
    assert not diff & {"derived.toxicity_astct", "endpoints.cohort_counts",
                       "endpoints.age_at_cart_a", "endpoints.interval_a_b",
                       "derived.cart_ab", "endpoints.antigen_switch"}
