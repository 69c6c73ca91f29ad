"""Turn a patient plan into canonical rows (business columns only).

The plan fixes the dates that matter for the endpoints; this module adds what a registry
records around them: antigen panels before each course and at relapse, bridging therapy,
lymphodepletion before each infusion, CRS/ICANS episodes, the response marrow and routine
follow-up marrows, and the survival form. It never moves a planned date, and it places
everything it adds inside the gaps the plan leaves, so the clean data satisfy the cross-table
rules of domain.md §8.3 (checked in tests/synth).

Rows carry private annotations (keys starting with ``_``) for the renderers: ``_course``
(0 = before CART-A, 1.. = course number, -1 = follow-up form), ``_inf`` (the infusion a
lymphodepletion or toxicity row belongs to) and ``_order`` (a stable sort key).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from cart_registry.synth.catalog import CONSTRUCT_BY_ID
from cart_registry.synth.grading import crs_components, icans_components
from cart_registry.synth.plan import CoursePlan, PatientPlan
from cart_registry.synth.prng import Stream

Row = dict[str, Any]
Rows = dict[str, list[Row]]

DAY = dt.timedelta(days=1)
ASTCT_PUBLISHED = dt.date(2019, 1, 1)

#: canonical tables a patient can have rows in, in the standard's order
PATIENT_TABLES = (
    "patient", "cart_infusion", "lymphodepletion", "toxicity_event", "disease_assessment",
    "antigen_expression", "relapse", "hsct", "antileukemic_therapy", "death", "follow_up",
)


def days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def _r1(x: float) -> float:
    """One decimal, through a string so the float is the one a CSV reader would parse."""
    return float(f"{x:.1f}")


def weight_for_age(rs: Stream, age: float) -> float:
    if age < 12:
        base = 2.6 * age + 9
    elif age < 18:
        base = 40 + 4.2 * (age - 12)
    else:
        base = 62 + 0.3 * (age - 18)
    return _r1(base * rs.uniform(0.85, 1.15))


def expression_values(rs: Stream, antigen: str, status: str) -> tuple[float | None, float | None]:
    """(pct_positive, antigen_density) consistent with a status."""
    if status == "not_tested":
        return None, None
    if status == "positive":
        pct = rs.randint(850, 999) / 10
        dens = rs.randint(30, 150) * 100 if antigen == "CD19" else rs.randint(10, 60) * 100
    elif status == "dim":
        pct = rs.randint(400, 900) / 10
        dens = rs.randint(2, 15) * 100
    elif status == "partial":
        pct = rs.randint(200, 600) / 10
        dens = rs.randint(10, 40) * 100
    else:
        pct = rs.randint(0, 30) / 10
        dens = None
    return pct, (float(dens) if dens is not None and rs.chance(0.7) else None)


class _Builder:
    def __init__(self, plan: PatientPlan, rs: Stream) -> None:
        self.p = plan
        self.rs = rs
        self.rows: Rows = {t: [] for t in PATIENT_TABLES}
        self.n_inf = 0
        self.order = 0

    def add(self, table: str, row: Row, course: int, **ann: Any) -> Row:
        self.order += 1
        row = {"patient_id": self.p.patient_id, **row, "_course": course, "_order": self.order}
        row.update({f"_{k}": v for k, v in ann.items()})
        self.rows[table].append(row)
        return row

    # ------------------------------------------------------------------ pieces
    def expression(self, date: dt.date, timepoint: str, statuses: dict[str, str],
                   course: int) -> None:
        method = "flow" if self.rs.chance(0.95) else "ihc"
        for antigen in sorted(statuses):
            status = statuses[antigen]
            pct, dens = expression_values(self.rs, antigen, status)
            self.add("antigen_expression", {
                "sample_date": date, "timepoint": timepoint, "antigen": antigen,
                "method": method, "status": status, "pct_positive": pct,
                "antigen_density": dens if method == "flow" else None,
            }, course)

    def assessment(self, date: dt.date, course: int, response: str | None, *,
                   specimen: str = "bone_marrow", blasts: float | None = None,
                   bcell: str | None = None) -> None:
        rs = self.rs
        cr = response in ("cr_mrd_neg", "cr_mrd_pos", "cr_mrd_unknown", "cri")
        if response == "cr_mrd_neg":
            method, value, result = rs.choice(["flow", "flow", "ngs_ig_tcr"]), 0.0, "negative"
            if rs.chance(0.3):
                value = rs.randint(1, 9) * 1e-6
        elif response == "cr_mrd_pos":
            method, value, result = "flow", rs.randint(11, 900) * 1e-5, "positive"
        elif response == "cr_mrd_unknown":
            method, value, result = "none", None, "not_done"
        elif response is None and specimen != "bone_marrow":
            method, value, result = None, None, None
        else:
            method, value, result = "flow", rs.randint(100, 9000) * 1e-4, "positive"
        if blasts is None:
            blasts = rs.randint(0, 40) / 10 if cr else rs.randint(60, 900) / 10
        self.add("disease_assessment", {
            "assessment_date": date, "specimen": specimen,
            "bm_blast_pct": blasts if specimen == "bone_marrow" else None,
            "mrd_method": method, "mrd_value": value, "mrd_result": result,
            "cns_status": "cns1" if cr or response is None else rs.choice(["cns1", "cns1", "cns2"]),
            "extramedullary_disease": False if cr else rs.chance(0.1),
            "count_recovery": ("incomplete" if response == "cri" else "full") if cr else (
                None if response is None else rs.choice(["incomplete", "unknown"])),
            "bcell_aplasia": bcell if bcell is not None else (
                "present" if cr else rs.choice(["present", "absent", "unknown"])),
            "response": response,
        }, course)

    def therapy(self, start: dt.date, end: dt.date | None, cls: str, intent: str,
                course: int) -> None:
        self.add("antileukemic_therapy", {
            "therapy_class": cls, "intent": intent, "start_date": start, "end_date": end,
        }, course)

    def infusion(self, date: dt.date, course: CoursePlan, k: int, intent: str,
                 ld_regimen: str | None, *, blasts: float, mrd: str, weight: float) -> int:
        rs = self.rs
        self.n_inf += 1
        inf = self.n_inf
        commercial = CONSTRUCT_BY_ID[course.construct_id].product_type == "commercial"
        per_kg = rs.randint(10, 500) / 100 if commercial else rs.choice(
            [0.3, 0.5, 1.0, 1.0, 2.0, 3.0]) * rs.choice([1.0, 1.0, 1.0, 0.9, 1.1])
        per_kg = float(f"{per_kg:.2f}")
        self.add("cart_infusion", {
            "construct_id": course.construct_id, "infusion_date": date,
            "infusion_intent": intent, "split_dose": rs.chance(0.1),
            "dose_car_pos_per_kg_e6": per_kg,
            "dose_total_car_pos_e8": float(f"{per_kg * weight / 100:.3f}"),
            "weight_kg": weight, "bm_blast_pct_pre": blasts, "mrd_pre_result": mrd,
            "cns_status_pre": "cns1" if rs.chance(0.9) else rs.choice(["cns2", "unknown"]),
            "out_of_spec": rs.chance(0.15) if commercial else None,
        }, k, inf=inf)
        if ld_regimen is not None:
            flu = {"flu_cy": 120.0, "flu_only": 120.0}.get(ld_regimen)
            cy = {"flu_cy": rs.choice([1000.0, 900.0, 1500.0]), "cy_only": 1500.0}.get(ld_regimen)
            if ld_regimen == "other":
                flu, cy = None, None
            self.add("lymphodepletion", {
                "infusion_id": None, "regimen": ld_regimen,
                "start_date": date - days(rs.randint(4, 7)),
                "fludarabine_total_mg_m2": flu, "cyclophosphamide_total_mg_m2": cy,
            }, k, inf=inf)
        return inf

    def toxicities(self, date: dt.date, k: int, inf: int, limit: dt.date, *, reinfusion: bool,
                   scale: str) -> None:
        rs = self.rs
        age = self.p.age_years(date)
        if rs.chance(0.4 if reinfusion else 0.78):
            grade = 1 if reinfusion else rs.weighted([1, 2, 3, 4], [45, 30, 17, 8])
            onset = date + days(rs.randint(1, 6))
            self._tox("crs", grade, onset, limit, k, inf, scale,
                      crs_components(rs, grade, scale=scale))
        if not reinfusion and rs.chance(0.32):
            grade = rs.weighted([1, 2, 3, 4], [35, 35, 20, 10])
            onset = date + days(rs.randint(3, 9))
            self._tox("icans", grade, onset, limit, k, inf, "astct_2019",
                      icans_components(rs, grade, self.p.age_years(onset)))
        del age

    def _tox(self, kind: str, grade: int, onset: dt.date, limit: dt.date, k: int, inf: int,
             scale: str, comps: dict[str, Any]) -> None:
        rs = self.rs
        if onset > limit:
            return
        res: dt.date | None = onset + days(rs.randint(1, 9))
        assert res is not None
        if res > limit:
            res = None
        row: Row = {
            "infusion_id": None, "tox_type": kind, "onset_date": onset,
            "resolution_date": res, "grade_reported": grade, "grading_scale": scale,
            "grading_scale_version": {"astct_2019": "ASTCT 2019", "lee_2014": "Lee 2014"}[scale],
        }
        for col in (
            "fever", "temp_max_c", "anticytokine_or_antipyretic", "hypotension", "fluids_only",
            "vasopressors_max", "vasopressin_only", "o2_support_max", "fio2_max_pct", "ice_min",
            "capd_max", "consciousness_worst", "seizure_worst", "deep_focal_motor_weakness",
            "cerebral_edema",
        ):
            row[col] = comps.get(col)
        if kind == "crs":
            row["tocilizumab_doses"] = (
                0 if grade == 1 and not comps["anticytokine_or_antipyretic"]
                else rs.randint(1, 2) if grade <= 2 else rs.randint(2, 4)
            )
            row["corticosteroids"] = grade >= 3 or (grade == 2 and rs.chance(0.2))
        else:
            row["tocilizumab_doses"] = 0
            row["corticosteroids"] = grade >= 2
        row["icu_admission"] = grade >= 3
        row["fatal"] = False
        self.add("toxicity_event", row, k, inf=inf)

    # ------------------------------------------------------------------ whole patient
    def build(self) -> Rows:
        p, rs = self.p, self.rs
        end = p.death_date or p.last_contact
        self.add("patient", {
            "sex": p.sex, "birth_date": p.birth_date, "diagnosis_date": p.diagnosis_date,
            "diagnosis_snomed": "277571004", "diagnosis_icd10cm": p.icd10,
            "cytogenetic_lesions": p.cytogenetics, "down_syndrome": p.down_syndrome,
            "prior_blinatumomab": p.prior_blinatumomab, "prior_inotuzumab": p.prior_inotuzumab,
            "prior_hsct_count": len(p.prior_hsct), "registry_status": p.registry_status,
        }, 0)
        if rs.chance(0.4):
            self.expression(p.diagnosis_date, "diagnosis",
                            {"CD19": "positive", "CD22": "positive"}, 0)
        for d in p.prior_hsct:
            self.add("hsct", {
                "hsct_date": d, "hsct_type": "allogeneic",
                "donor_type": rs.choice(["msd", "mud", "mud", "haplo", "cord"]),
                "disease_status_at_hsct": rs.choice(["cr_mrd_neg", "cr_mrd_neg", "cr_mrd_pos"]),
            }, 0)
        weight = p.weight_kg
        for idx, c in enumerate(p.courses):
            k = idx + 1
            nxt = p.courses[idx + 1] if idx + 1 < len(p.courses) else None
            # the course owns the days up to the next course's preparation (pre-infusion
            # panel, bridging), or up to the end of follow-up
            stop = (nxt.start - days(35)) if nxt is not None else end
            weight = _r1(weight * rs.uniform(0.97, 1.06)) if idx else weight
            prev = p.courses[idx - 1] if idx else None
            after_relapse = prev is not None and prev.relapse is not None
            blasts_pre = (
                rs.randint(0, 40) / 10 if prev is not None and prev.bcell_recovery
                else rs.randint(50, 900) / 10 if (prev is None or after_relapse or not prev.cr)
                else 0.0
            )
            pre_date = c.start - days(rs.randint(8, 20))
            self.expression(pre_date, "pre_infusion", c.pre_expression, k)
            if c.bridging:
                cls = "tki" if p.cytogenetics and "BCR_ABL1" in p.cytogenetics else rs.weighted(
                    ["chemotherapy", "inotuzumab", "intrathecal_only", "radiotherapy"],
                    [60, 15, 20, 5])
                self.therapy(c.start - days(rs.randint(26, 33)), c.start - days(rs.randint(8, 10)),
                             cls, "bridging", k)
            scale = "astct_2019"
            if c.start < ASTCT_PUBLISHED:
                scale = p.crs_scale_before_2019
            limit_next = (nxt.start - DAY) if nxt is not None else end
            inf = self.infusion(c.start, c, k, "initial", "flu_cy" if rs.chance(0.92) else
                                rs.choice(["cy_only", "flu_only", "other"]),
                                blasts=blasts_pre, mrd="positive" if blasts_pre > 0 or
                                rs.chance(0.5) else "negative", weight=weight)
            first_reinf = min((r.date for r in c.reinfusions), default=limit_next)
            self.toxicities(c.start, k, inf, min(first_reinf - DAY, limit_next),
                            reinfusion=False, scale=scale)
            if rs.chance(0.2) and c.response_day > 16:
                self.assessment(c.start + days(rs.randint(7, 14)), k, None,
                                specimen="peripheral_blood", blasts=None)
            resp_date = c.start + days(c.response_day)
            self.assessment(resp_date, k, c.response)
            if not c.cr and c.response_day + 12 <= 42 and resp_date + days(12) < stop:
                self.assessment(resp_date + days(rs.randint(8, 12)), k, c.response)
            for r in c.reinfusions:
                rinf = self.infusion(r.date, c, k, r.intent, r.ld_regimen, blasts=0.0,
                                     mrd="negative", weight=weight)
                self.toxicities(r.date, k, rinf, limit_next, reinfusion=True, scale=scale)
            # routine marrows while in remission
            if c.cr:
                cr_stop = min(
                    [x for x in (c.relapse.date if c.relapse else None, c.bcell_recovery, stop)
                     if x is not None]
                )
                # routine marrows at about 3, 6 and 12 months, then yearly
                for month in (3, 6, 12, 24, 36, 48, 60):
                    d = resp_date + days(int(month * 30.4) + rs.randint(-7, 7))
                    if d >= cr_stop - days(10):
                        break
                    self.assessment(d, k, "cr_mrd_neg")
                if c.bcell_recovery is not None:
                    self.assessment(c.bcell_recovery, k, "cr_mrd_neg", bcell="absent")
                alive_in_cr = (
                    nxt is None and c.relapse is None and p.death_date is None
                    and p.last_disease_status == "cr"
                )
                if alive_in_cr and p.last_contact > resp_date:
                    # the last examination is the last contact, so RFS censoring is the same
                    # date whichever of the two a reader takes
                    self.assessment(p.last_contact, k, "cr_mrd_neg")
            if c.hsct is not None:
                self.add("hsct", {
                    "hsct_date": c.hsct, "hsct_type": "allogeneic",
                    "donor_type": rs.choice(["msd", "mud", "mmud", "haplo", "cord"]),
                    "disease_status_at_hsct": "cr_mrd_neg" if rs.chance(0.8) else "cr_mrd_pos",
                }, k)
            rel = c.relapse
            if rel is not None:
                self.add("relapse", {
                    "relapse_date": rel.date, "relapse_site": rel.relapse_site,
                    "detection_method": rel.detection_method, "relapse_level": rel.relapse_level,
                    "lineage": rel.lineage,
                }, k)
                if rel.relapse_site in ("cns", "other_extramedullary"):
                    self.assessment(rel.date, k, "pd", specimen="csf" if rel.relapse_site == "cns"
                                    else "extramedullary")
                elif rel.relapse_level == "mrd_only":
                    self.assessment(rel.date, k, "cr_mrd_pos", blasts=rs.randint(0, 40) / 10)
                else:
                    self.assessment(rel.date, k, "pd")
                if rel.expression is not None:
                    self.expression(rel.date, "relapse", rel.expression, k)
            if c.salvage is not None:
                base = rel.date if rel is not None else c.start + days(43)
                s0 = base + days(rs.randint(4, 10))
                s1 = s0 + days(rs.randint(14, 35))
                hard = min(stop, end)
                if s1 < hard:
                    self.therapy(s0, s1, c.salvage, "relapse_treatment", k)
                elif s0 < hard:
                    self.therapy(s0, None, c.salvage, "relapse_treatment", k)
        if p.death_date is not None:
            assert p.death_cause is not None
            self.add("death", {
                "death_date": p.death_date, "primary_cause": p.death_cause,
                "cause_detail": p.death_detail,
            }, -1)
        self.add("follow_up", {
            "last_contact_date": p.last_contact,
            "vital_status": "dead" if p.death_date else "alive",
            "last_disease_status": p.last_disease_status,
        }, -1)
        self._link()
        return self.rows

    def _link(self) -> None:
        """Fill row ids (patient-scoped, numbered by date) and infusion links."""
        prefix = {
            "cart_infusion": ("infusion_id", "inf"), "lymphodepletion": ("ld_id", "ld"),
            "toxicity_event": ("tox_id", "tox"), "disease_assessment": ("assessment_id", "da"),
            "antigen_expression": ("expr_id", "ag"), "relapse": ("relapse_id", "rel"),
            "hsct": ("hsct_id", "hsct"), "antileukemic_therapy": ("therapy_id", "th"),
        }
        date_col = {
            "cart_infusion": "infusion_date", "lymphodepletion": "start_date",
            "toxicity_event": "onset_date", "disease_assessment": "assessment_date",
            "antigen_expression": "sample_date", "relapse": "relapse_date", "hsct": "hsct_date",
            "antileukemic_therapy": "start_date",
        }
        inf_ids: dict[int, str] = {}
        for table, (col, pre) in prefix.items():
            rows = self.rows[table]
            rows.sort(key=lambda r, c=date_col[table]: (r[c], r["_order"]))  # type: ignore[misc]
            for n, r in enumerate(rows, 1):
                r[col] = f"{self.p.patient_id}-{pre}{n:02d}"
                if table == "cart_infusion":
                    inf_ids[r["_inf"]] = r[col]
        for table in ("lymphodepletion", "toxicity_event"):
            for r in self.rows[table]:
                r["infusion_id"] = inf_ids[r["_inf"]]


def build_rows(plan: PatientPlan, rs: Stream) -> Rows:
    return _Builder(plan, rs).build()
