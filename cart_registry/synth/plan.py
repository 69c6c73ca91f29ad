"""Per-patient plans: the key dates and outcomes a preset decides, before any row exists.

A preset (abstract or scale) fills these; ``timeline.build_rows`` turns a plan into canonical
rows, adding the routine detail (assessments, lymphodepletion, toxicities, antigen panels)
around the dates the plan fixed. Keeping the two apart is what lets the abstract preset pin its
numbers globally while the scale preset draws each patient on its own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass
class RelapsePlan:
    date: dt.date
    lineage: str = "b_lymphoid"
    #: antigen -> status at relapse; None = no immunophenotype (phenotype not evaluable)
    expression: dict[str, str] | None = None
    relapse_site: str = "bone_marrow"
    detection_method: str = "morphologic"
    relapse_level: str = "hematologic"


@dataclass
class ReinfusionPlan:
    date: dt.date
    intent: str
    #: lymphodepletion regimen before the re-infusion, or None when none was given
    ld_regimen: str | None = None


@dataclass
class CoursePlan:
    construct_id: str
    start: dt.date
    #: category of the response assessment (day ``response_day``)
    response: str
    response_day: int
    reinfusions: list[ReinfusionPlan] = field(default_factory=list)
    relapse: RelapsePlan | None = None
    #: consolidative HSCT after this course (before its relapse, if any)
    hsct: dt.date | None = None
    #: status of the course's target antigens (and others) before the first infusion
    pre_expression: dict[str, str] = field(default_factory=dict)
    bridging: bool = False
    #: anti-leukemic therapy after a relapse or a non-response (intent relapse_treatment)
    salvage: str | None = None
    #: B-cell aplasia lost without relapse (the reason for the next course)
    bcell_recovery: dt.date | None = None

    @property
    def cr(self) -> bool:
        return self.response in ("cr_mrd_neg", "cr_mrd_pos", "cr_mrd_unknown", "cri")


@dataclass
class PatientPlan:
    site_id: str
    local_id: str
    patient_id: str
    registry_status: str
    sex: str
    birth_date: dt.date
    diagnosis_date: dt.date
    icd10: str
    cytogenetics: list[str] | None
    down_syndrome: bool | None
    prior_blinatumomab: bool | None
    prior_inotuzumab: bool | None
    prior_hsct: list[dt.date]
    courses: list[CoursePlan]
    last_contact: dt.date
    last_disease_status: str | None
    death_date: dt.date | None = None
    death_cause: str | None = None
    death_detail: str | None = None
    #: weight at the first course, kg (later infusions drift from it)
    weight_kg: float = 30.0
    #: scale "ASTCT" or "lee_2014" used by this patient's site when it graded an episode
    crs_scale_before_2019: str = "astct_2019"
    #: per-site extras a renderer may want (FHIR ids are made by the renderer itself)
    tags: dict[str, str] = field(default_factory=dict)

    def age_years(self, on: dt.date) -> float:
        return (on - self.birth_date).days / 365.25
