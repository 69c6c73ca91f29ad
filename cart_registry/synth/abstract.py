"""The "abstract" preset: 135 screened patients at three sites, 61 included, whose exported
records reproduce every number of Holland et al.'s abstract (see design.py for the pinning).

This module turns the cohort design into dated patient plans: calendar placement (CART-B
infusions 2019-2022, data cut-off 2023-06-30), constructs per course, CART-A relapses and
their phenotypes (the usual reason to switch antigen), re-infusions, consolidative HSCTs, a
third construct for 13 patients, causes of death; plus 74 screened patients who were not
included (no CAR T, or a single construct).
"""

from __future__ import annotations

import datetime as dt

from cart_registry.synth.catalog import (
    BY_TARGETS,
    CONSTRUCT_BY_ID,
    CONSTRUCTS,
    DATA_CUTOFF,
    SITE_EDC,
    SITE_FHIR,
    SITE_REDCAP,
)
from cart_registry.synth.design import (
    N_MORE_THAN_TWO,
    IncludedDesign,
    design_included_pinned,
)
from cart_registry.synth.plan import CoursePlan, PatientPlan, ReinfusionPlan, RelapsePlan
from cart_registry.synth.prng import Stream
from cart_registry.synth.timeline import days, weight_for_age

B_FIRST = dt.date(2019, 3, 1)
B_LAST = dt.date(2022, 10, 31)

#: included / not included patients per site (135 screened, 61 included)
SITE_COUNTS = {SITE_REDCAP: (30, 39), SITE_EDC: (22, 28), SITE_FHIR: (9, 7)}
N_SCREENED_STATUS = 10  # of the 74 not included, still 'screened' (not yet decided)

CR_TYPES = (["cr_mrd_neg", "cr_mrd_pos", "cri", "cr_mrd_unknown"], [80, 9, 8, 3])

DEATH_DETAIL: dict[str, list[str | None]] = {
    "relapse_progression": ["Progressive disease", "Refractory relapse", None, None],
    "infection": ["Septic shock", "Invasive fungal infection", "Adenovirus pneumonitis", None],
    "gvhd": ["Grade IV acute GVHD of the gut", "Chronic GVHD of the lung"],
    "hsct_related_other": ["Transplant-associated TMA", "Veno-occlusive disease"],
    "organ_failure": ["Multi-organ failure", "Défaillance multiviscérale"],
    "other": ["Intracranial haemorrhage"],
}


class PlanError(RuntimeError):
    pass


def _date_between(rs: Stream, lo: dt.date, hi: dt.date) -> dt.date:
    if hi < lo:
        raise PlanError(f"empty date range {lo}..{hi}")
    return lo + days(rs.randint(0, (hi - lo).days))


def _targets(cid: str) -> tuple[str, ...]:
    return CONSTRUCT_BY_ID[cid].target_antigens


def _cytogenetics(rs: Stream) -> list[str] | None:
    if rs.chance(0.06):
        return None
    if rs.chance(0.04):
        return ["unknown"]
    found = [
        lesion for lesion, p in (
            ("ETV6_RUNX1", 0.22), ("KMT2A_r", 0.07), ("BCR_ABL1", 0.05), ("TCF3_PBX1", 0.05),
            ("hypodiploid", 0.03), ("iAMP21", 0.04), ("other", 0.15),
        ) if rs.chance(p)
    ]
    return sorted(found) if found else ["none"]


def _pick_a(rs: Stream, age: float) -> str:
    ids = [c.construct_id for c in CONSTRUCTS]
    weights = []
    for cid in ids:
        con = CONSTRUCT_BY_ID[cid]
        w = {"CD19": 10.0, "CD22": 1.0, "CD19/CD22": 1.0}[con.targets_key]
        if cid == "tisa-cel":
            w = 45.0 if age <= 25 else 0.0
        if cid == "brexu-cel":
            w = 12.0 if age >= 18 else 0.0
        weights.append(w)
    return rs.weighted(ids, weights)


