"""Known defects injected into a hand-made site, each with the issue it must raise.

Every defect touches its own patient (or its own row) so that one validation run checks them
all: ``(name, mutate, rule_id, table, record_key, column)``. The record key is the canonical
primary key of the row the issue must point at.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.validation.factory import Rows, find

D = dt.date
Mutate = Callable[[Rows, str], None]


@dataclass(frozen=True)
class Defect:
    name: str
    mutate: Mutate
    rule_id: str
    table: str
    key: str  # record key with '{p}' standing for the patient id
    column: str | None


def _days(d: dt.date, n: int) -> dt.date:
    return d + dt.timedelta(days=n)


def set_(table: str, key: dict[str, str], **values: Any) -> Mutate:
    def m(rows: Rows, pid: str) -> None:
        row = find(rows, table, **{k: v.format(p=pid) for k, v in key.items()})
        for col, v in values.items():
            row[col] = v(row, rows, pid) if callable(v) else v
    return m


def dx(rows: Rows, pid: str) -> dt.date:
    return find(rows, "patient", patient_id=pid)["diagnosis_date"]  # type: ignore[no-any-return]


def inf(rows: Rows, pid: str, n: str = "1") -> dt.date:
    return find(rows, "cart_infusion", infusion_id=f"{pid}-I{n}")["infusion_date"]  # type: ignore[no-any-return]


def death_date(rows: Rows, pid: str) -> dt.date:
    return find(rows, "death", patient_id=pid)["death_date"]  # type: ignore[no-any-return]


def drop(table: str, **key: str) -> Mutate:
    def m(rows: Rows, pid: str) -> None:
        row = find(rows, table, **{k: v.format(p=pid) for k, v in key.items()})
        rows[table].remove(row)
    return m


def duplicate_patient(rows: Rows, pid: str) -> None:
    twin = dict(find(rows, "patient", patient_id=pid))
    twin["patient_id"] = pid + "D"
    rows["patient"].append(twin)


def duplicate_infusion_key(rows: Rows, pid: str) -> None:
    rows["cart_infusion"].append(dict(find(rows, "cart_infusion", infusion_id=f"{pid}-I2")))


def kill(rows: Rows, pid: str, cause: str = "relapse_progression") -> None:
    """Make ``pid`` dead after all its events (death row + follow-up)."""
    day = D(2023, 1, 15)
    rows["death"].append({"patient_id": pid, "death_date": day, "primary_cause": cause,
                          "cause_detail": None})
    fu = find(rows, "follow_up", patient_id=pid)
    fu.update(last_contact_date=day, vital_status="dead", last_disease_status="not_cr")


def _seq(*ms: Mutate) -> Mutate:
    def m(rows: Rows, pid: str) -> None:
        for x in ms:
            x(rows, pid)
    return m


# the defects; patient numbers are assigned in order (P001 is the young child)
DEFECTS: list[Defect] = [
    Defect("ice_in_child", set_("toxicity_event", {"tox_id": "{p}-X2"}, ice_min=8, capd_max=None),
           "toxicity_event.ice_min.capd_for_children", "toxicity_event", "{p}-X2", "ice_min"),
    Defect("birth_after_dx", set_("patient", {"patient_id": "{p}"},
                                  birth_date=lambda r, rows, p: _days(r["diagnosis_date"], 10)),
           "patient.birth_date.before_diagnosis", "patient", "{p}", "birth_date"),
    Defect("infusion_before_dx", set_("cart_infusion", {"infusion_id": "{p}-I1"},
                                      infusion_date=lambda r, rows, p: _days(dx(rows, p), -5)),
           "cart_infusion.infusion_date.after_diagnosis", "cart_infusion", "{p}-I1", "infusion_date"),
    Defect("same_day_constructs", set_("cart_infusion", {"infusion_id": "{p}-I2"},
                                       infusion_date=lambda r, rows, p: inf(rows, p)),
           "course.first_infusion.distinct_dates", "cart_infusion", "{p}-I2", "infusion_date"),
    Defect("interval_10_days", set_("cart_infusion", {"infusion_id": "{p}-I2"},
                                    infusion_date=lambda r, rows, p: _days(inf(rows, p), 10)),
           "course.interval.min_14_days", "cart_infusion", "{p}-I2", "infusion_date"),
    Defect("new_construct_labelled_reinfusion",
           set_("cart_infusion", {"infusion_id": "{p}-I2"}, infusion_intent="reinfusion_nonresponse"),
           "cart_infusion.infusion_intent.one_initial_per_course", "cart_infusion", "{p}-I2",
           "infusion_intent"),
    Defect("ld_20_days_before", set_("lymphodepletion", {"ld_id": "{p}-I1-LD"},
                                     start_date=lambda r, rows, p: _days(inf(rows, p), -20)),
           "lymphodepletion.start_date.within_14_days_before_infusion", "lymphodepletion",
           "{p}-I1-LD", "start_date"),
    Defect("therapy_before_dx", set_("antileukemic_therapy", {"therapy_id": "{p}-T1"},
                                     start_date=lambda r, rows, p: _days(dx(rows, p), -40),
                                     end_date=lambda r, rows, p: _days(dx(rows, p), -30)),
           "event.date.after_diagnosis", "antileukemic_therapy", "{p}-T1", "start_date"),
    Defect("assessment_after_death",
           _seq(kill, set_("disease_assessment", {"assessment_id": "{p}-A21"},
                           assessment_date=lambda r, rows, p: _days(death_date(rows, p), 10))),
           "death.death_date.last_event", "disease_assessment", "{p}-A21", "assessment_date"),
    Defect("dead_last_contact_differs",
           _seq(kill, set_("follow_up", {"patient_id": "{p}"},
                           last_contact_date=lambda r, rows, p: _days(death_date(rows, p), -20))),
           "follow_up.last_contact_date.equals_death_date", "follow_up", "{p}", "last_contact_date"),
    Defect("dead_without_death_row", set_("follow_up", {"patient_id": "{p}"}, vital_status="dead"),
           "follow_up.vital_status.matches_death", "follow_up", "{p}", "vital_status"),
    Defect("last_contact_before_events", set_("follow_up", {"patient_id": "{p}"},
                                              last_contact_date=D(2020, 1, 1)),
           "follow_up.last_contact_date.after_events", "follow_up", "{p}", "last_contact_date"),
    Defect("last_contact_after_cutoff", set_("follow_up", {"patient_id": "{p}"},
                                             last_contact_date=D(2023, 7, 10)),
           "follow_up.last_contact_date.before_cutoff", "follow_up", "{p}", "last_contact_date"),
    Defect("crs_before_infusion", set_("toxicity_event", {"tox_id": "{p}-X1"},
                                       onset_date=lambda r, rows, p: _days(inf(rows, p), -2)),
           "toxicity_event.onset_date.in_course_window", "toxicity_event", "{p}-X1", "onset_date"),
    Defect("crs_day_40", set_("toxicity_event", {"tox_id": "{p}-X1"},
                              onset_date=lambda r, rows, p: _days(inf(rows, p), 40),
                              resolution_date=lambda r, rows, p: _days(inf(rows, p), 45)),
           "toxicity_event.onset_date.late_onset", "toxicity_event", "{p}-X1", "onset_date"),
    Defect("grade_without_scale", set_("toxicity_event", {"tox_id": "{p}-X1"}, grading_scale=None),
           "toxicity_event.grading_scale.present_when_graded", "toxicity_event", "{p}-X1",
           "grading_scale"),
    Defect("icans_on_penn", set_("toxicity_event", {"tox_id": "{p}-X2"}, grading_scale="penn"),
           "toxicity_event.grading_scale.valid_for_type", "toxicity_event", "{p}-X2", "grading_scale"),
    Defect("grade5_alive", set_("toxicity_event", {"tox_id": "{p}-X1"}, grade_reported=5),
           "toxicity_event.grade_reported.grade5_implies_death", "toxicity_event", "{p}-X1",
           "grade_reported"),
    Defect("crs_grade_vs_components", set_("toxicity_event", {"tox_id": "{p}-X1"}, grade_reported=3),
           "toxicity_event.grade_reported.crs_matches_astct", "toxicity_event", "{p}-X1",
           "grade_reported"),
    Defect("icans_grade_vs_components", set_("toxicity_event", {"tox_id": "{p}-X2"},
                                             grade_reported=3),
           "toxicity_event.grade_reported.icans_matches_astct", "toxicity_event", "{p}-X2",
           "grade_reported"),
    Defect("crs_without_fever", set_("toxicity_event", {"tox_id": "{p}-X1"}, fever=False,
                                     anticytokine_or_antipyretic=False, temp_max_c=37.0),
           "toxicity_event.fever.required_for_crs", "toxicity_event", "{p}-X1", "fever"),
    Defect("other_scale_version", set_("toxicity_event", {"tox_id": "{p}-X1"},
                                       grading_scale_version="2014"),
           "toxicity_event.grading_scale.one_per_submission", "toxicity_event", "{p}-X1",
           "grading_scale"),
    Defect("death_cause_without_event", lambda rows, p: kill(rows, p, "iec_hs"),
           "death.primary_cause.toxicity_recorded", "death", "{p}", "primary_cause"),
    Defect("response_before_infusion", set_("disease_assessment", {"assessment_id": "{p}-A10"},
                                            response="cr_mrd_pos"),
           "disease_assessment.assessment_date.in_course_window", "disease_assessment", "{p}-A10",
           "assessment_date"),
    Defect("mrd_neg_with_positive_mrd", set_("disease_assessment", {"assessment_id": "{p}-A11"},
                                             mrd_value=0.002),
           "disease_assessment.response.mrd_negative_requires_mrd", "disease_assessment",
           "{p}-A11", "response"),
    Defect("cr_with_blasts", set_("disease_assessment", {"assessment_id": "{p}-A21"},
                                  bm_blast_pct=7.0),
           "disease_assessment.response.cr_requires_m1_marrow", "disease_assessment", "{p}-A21",
           "response"),
    Defect("relapse_before_cr", set_("relapse", {"relapse_id": "{p}-R1"},
                                     relapse_date=lambda r, rows, p: _days(inf(rows, p), 10)),
           "relapse.relapse_date.after_cr", "relapse", "{p}-R1", "relapse_date"),
    Defect("duplicate_patient", duplicate_patient,
           "patient.patient_id.duplicate_within_site", "patient", "{p}", "patient_id"),
    Defect("dose_unit", set_("cart_infusion", {"infusion_id": "{p}-I1"}, dose_car_pos_per_kg_e6=80.0),
           "cart_infusion.dose_car_pos_per_kg_e6.plausible", "cart_infusion", "{p}-I1",
           "dose_car_pos_per_kg_e6"),
    Defect("age_45", set_("patient", {"patient_id": "{p}"}, birth_date=D(1975, 1, 1),
                          diagnosis_date=lambda r, rows, p: r["diagnosis_date"]),
           "patient.birth_date.age_at_cart_a_in_range", "patient", "{p}", "birth_date"),
    Defect("no_follow_up", drop("follow_up", patient_id="{p}"),
           "follow_up.patient_id.present_for_infused", "patient", "{p}", "patient_id"),
    Defect("no_response_after_b", drop("disease_assessment", assessment_id="{p}-A21"),
           "course.response_assessment.expected", "cart_infusion", "{p}-I2", "infusion_date"),
    Defect("relapse_sample_far", set_("antigen_expression", {"expr_id": "{p}-E3"},
                                      sample_date=lambda r, rows, p: _days(r["sample_date"], 30)),
           "antigen_expression.sample_date.near_relapse", "antigen_expression", "{p}-E3",
           "sample_date"),
    Defect("sex_code", set_("patient", {"patient_id": "{p}"}, sex="boy"),
           "patient.sex.in_value_set", "patient", "{p}", "sex"),
    Defect("unknown_construct", set_("cart_infusion", {"infusion_id": "{p}-I2"},
                                     construct_id="no-such-car"),
           "cart_infusion.construct_id.foreign_key", "cart_infusion", "{p}-I2", "construct_id"),
    Defect("duplicate_infusion_key", duplicate_infusion_key,
           "cart_infusion.primary_key.unique", "cart_infusion", "{p}-I2", "infusion_id"),
    Defect("weight_500", set_("cart_infusion", {"infusion_id": "{p}-I1"}, weight_kg=500.0),
           "cart_infusion.weight_kg.in_range", "cart_infusion", "{p}-I1", "weight_kg"),
    Defect("icd_pattern", set_("patient", {"patient_id": "{p}"}, diagnosis_icd10cm="C92.0"),
           "patient.diagnosis_icd10cm.pattern", "patient", "{p}", "diagnosis_icd10cm"),
    Defect("lesions_unsorted", set_("patient", {"patient_id": "{p}"},
                                    cytogenetic_lesions=["none", "KMT2A_r"]),
           "patient.cytogenetic_lesions.sorted_set", "patient", "{p}", "cytogenetic_lesions"),
]


def defect_site(site_id: str) -> tuple[Rows, list[tuple[Defect, str]]]:
    """A site with one defect per patient (the first defect needs the young child P001)."""
    from tests.validation.factory import clean_site

    rows = clean_site(site_id, n_patients=len(DEFECTS))
    placed = []
    for k, d in enumerate(DEFECTS, start=1):
        pid = f"{site_id}-P{k:03d}"
        d.mutate(rows, pid)
        placed.append((d, pid))
    return rows, placed
