"""The report on the abstract sample reproduces Holland et al.'s numbers.

Two independent routes: (1) the synthetic registry's canonical truth loaded into DuckDB, the
packaged warehouse views built over it, and the report read from those views (SQL + stats +
renderers); (2) the statistics alone, on time-to-event arrays computed here in Python from
the synthetic patients' planned dates (no SQL), so a disagreement points at one layer.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from cart_registry.report.model import TimeToEvent
from cart_registry.report.survival import km_rows
from cart_registry.stats import mcnemar_exact


def r1(x: float | None) -> str:
    assert x is not None
    return f"{x:.1f}"


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory, truth_data: Any) -> Path:
    from cart_registry.report.writer import write_report_files

    out = tmp_path_factory.mktemp("abstract")
    result = write_report_files(truth_data, out)
    assert result.missing == ()
    return out


@pytest.fixture(scope="module")
def report_json(report_dir: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((report_dir / "endpoints.json").read_text(encoding="utf-8"))
    return doc


def test_no_patient_identifier_in_any_file(report_dir: Path, truth_con: Any) -> None:
    ids = [str(r[0]) for r in truth_con.execute("SELECT patient_id FROM canonical.patient")
           .fetchall()]
    assert len(ids) == 135
    for f in report_dir.iterdir():
        if f.suffix in (".html", ".md", ".json", ".svg"):
            text = f.read_text(encoding="utf-8")
            leaked = [i for i in ids if i in text]
            assert not leaked, (f.name, leaked[:3])


def rows(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["key"]: r for r in doc["abstract"]}


def test_mcnemar_exact_p_is_0043(report_json: dict[str, Any]) -> None:
    cr_b = rows(report_json)["cr_after_b"]
    assert f"{cr_b['p']:.4f}" == "0.0043"
    assert cr_b["display"]["p"] == "0.0043"
    assert "18 CR after A only vs 4 after B only" in cr_b["p_method"]
    assert (cr_b["n"], cr_b["N"]) == (40, 61)
    assert f"{rows(report_json)['cr_a_vs_b_fisher']['p']:.4f}" == "0.0046"


def test_median_rfs_and_os_with_ci(report_json: dict[str, Any]) -> None:
    r = rows(report_json)
    rfs, os_ = r["median_rfs_b"], r["median_os_b"]
    assert (r1(rfs["value"]), r1(rfs["ci"]["lower"]), r1(rfs["ci"]["upper"])) == (
        "9.4", "6.1", "13.2")
    assert (r1(os_["value"]), r1(os_["ci"]["lower"]), r1(os_["ci"]["upper"])) == (
        "15.0", "13.0", "22.7")
    assert rfs["N"] == 40 and os_["N"] == 61 and os_["n"] == 39
    assert rfs["display"]["ci"] == "6.1–13.2"


def test_every_other_abstract_number(report_json: dict[str, Any]) -> None:
    r = rows(report_json)
    assert r["screened"]["n"] == 135
    assert (r["constructs_ge2"]["n"], r["constructs_gt2"]["n"]) == (61, 13)
    assert r["distinct_constructs"]["value"] == 14
    age = r["age_at_a"]
    assert (r1(age["value"]), r1(age["range"][0]), r1(age["range"][1])) == ("12.6", "3.3", "30.4")
    iv = r["interval_ab"]
    assert (iv["value"], iv["range"]) == (302, [53, 1183])
    assert (r["b_different_antigen"]["n"], r1(r["b_different_antigen"]["percent"])) == (48, "78.7")
    assert (r["different_antigen_among_cr_b"]["n"], r["different_antigen_among_cr_b"]["N"]) == (
        35, 40)
    assert (r["same_antigen_among_nocr_b"]["n"], r["same_antigen_among_nocr_b"]["N"]) == (8, 21)
    assert (r["cr_after_a"]["n"], r["cr_after_a"]["N"]) == (54, 61)
    assert (r["relapse_after_cr_b"]["n"], r["relapse_after_cr_b"]["N"]) == (29, 40)
    phen = [r[f"phenotype_{k}"]["n"] for k in
            ("antigen_negative", "antigen_dim", "antigen_positive", "lineage_switch")]
    assert phen == [3, 7, 10, 1] and r["phenotype_antigen_dim"]["N"] == 21
    for key in ("rfs_b_at_12m", "os_b_at_12m", "cir_b_at_12m", "followup_b"):
        assert r[key]["value"] is not None and r[key]["ci"]["lower"] is not None, key


def test_tables_are_filled(report_json: dict[str, Any]) -> None:
    tables = {t["key"]: t for t in report_json["tables"]}
    assert tables["paired_cr"]["rows"][0][1:] == [36, 18, 54]
    assert {"tox_paired", "tox_by_course", "switch_reason", "antigen_modulation",
            "best_response", "interval_therapy", "hsct_after_cr_b",
            "status_by_constructs"} <= set(tables)
    best = {r[0]: r[1:] for r in tables["best_response"]["rows"]}
    assert best["CR or CRi (counted as CR)"][1]["n"] == 40
    assert report_json["settings"]["antigen_difference_rule"] == "sets_differ"


# -- statistics alone, from the planned dates ---------------------------------------------


def _plans() -> list[Any]:
    try:
        from cart_registry.synth.truth import generate_truth
    except ImportError as exc:  # pragma: no cover
        pytest.skip(f"cart_registry.synth.generate_truth not available: {exc}")
    return [p for p in generate_truth("abstract", 0).plans if p.registry_status == "included"]


def _tte_from_plans(plans: list[Any]) -> tuple[TimeToEvent, TimeToEvent]:
    """RFS from the CART-B CR date and OS from the CART-B infusion, in Python."""
    rfs_t, rfs_e, os_t, os_e = [], [], [], []
    for p in plans:
        b = p.courses[1]
        end = p.death_date or p.last_contact
        os_t.append(float((end - b.start).days))
        os_e.append(int(p.death_date is not None))
        if b.cr:
            cr_date = b.start + dt.timedelta(days=b.response_day)
            if b.relapse is not None:
                rfs_t.append(float((b.relapse.date - cr_date).days))
                rfs_e.append(1)
            else:
                rfs_t.append(float((end - cr_date).days))
                rfs_e.append(int(p.death_date is not None))
    rfs = TimeToEvent("RFSB", "RFS", "CART-B CR", "km", tuple(rfs_t), tuple(rfs_e))
    os_ = TimeToEvent("OSB", "OS", "CART-B infusion", "km", tuple(os_t), tuple(os_e))
    return rfs, os_


def test_statistics_from_planned_dates() -> None:
    plans = _plans()
    assert len(plans) == 61
    rfs, os_ = _tte_from_plans(plans)
    med_rfs = km_rows(rfs, "rfs", "RFS")[0]
    med_os = km_rows(os_, "os", "OS")[0]
    assert med_rfs.ci is not None and med_os.ci is not None
    assert (r1(med_rfs.value), r1(med_rfs.ci.lower), r1(med_rfs.ci.upper)) == ("9.4", "6.1", "13.2")
    assert (r1(med_os.value), r1(med_os.ci.lower), r1(med_os.ci.upper)) == ("15.0", "13.0", "22.7")
    a = [p.courses[0].cr for p in plans]
    b = [p.courses[1].cr for p in plans]
    a_only = sum(x and not y for x, y in zip(a, b, strict=True))
    b_only = sum(y and not x for x, y in zip(a, b, strict=True))
    assert (a_only, b_only) == (18, 4)
    assert f"{mcnemar_exact(a_only, b_only).p_value:.4f}" == "0.0043"


@pytest.mark.slow
def test_full_pipeline_on_sample_exports(tmp_path: Path, repo_root: Path) -> None:
    """sample_exports -> ingest -> load -> report, when every site ingests without loss."""
    import shutil

    try:
        from cart_registry.ingest import ingest_submission
        from cart_registry.warehouse.loading import load_sites
    except ImportError as exc:  # pragma: no cover - sibling modules
        pytest.skip(f"ingest or warehouse loading not available: {exc}")
    from cart_registry.project import Project
    from cart_registry.report.api import write_endpoint_report

    exports = repo_root / "sample_exports"
    if not exports.is_dir():
        pytest.skip("sample_exports/ is not present")
    shutil.copytree(repo_root / "mappings", tmp_path / "mappings")
    project = Project.find(tmp_path)
    quarantined = {}
    for site in project.site_ids():
        if (exports / site).is_dir():
            res = ingest_submission(project, exports / site, site,
                                    received_at="2023-07-01T00:00:00+00:00")
            if res.rows_quarantined:
                quarantined[site] = res.rows_quarantined
    if quarantined:
        pytest.skip(
            f"ingest of sample_exports quarantines rows {quarantined}: the loaded registry is "
            "not the full sample yet, so its endpoints cannot match the abstract"
        )
    load_sites(project, force=True, reason="report test (validation is tested elsewhere)")
    write_endpoint_report(project, tmp_path / "out")
    doc = json.loads((tmp_path / "out" / "endpoints.json").read_text(encoding="utf-8"))
    r = rows(doc)
    assert f"{r['cr_after_b']['p']:.4f}" == "0.0043"
    rfs, os_ = r["median_rfs_b"], r["median_os_b"]
    assert (r1(rfs["value"]), r1(rfs["ci"]["lower"]), r1(rfs["ci"]["upper"])) == (
        "9.4", "6.1", "13.2")
    assert (r1(os_["value"]), r1(os_["ci"]["lower"]), r1(os_["ci"]["upper"])) == (
        "15.0", "13.0", "22.7")