def _pick_other(rs: Stream, used: list[str], *, same_targets: tuple[str, ...] | None,
                differ_from: tuple[str, ...] | None, age: float) -> str:
    pool = []
    for con in CONSTRUCTS:
        if con.construct_id in used:
            continue
        if same_targets is not None and con.target_antigens != same_targets:
            continue
        if differ_from is not None and con.target_antigens == differ_from:
            continue
        if con.construct_id == "tisa-cel" and age > 25:
            continue
        if con.construct_id == "brexu-cel" and age < 18:
            continue
        pool.append(con.construct_id)
    if not pool:
        raise PlanError("no construct fits")
    return rs.choice(pool)


def _phenotype_expression(rs: Stream, phenotype: str, targets: tuple[str, ...]) -> dict[str, str]:
    """CD19/CD22 statuses at relapse that give ``phenotype`` relative to ``targets``."""
    out = {}
    for ag in ("CD19", "CD22"):
        if ag not in targets:
            out[ag] = rs.choice(["positive", "positive", "dim", "negative"])
    tl = list(targets)
    if phenotype == "antigen_negative" or phenotype == "lineage_switch":
        for ag in tl:
            out[ag] = "negative"
        if phenotype == "lineage_switch":
            out = {"CD19": "negative", "CD22": "negative"}
    elif phenotype == "antigen_dim":
        dim = rs.choice(tl)
        for ag in tl:
            out[ag] = "dim" if ag == dim else rs.choice(["positive", "dim"])
    else:
        for ag in tl:
            out[ag] = "positive"
    return out


def _assign_constructs(rs: Stream, des: list[IncludedDesign]) -> dict[int, list[str]]:
    """Courses' constructs: A, then B (different target set iff ``differ``), then C."""
    for _ in range(200):
        out: dict[int, list[str]] = {}
        try:
            for p in des:
                age = p.age_days / 365.25
                a = _pick_a(rs, age)
                ta = _targets(a)
                if p.differ:
                    b = _pick_other(rs, [a], same_targets=None, differ_from=ta, age=age)
                else:
                    b = _pick_other(rs, [a], same_targets=ta, differ_from=None, age=age)
                seq = [a, b]
                if p.n_courses == 3:
                    seq.append(_pick_other(rs, seq, same_targets=None, differ_from=None, age=age))
                out[p.index] = seq
        except PlanError:
            continue
        if len({c for seq in out.values() for c in seq}) == len(CONSTRUCTS):
            return out
    raise PlanError("could not use all 14 constructs")


def _relapse_details(rs: Stream, plan_date: dt.date, lineage: str,
                     expression: dict[str, str] | None) -> RelapsePlan:
    site = rs.weighted(["bone_marrow", "combined", "cns", "other_extramedullary"], [80, 9, 7, 4])
    if lineage != "b_lymphoid":
        site = "bone_marrow"
    method, level = "morphologic", "hematologic"
    if site == "bone_marrow" and lineage == "b_lymphoid" and rs.chance(0.22):
        method, level = rs.choice(["flow_mrd", "flow_mrd", "molecular_mrd"]), "mrd_only"
    return RelapsePlan(plan_date, lineage, expression, site, method, level)


