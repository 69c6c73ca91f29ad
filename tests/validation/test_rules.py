"""Every known defect is found at the right record and field; clean data raise nothing."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.validation.conftest import DefectRegistry, Registry
from tests.validation.defects import DEFECTS


def test_clean_registry_has_no_error_or_fatal(clean_registry: Registry) -> None:
    rep = clean_registry.report
    bad = [i for i in rep.issues if i["rule"]["severity"] in ("fatal", "error")]
    assert bad == []
    assert rep.exit_code == 0 and rep.passed
    assert not rep.errored, [(r.rule_id, r.error_message) for r in rep.errored]
    # nothing at all on this hand-made clean data: a warning here would be a false alarm too
    assert rep.issues == ()


def _found(reg: DefectRegistry) -> set[tuple[str, str, str, str | None]]:
    return {
        (i["rule"]["id"], i["canonical"]["table"], i["canonical"]["record_key"],
         i["canonical"]["column"])
        for i in reg.report.issues
    }


@pytest.mark.parametrize("defect", DEFECTS, ids=[d.name for d in DEFECTS])
def test_defect_is_found(defect_registry: DefectRegistry, defect: object) -> None:
    found = _found(defect_registry)
    pid = dict((d.name, p) for d, p in defect_registry.placed)[defect.name]  # type: ignore[attr-defined]
    d = defect
    want = (d.rule_id, d.table, d.key.format(p=pid), d.column)  # type: ignore[attr-defined]
    assert want in found, sorted(x for x in found if x[0] == want[0])


def test_recall_and_false_alarms_per_rule(defect_registry: DefectRegistry) -> None:
    """Recall is 100%; issues outside the injected defects are counted per rule (printed)."""
    expected = {
        (d.rule_id, d.table, d.key.format(p=p), d.column) for d, p in defect_registry.placed
    }
    found = _found(defect_registry)
    assert expected <= found
    touched = {p for _, p in defect_registry.placed}
    extra = Counter(f[0] for f in found - expected)
    print("\nrule: extra issues beyond the injected defect (knock-on effects of a defect on "
          "its own patient are expected)")
    for rule, n in sorted(extra.items()):
        print(f"  {rule}: {n}")
    # every extra issue concerns a patient that carries a defect (no alarm on clean patients)
    for i in defect_registry.report.issues:
        pid = i["patient"]
        if pid is not None:
            assert pid in touched or pid.rstrip("D") in touched, i["message"]


def test_ingest_issues_surface_as_rules(defect_registry: DefectRegistry) -> None:
    by_rule = {i["rule"]["id"]: i for i in defect_registry.report.issues}
    date = by_rule["conformance.date_parse"]
    assert date["source"]["row"] == 3 and date["source"]["field"] == "enro_birth_date"
    assert date["source"]["record_id"] == "P003"
    assert date["value_display"] == "2009-02-30" and "2009-02-30" in date["message"]
    code = by_rule["conformance.not_in_code_list"]
    assert code["source"]["file"] == "cart_infusion.csv" and code["canonical"]["column"] == "construct_id"


def test_legacy_fio2_grade_is_approximate_not_error(fresh_project: object, tmp_path: object) -> None:
    import datetime as dt
    from pathlib import Path

    from cart_registry.validation.api import validate_submissions
    from tests.validation.factory import clean_site, write_submission

    rows = clean_site("site_l")
    for t in rows["toxicity_event"]:
        if t["tox_type"] == "crs":  # every CRS of the site on Lee 2014, hypoxia as FiO2 only
            t.update(grading_scale="lee_2014", grading_scale_version="2014",
                     o2_support_max=None, fio2_max_pct=45.0)
    write_submission(fresh_project, "site_l", rows, Path(str(tmp_path)) / "x")  # type: ignore[arg-type]
    rep = validate_submissions(fresh_project, as_of=dt.date(2023, 7, 15), write_history=False)  # type: ignore[arg-type]
    rules = Counter(i["rule"]["id"] for i in rep.issues)
    assert rules == Counter({"toxicity_event.grade_reported.crs_fio2_approximate": 6})
    assert {i["rule"]["severity"] for i in rep.issues} == {"info"}
    assert rep.exit_code == 0
    assert "approximate" in rep.issues[0]["message"]


def test_mixed_scales_in_one_submission_fail_as_a_warning(defect_registry: DefectRegistry) -> None:
    # a warning (explain or fix): a site that changed scale at a date mixes legitimately
    res = {(r.rule_id, r.site_id): r for r in defect_registry.report.results}
    r = res[("toxicity_event.grading_scale.one_per_submission", "site_d")]
    assert r.status == "fail" and r.severity == "warning" and r.num_violated >= 1


def test_statuses_and_denominators(defect_registry: DefectRegistry) -> None:
    res = {(r.rule_id, r.site_id): r for r in defect_registry.report.results}
    r = res[("disease_assessment.response.mrd_negative_requires_mrd", "site_d")]
    # denominator: MRD-negative CR assessments only (structured filter of the catalog)
    n_neg = sum(1 for a in defect_registry.rows["site_d"]["disease_assessment"]
                if a["response"] == "cr_mrd_neg")
    assert r.num_denominator == n_neg and r.pct_violated == round(100 * r.num_violated / n_neg, 4)
    # a foreign key into a table that is empty in the whole run cannot be evaluated
    assert res[("patient.site_id.foreign_key", "site_d")].status == "pass"
    assert all(x.status != "error" for x in defect_registry.report.results)
