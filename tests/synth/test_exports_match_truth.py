"""What the independent reader finds in each site's files is what the truth says."""

from __future__ import annotations

from pathlib import Path

import pytest

from cart_registry.synth.truth import Truth
from tests.synth.conftest import CATALOG
from tests.synth.exports_reader import Pt, read_all


def _truth_pts(truth: Truth) -> dict[str, Pt]:
    pts = {p.patient_id: Pt(p.patient_id) for p in truth.plans}
    for r in truth.rows["patient"]:
        pts[r["patient_id"]].status = r["registry_status"]
        pts[r["patient_id"]].birth = r["birth_date"]
    for r in truth.rows["cart_infusion"]:
        pts[r["patient_id"]].infusions.append((r["infusion_date"], r["construct_id"]))
    for r in truth.rows["disease_assessment"]:
        pts[r["patient_id"]].assessments.append(
            (r["assessment_date"], r["specimen"], r["response"]))
    for r in truth.rows["relapse"]:
        pts[r["patient_id"]].relapses.append((r["relapse_date"], r["lineage"]))
    for r in truth.rows["antigen_expression"]:
        pts[r["patient_id"]].expression.append((r["sample_date"], r["antigen"], r["status"]))
    for r in truth.rows["hsct"]:
        pts[r["patient_id"]].hsct.append(r["hsct_date"])
    for r in truth.rows["antileukemic_therapy"]:
        pts[r["patient_id"]].therapies.append((r["start_date"], r["intent"]))
    for r in truth.rows["death"]:
        pts[r["patient_id"]].death = r["death_date"]
    for r in truth.rows["follow_up"]:
        pts[r["patient_id"]].last_contact = r["last_contact_date"]
    return pts


@pytest.mark.parametrize("fhir_form", ["bulk", "bundles"])
def test_exports_carry_the_truth(regenerated: tuple[Path, object], truth0: Truth,
                                 fhir_form: str) -> None:
    out, _ = regenerated
    got = read_all(out, CATALOG, fhir_form)
    want = _truth_pts(truth0)
    assert sorted(got) == sorted(want)
    for pid, w in want.items():
        g = got[pid]
        assert (g.status, g.birth, g.death, g.last_contact) == (
            w.status, w.birth, w.death, w.last_contact), pid
        for attr in ("infusions", "assessments", "relapses", "expression", "hsct", "therapies"):
            assert sorted(getattr(g, attr), key=repr) == sorted(getattr(w, attr), key=repr), (
                pid, attr)