def _included_plan(seed: int, p: IncludedDesign, constructs: list[str], site: str,
                   local_id: str, patient_id: str, roles: dict[str, bool]) -> PatientPlan:
    rs = Stream(seed, "included-plan", p.index)
    cut = DATA_CUTOFF
    # ---- calendar
    if p.category == "LTFU":
        d_b = _date_between(rs, B_FIRST, B_LAST)
    elif p.dead:
        d_b = _date_between(rs, B_FIRST, min(B_LAST, cut - days(p.os_days + 3)))
    else:
        d_b = cut - days(rs.randint(0, 75)) - days(p.os_days)
    if not B_FIRST <= d_b <= B_LAST:
        raise PlanError("CART-B outside 2019-03..2022-10")
    end = d_b + days(p.os_days)  # death or last contact
    d_a = d_b - days(p.interval_days)
    birth = d_a - days(p.age_days)
    dx = d_a - days(rs.randint(180, min(3500, p.age_days - 150)))
    age_a = p.age_days / 365.25

    a_con, b_con = constructs[0], constructs[1]
    # ---- CART-A
    c_a = rs.randint(24, 33) if p.a_cr else rs.randint(21, 28)
    course_a = CoursePlan(
        a_con, d_a, rs.weighted(*CR_TYPES) if p.a_cr else rs.choice(["nr", "nr", "pr"]), c_a,
        pre_expression={"CD19": "positive" if rs.chance(0.9) else "dim",
                        "CD22": "positive" if rs.chance(0.85) else "dim"},
        bridging=rs.chance(0.7),
    )
    a_rel_expr: dict[str, str] | None = None
    if p.a_cr:
        lo = d_a + days(c_a + 30)
        hi = d_b - days(42)
        if roles["bcell_only"]:
            course_a.bcell_recovery = _date_between(rs, lo, hi)
            horizon = course_a.bcell_recovery
        else:
            r_a = _date_between(rs, lo, hi)
            ta = _targets(a_con)
            if p.differ:
                a_rel_expr = {ag: rs.weighted(["negative", "dim", "positive"], [45, 35, 20])
                              if ag in ta else "positive" for ag in ("CD19", "CD22")}
            else:
                a_rel_expr = {ag: rs.weighted(["positive", "dim"], [75, 25])
                              for ag in ("CD19", "CD22")}
            course_a.relapse = _relapse_details(
                rs, r_a, "b_lymphoid", a_rel_expr if rs.chance(0.85) else None)
            horizon = r_a
            if rs.chance(0.6):
                course_a.salvage = rs.weighted(
                    ["blinatumomab", "inotuzumab", "chemotherapy"], [35, 30, 35])
        if roles["a_reinfusion"]:
            r = d_a + days(rs.randint(60, 150))
            if r < horizon - days(21):
                course_a.reinfusions.append(ReinfusionPlan(
                    r, "reinfusion_bcell_recovery", rs.choice(["cy_only", "flu_cy", None])))
        if roles["a_hsct"] and course_a.relapse is not None:
            h = d_a + days(rs.randint(60, 110))
            if h < horizon - days(30):
                course_a.hsct = h
    elif rs.chance(0.5):
        course_a.salvage = rs.choice(["inotuzumab", "chemotherapy"])

    # ---- CART-B
    pre_b = dict(a_rel_expr) if a_rel_expr else {"CD19": "positive", "CD22": "positive"}
    for ag in _targets(b_con):
        if pre_b.get(ag) == "negative":
            pre_b[ag] = "dim"  # nobody is given a CAR against an antigen the blasts lack
    c_b = p.b_cr_day if p.b_cr else rs.randint(21, 28)
    assert c_b is not None
    course_b = CoursePlan(
        b_con, d_b, rs.weighted(*CR_TYPES) if p.b_cr else rs.choice(["nr", "nr", "pr"]), c_b,
        pre_expression=pre_b, bridging=rs.chance(0.6),
    )
    courses = [course_a, course_b]
    death_cause: str | None = None
    last_status: str | None
    if p.category.startswith("REL"):
        assert p.rfs_days is not None and p.phenotype is not None
        r_b = d_b + days(c_b + p.rfs_days)
        lineage = "myeloid" if p.phenotype == "lineage_switch" else "b_lymphoid"
        expr = (None if p.phenotype == "not_evaluable"
                else _phenotype_expression(rs, p.phenotype, _targets(b_con)))
        course_b.relapse = _relapse_details(rs, r_b, lineage, expr)
        if rs.chance(0.6):
            course_b.salvage = rs.weighted(
                ["chemotherapy", "blinatumomab", "inotuzumab", "other"], [40, 25, 25, 10])
    b_stop = course_b.relapse.date if course_b.relapse else end
    if p.b_cr and roles["b_hsct"]:
        h = d_b + days(rs.randint(55, 110))
        if h < b_stop - days(30):
            course_b.hsct = h
    if p.b_cr and roles["b_reinfusion"]:
        r = d_b + days(rs.randint(60, 150))
        if r < b_stop - days(21) and (course_b.hsct is None or r < course_b.hsct - days(21)):
            course_b.reinfusions.append(ReinfusionPlan(
                r, rs.choice(["reinfusion_bcell_recovery", "reinfusion_mrd_or_relapse"]),
                rs.choice(["cy_only", "flu_cy"])))

    # ---- a third construct
    if p.n_courses == 3:
        if p.category.startswith("REL"):
            assert course_b.relapse is not None
            base = course_b.relapse.date
            d_c = base + days(rs.randint(45, min(90, (end - base).days - 60)))
        else:
            d_c = d_b + days(rs.randint(70, min(130, (end - d_b).days - 60)))
        c_con = constructs[2]
        pre_c = dict(course_b.relapse.expression) if (
            course_b.relapse and course_b.relapse.expression) else {
            "CD19": "positive", "CD22": "positive"}
        for ag in _targets(c_con):
            if pre_c.get(ag) == "negative":
                pre_c[ag] = "dim"
        room = (end - d_c).days
        c_cr = room >= 45 and rs.chance(0.5)
        c_c = rs.randint(24, 33) if c_cr else rs.randint(21, 28)
        course_c = CoursePlan(
            c_con, d_c, rs.weighted(*CR_TYPES) if c_cr else "nr", c_c,
            pre_expression=pre_c, bridging=rs.chance(0.5),
        )
        courses.append(course_c)
        if p.dead and c_cr:
            lo = d_c + days(c_c + 30)
            hi = end - days(20)
            if hi >= lo:
                course_c.relapse = _relapse_details(
                    rs, _date_between(rs, lo, hi), "b_lymphoid",
                    {"CD19": rs.choice(["positive", "dim"]), "CD22": "positive"})
            else:
                death_cause = "infection"
        last_status = "cr" if c_cr and course_c.relapse is None else "not_cr"
    elif p.category in ("DR", "CENS", "LTFU"):
        last_status = "cr"
    else:
        last_status = "not_cr"

    death_date = end if p.dead else None
    if p.dead and death_cause is None:
        if p.category == "DR":
            death_cause = (rs.choice(["gvhd", "hsct_related_other", "infection"])
                           if course_b.hsct is not None else
                           rs.choice(["infection", "infection", "organ_failure", "other"]))
        else:
            death_cause = rs.weighted(["relapse_progression", "infection", "organ_failure"],
                                      [85, 10, 5])
    if p.dead and p.category == "NR_DEAD" and not rs.chance(0.8) and last_status == "not_cr":
        last_status = "unknown"
    detail: str | None = None
    if death_cause is not None and rs.chance(0.6):
        detail = rs.choice(DEATH_DETAIL[death_cause])
    prior = []
    if rs.chance(0.25):
        prior.append(_date_between(rs, dx + days(150), d_a - days(120)))
    sex = rs.weighted(["male", "female"], [58, 42])
    return PatientPlan(
        site_id=site, local_id=local_id, patient_id=patient_id, registry_status="included",
        sex=sex, birth_date=birth, diagnosis_date=dx,
        icd10=rs.weighted(["C91.00", "C91.02", "C91.0"], [75, 20, 5]),
        cytogenetics=(["KMT2A_r"] if p.phenotype == "lineage_switch" else _cytogenetics(rs)),
        down_syndrome=rs.chance(0.03) if rs.chance(0.95) else None,
        prior_blinatumomab=rs.chance(0.25), prior_inotuzumab=rs.chance(0.12),
        prior_hsct=prior, courses=courses, last_contact=end, last_disease_status=last_status,
        death_date=death_date, death_cause=death_cause, death_detail=detail,
        weight_kg=weight_for_age(rs, age_a),
        crs_scale_before_2019="lee_2014" if site == SITE_EDC else "astct_2019",
    )


def _excluded_plan(seed: int, i: int, status: str, site: str, local_id: str,
                   patient_id: str) -> PatientPlan:
    rs = Stream(seed, "excluded-plan", i)
    cut = DATA_CUTOFF
    age_days = rs.randint(500, 9500)
    treated = rs.chance(0.8)
    if status == "screened":
        anchor = _date_between(rs, dt.date(2022, 12, 1), dt.date(2023, 3, 31))
    else:
        anchor = _date_between(rs, dt.date(2015, 6, 1), dt.date(2022, 12, 31))
    birth = anchor - days(age_days)
    dx = anchor - days(rs.randint(150, min(3000, age_days - 120)))
    dead = status != "screened" and rs.chance(0.4)
    if dead:
        end = anchor + days(rs.randint(60, 1400))
        if end > cut - days(3):
            end = cut - days(rs.randint(3, 60))
    else:
        end = cut - days(rs.randint(0, 120))
    courses: list[CoursePlan] = []
    last_status: str | None = "unknown"
    cause: str | None = None
    if treated and (end - anchor).days >= 45:
        con = _pick_a(rs, age_days / 365.25)
        cr = rs.chance(0.78)
        c = rs.randint(24, 33) if cr else rs.randint(21, 28)
        course = CoursePlan(
            con, anchor, rs.weighted(*CR_TYPES) if cr else rs.choice(["nr", "pr"]), c,
            pre_expression={"CD19": "positive", "CD22": "positive" if rs.chance(0.8) else "dim"},
            bridging=rs.chance(0.6),
        )
        courses.append(course)
        last_status = "cr" if cr else "not_cr"
        lo = anchor + days(c + 30)
        hi = end - days(20)
        if cr and hi > lo and (dead or rs.chance(0.4)):
            course.relapse = _relapse_details(
                rs, _date_between(rs, lo, hi), "b_lymphoid",
                {"CD19": rs.choice(["negative", "dim", "positive"]), "CD22": "positive"}
                if rs.chance(0.8) else None)
            last_status = "not_cr"
        if cr and rs.chance(0.15):
            h = anchor + days(rs.randint(60, 110))
            stop = course.relapse.date if course.relapse else end
            if h < stop - days(30):
                course.hsct = h
        if cr and rs.chance(0.12):
            r = anchor + days(rs.randint(60, 150))
            stop = course.relapse.date if course.relapse else end
            if r < stop - days(21) and (course.hsct is None or r < course.hsct - days(21)):
                course.reinfusions.append(ReinfusionPlan(r, "reinfusion_bcell_recovery", None))
        if dead:
            cause = "relapse_progression" if (course.relapse or not cr) else "infection"
            if cr and course.relapse is None:
                last_status = "cr"
    elif dead:
        cause = "relapse_progression"
        last_status = "not_cr"
    return PatientPlan(
        site_id=site, local_id=local_id, patient_id=patient_id, registry_status=status,
        sex=rs.weighted(["male", "female"], [55, 45]), birth_date=birth, diagnosis_date=dx,
        icd10=rs.weighted(["C91.00", "C91.02"], [70, 30]), cytogenetics=_cytogenetics(rs),
        down_syndrome=rs.chance(0.03), prior_blinatumomab=rs.chance(0.2),
        prior_inotuzumab=rs.chance(0.1), prior_hsct=[], courses=courses, last_contact=end,
        last_disease_status=last_status, death_date=end if dead else None, death_cause=cause,
        death_detail=None, weight_kg=weight_for_age(rs, age_days / 365.25),
        crs_scale_before_2019="lee_2014" if site == SITE_EDC else "astct_2019",
    )


def _choose_roles(rs: Stream, des: list[IncludedDesign]) -> dict[int, dict[str, bool]]:
    roles = {p.index: {"bcell_only": False, "a_reinfusion": False, "a_hsct": False,
                       "b_hsct": False, "b_reinfusion": False} for p in des}
    both = [p for p in des if p.a_cr and p.b_cr and p.interval_days >= 150]
    for p in rs.sample(both, 5):
        roles[p.index]["bcell_only"] = True
    for p in rs.sample([p for p in des if p.a_cr], 12):
        roles[p.index]["a_reinfusion"] = True
    for p in rs.sample([p for p in des if p.a_cr], 7):
        roles[p.index]["a_hsct"] = True
    b_cr = [p for p in des if p.b_cr]
    for p in rs.sample(b_cr, 10):
        roles[p.index]["b_hsct"] = True
    for p in rs.sample(b_cr, 6):
        roles[p.index]["b_reinfusion"] = True
    return roles


def _choose_third(rs: Stream, des: list[IncludedDesign]) -> None:
    eligible = []
    for p in des:
        if p.category.startswith("REL"):
            assert p.b_cr_day is not None and p.rfs_days is not None
            room = p.os_days - p.b_cr_day - p.rfs_days
            if room >= 110:
                eligible.append(p)
        elif p.category.startswith("NR") and p.os_days >= 135:
            eligible.append(p)
    if len(eligible) < N_MORE_THAN_TWO:
        raise PlanError("not enough patients with room for a third construct")
    for p in rs.sample(eligible, N_MORE_THAN_TWO):
        p.n_courses = 3


def local_ids(site: str, n: int, rs: Stream) -> list[str]:
    if site == SITE_REDCAP:
        return [str(1001 + i) for i in range(n)]
    if site == SITE_EDC:
        return [f"CHS-{i + 1:03d}" for i in range(n)]
    return [rs.uuid() for _ in range(n)]


def abstract_plans(seed: int) -> tuple[list[PatientPlan], dict[str, object]]:
    """All 135 patient plans, and facts about the search (design attempt number)."""
    last_err = ""
    for attempt in range(100):
        try:
            return _abstract_plans(seed, attempt)
        except PlanError as exc:
            last_err = str(exc)
    raise RuntimeError(f"abstract preset: no plan found (last: {last_err})")


def _abstract_plans(seed: int, attempt: int) -> tuple[list[PatientPlan], dict[str, object]]:
    des, design_attempt = design_included_pinned(seed * 1000 + attempt)
    rs = Stream(seed, "abstract-plan", attempt)
    _choose_third(rs, des)
    roles = _choose_roles(rs, des)
    constructs = _assign_constructs(rs, des)
    # sites: included and not-included patients are spread by fixed counts
    inc_sites = [s for s, (n, _) in SITE_COUNTS.items() for _ in range(n)]
    exc_sites = [s for s, (_, n) in SITE_COUNTS.items() for _ in range(n)]
    rs.shuffle(inc_sites)
    rs.shuffle(exc_sites)
    statuses = ["screened"] * N_SCREENED_STATUS + ["excluded"] * (len(exc_sites) - 10)
    rs.shuffle(statuses)
    # local ids are handed out per site in a random order (record creation order)
    slots: dict[str, list[str]] = {}
    for site, (n_inc, n_exc) in SITE_COUNTS.items():
        ids = local_ids(site, n_inc + n_exc, Stream(seed, "local-ids", site))
        slots[site] = rs.shuffle(ids)
    plans: list[PatientPlan] = []
    for p, site in zip(des, inc_sites, strict=True):
        lid = slots[site].pop()
        plans.append(_included_plan(seed * 1000 + attempt, p, constructs[p.index], site, lid,
                                    f"{site}-{lid}", roles[p.index]))
    for i, (site, status) in enumerate(zip(exc_sites, statuses, strict=True)):
        lid = slots[site].pop()
        plans.append(_excluded_plan(seed * 1000 + attempt, i, status, site, lid,
                                    f"{site}-{lid}"))
    plans.sort(key=lambda pl: pl.patient_id)
    _break_lookalikes(plans)
    return plans, {"design_attempt": design_attempt, "plan_attempt": attempt}


def _break_lookalikes(plans: list[PatientPlan]) -> None:
    """Move a diagnosis date back by a month or two where two patients would look like one.

    R19 flags possible cross-site duplicates (birth year, sex, diagnosis month, construct
    sequence); the clean sample must not have accidental ones, the defects add a real one.
    """
    seen: set[tuple[object, ...]] = set()
    for p in plans:
        while True:
            key = (p.birth_date.year, p.sex, p.diagnosis_date.replace(day=1),
                   tuple(c.construct_id for c in p.courses))
            if key not in seen:
                seen.add(key)
                break
            p.diagnosis_date -= days(40)


__all__ = ["BY_TARGETS", "abstract_plans"]
