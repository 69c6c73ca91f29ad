"""Kept resources -> profile-specific source tables of near-canonical text.

One source table per registry profile (``fhir:patient``, ``fhir:infusion`` ...), one row per
*primary* resource (the Patient, the infusion Procedure, the AdverseEvent ...). Resources that
only complete another row are *merged* into it: the B-ALL Condition and baseline Observations
into the Patient's row, the body weight into its infusion, the lymphodepletion agents into one
row per infusion, the grade Observation into its AdverseEvent, the cause of death into the
death row. A merged resource is accounted for in the ledger as ignored with the reason
``merged into the fhir:<table> row of its <Type>: <its own type>``.

Nothing is guessed: a reference that does not resolve, or resolves to several resources, or
two resources that would fill the same cell (two B-ALL diagnosis Conditions, two grade
Observations for one event) quarantine the resources concerned with a located reason
(``unresolved_reference``, ``ambiguous_reference``, ``conflicting_resources``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import orjson

from cart_registry.fhir import elements as el
from cart_registry.fhir.conventions import AE_OUTCOME, ICD10CM, Conventions, cs
from cart_registry.fhir.fhirtypes import WITHDRAWN_STATUSES
from cart_registry.fhir.records import Located, Problem
from cart_registry.fhir.references import ReferenceIndex
from cart_registry.fhir.selection import Selector, codings
from cart_registry.fhir.structure import check_invariants, check_json_shape, check_role

#: the source tables and their columns, in order
TABLES: dict[str, tuple[str, ...]] = {
    "fhir:patient": (
        "patient_id", "sex", "birth_date", "registry_status", "diagnosis_date",
        "diagnosis_snomed", "diagnosis_icd10cm", "cytogenetic_lesions", "down_syndrome",
        "prior_blinatumomab", "prior_inotuzumab", "prior_hsct_count", "deceased_date",
    ),
    "fhir:infusion": (
        "infusion_id", "patient_id", "status", "infusion_date", "construct_code",
        "construct_text", "infusion_intent", "split_dose", "dose_car_pos_per_kg_e6",
        "dose_per_kg_unit", "dose_total_car_pos_e8", "dose_total_unit", "weight_kg",
        "weight_unit", "bm_blast_pct_pre", "mrd_pre_result", "cns_status_pre", "out_of_spec",
    ),
    "fhir:lymphodepletion": (
        "ld_id", "infusion_id", "patient_id", "regimen", "agents", "start_date",
        "fludarabine_total_mg_m2", "fludarabine_unit", "cyclophosphamide_total_mg_m2",
        "cyclophosphamide_unit",
    ),
    "fhir:hsct": (
        "hsct_id", "patient_id", "hsct_date", "hsct_type", "donor_type",
        "disease_status_at_hsct",
    ),
    "fhir:therapy": (
        "therapy_id", "patient_id", "therapy_class", "intent", "start_date", "end_date",
    ),
    "fhir:assessment": (
        "assessment_id", "patient_id", "assessment_date", "response", "specimen",
        "bm_blast_pct", "mrd_method", "mrd_value", "mrd_result", "cns_status",
        "extramedullary_disease", "count_recovery", "bcell_aplasia",
    ),
    "fhir:antigen": (
        "expr_id", "patient_id", "sample_date", "timepoint", "antigen", "method", "status",
        "pct_positive", "antigen_density",
    ),
    "fhir:relapse": (
        "relapse_id", "patient_id", "relapse_date", "relapse_site", "detection_method",
        "relapse_level", "lineage",
    ),
    "fhir:toxicity": (
        "tox_id", "patient_id", "infusion_id", "tox_type", "onset_date", "resolution_date",
        "fatal", "grade_reported", "grading_scale", "grading_scale_version", "fever",
        "temp_max_c", "anticytokine_or_antipyretic", "hypotension", "fluids_only",
        "vasopressors_max", "vasopressin_only", "o2_support_max", "fio2_max_pct", "ice_min",
        "capd_max", "consciousness_worst", "seizure_worst", "deep_focal_motor_weakness",
        "cerebral_edema", "tocilizumab_doses", "corticosteroids", "icu_admission",
    ),
    "fhir:death": ("patient_id", "death_date", "primary_cause", "cause_detail"),
    "fhir:last_contact": ("patient_id", "last_contact_date", "vital_status",
                          "last_disease_status"),
}
#: role of a primary resource -> its source table
PRIMARY_TABLE = {
    "patient": "fhir:patient", "infusion": "fhir:infusion", "hsct": "fhir:hsct",
    "therapy": "fhir:therapy", "assessment": "fhir:assessment", "antigen": "fhir:antigen",
    "relapse": "fhir:relapse", "toxicity": "fhir:toxicity", "last_contact": "fhir:last_contact",
}
#: role of a merged resource -> (its table, the type of the row's resource)
MERGED_INTO = {
    "diagnosis": ("fhir:patient", "Patient"), "baseline": ("fhir:patient", "Patient"),
    "weight": ("fhir:infusion", "Procedure"), "ld_agent": ("fhir:lymphodepletion", "Procedure"),
    "tox_grade": ("fhir:toxicity", "AdverseEvent"), "death_cause": ("fhir:death", "Patient"),
}
#: singular baseline observations (cytogenetic lesions may repeat)
_BASELINE_SINGLE = ("down-syndrome", "prior-blinatumomab", "prior-inotuzumab", "prior-hsct-count")
_TOX_BOOL = ("fever", "anticytokine_or_antipyretic", "hypotension", "fluids_only",
             "vasopressin_only", "deep_focal_motor_weakness", "corticosteroids", "icu_admission")
_TOX_INT = ("vasopressors_max", "ice_min", "capd_max", "tocilizumab_doses")
_TOX_CODE = {"o2_support_max": "o2-support", "consciousness_worst": "consciousness",
             "seizure_worst": "seizure", "cerebral_edema": "cerebral-edema"}
MAX_FINDINGS_PER_RESOURCE = 20


@dataclass
class Flattened:
    """Source-table rows, their element paths and what happened to every other resource."""

    rows: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {t: [] for t in TABLES})
    paths: dict[str, dict[str, str]] = field(default_factory=lambda: {t: {} for t in TABLES})
    #: problems that keep a resource out (row_quarantined)
    problems: list[Problem] = field(default_factory=list)
    #: resources not passed on, with the ledger reason
    ignored: list[tuple[Located, str]] = field(default_factory=list)

    def quarantined(self) -> set[tuple[str, int]]:
        return {(p.file, p.row) for p in self.problems if p.row is not None}


def _raw_json(resource: Any) -> str:
    """The resource as JSON for the issue; orjson refuses more than 255 nested levels."""
    try:
        return orjson.dumps(resource).decode()
    except TypeError:  # orjson.JSONEncodeError: a resource nested too deeply to keep
        return '{"note": "resource nested too deeply to keep"}'


def _rid(loc: Located) -> str:
    return loc.key.split("/", 1)[1]


class Flattener:
    """Classify, check, resolve and flatten the candidates of one submission."""

    def __init__(self, candidates: list[Located], selector: Selector | None = None, *,
                 strict: bool = False) -> None:
        self.selector = selector or Selector()
        self.conv: Conventions = self.selector.conv
        self.candidates = candidates
        self.strict = strict
        self.out = Flattened()
        self.index = ReferenceIndex()
        self.bad: set[int] = set()  # id() of quarantined resources
        #: id() of a resource -> its Patient (the resolved subject)
        self.patient_of: dict[int, Located] = {}
        #: id() -> reason, for resources passed on to no table (one disposition each)
        self.ignored: dict[int, tuple[Located, str]] = {}
        self.emitted: set[int] = set()

    # -- bookkeeping --------------------------------------------------------------------
    def quarantine(self, loc: Located, path: str | None, code: str, message: str,
                   value: str | None = None) -> None:
        first = id(loc) not in self.bad
        self.bad.add(id(loc))
        self.ignored.pop(id(loc), None)  # quarantine wins over any earlier "ignored"
        raw = _raw_json(loc.resource) if first else None
        self.out.problems.append(Problem(loc.file, loc.row, loc.key, path, code, message,
                                         "error", value, {"raw": raw}))

    def ignore(self, loc: Located, reason: str) -> None:
        if id(loc) not in self.bad and id(loc) not in self.ignored:
            self.ignored[id(loc)] = (loc, reason)

    def emit(self, table: str, loc: Located, cells: dict[str, el.Cell]) -> None:
        row: dict[str, Any] = {c: None for c in TABLES[table]}
        paths = self.out.paths[table]
        for col, (value, path) in cells.items():
            row[col] = value
            paths.setdefault(col, path)
        row["_source_row"] = loc.row
        row["_source_key"] = loc.key
        row["_source_file"] = loc.file
        self.out.rows[table].append(row)
        self.emitted.add(id(loc))

    # -- the steps ----------------------------------------------------------------------
    def run(self) -> Flattened:
        kept: list[Located] = []
        for loc in self.candidates:
            role, reason = self.selector.classify(loc.resource)
            if role is None:
                # a resource that carries registry codes but lacks the element that would
                # say what it is (an Observation without code) is broken, not unrelated
                missing = [f for f in check_role(loc.resource) if f[1] == "missing_required"
                           and f[0].rsplit(".", 1)[-1] in ("code", "event", "category")]
                if missing:
                    for path, code, msg, value in missing:
                        self.quarantine(loc, path, code, msg, value)
                else:
                    self.ignore(loc, reason or f"no registry code: {loc.type}")
                continue
            loc.role = role
            status = loc.resource.get("status")
            if isinstance(status, str) and status in WITHDRAWN_STATUSES:
                self.ignore(loc, f"status {status}: {loc.type}")
                continue
            self.index.add(loc)
            kept.append(loc)
        for loc in kept:
            self.check(loc)
        for loc in kept:
            if id(loc) not in self.bad:
                self.resolve_patient(loc)
        good = [loc for loc in kept if id(loc) not in self.bad]
        self.flatten(good)
        for loc in kept:  # merged resources whose row was never made (its owner was bad)
            if id(loc) not in self.bad and id(loc) not in self.emitted \
                    and id(loc) not in self.ignored:
                owner = MERGED_INTO.get(loc.role or "", ("", "owner"))[1]
                self.ignore(loc, f"its {owner} was quarantined: {loc.type}")
        self.out.ignored = list(self.ignored.values())
        return self.out

    def check(self, loc: Located) -> None:
        res = loc.resource
        findings = check_json_shape(res) + check_role(res) + check_invariants(res)
        if loc.key.endswith("/?"):  # no id, and no urn:uuid fullUrl to stand for one
            findings.insert(0, (f"{loc.type}.id", "missing_required",
                                "the registry keys its rows by resource id", None))
        if self.strict:
            from cart_registry.fhir.strict import strict_check

            have = {(p, c) for p, c, _, _ in findings}
            findings += [f for f in strict_check(res) if (f[0], f[1]) not in have]
        for code in el.repeated_components(res):
            findings.append((f"{loc.type}.component", "conflicting_values",
                             f"component {code!r} occurs more than once", code))
        for path, code, msg, value in findings[:MAX_FINDINGS_PER_RESOURCE]:
            self.quarantine(loc, path, code, msg, value)

    def resolve(self, loc: Located, ref_holder: Any, path: str,
                expected: tuple[str, ...]) -> Located | None:
        """Resolve ``ref_holder['reference']``; quarantine ``loc`` when it fails."""
        ref = ref_holder.get("reference") if isinstance(ref_holder, dict) else None
        if ref is None:
            self.quarantine(loc, path, "unresolved_reference",
                            "the registry needs this reference and it is absent")
            return None
        r = self.index.resolve(ref, loc, expected)
        if not r.ok or r.target is None:
            code = "ambiguous_reference" if r.status == "ambiguous" else "unresolved_reference"
            self.quarantine(loc, path, code, r.message, str(ref))
            return None
        return r.target

    def resolve_patient(self, loc: Located) -> None:
        if loc.role == "patient":
            self.patient_of[id(loc)] = loc
            return
        target = self.resolve(loc, loc.resource.get("subject"), f"{loc.type}.subject.reference",
                              ("Patient",))
        if target is not None:
            self.patient_of[id(loc)] = target

    def pid(self, loc: Located) -> str:
        """The Patient.id of a resource's subject."""
        return _rid(self.patient_of[id(loc)])

    def merged_target(self, loc: Located, element: str, expected: tuple[str, ...],
                      role: str) -> Located | None:
        """The primary a merged resource belongs to (``element[0]`` reference)."""
        items = loc.resource.get(element)
        first = items[0] if isinstance(items, list) and items else None
        target = self.resolve(loc, first, f"{loc.type}.{element}[0].reference", expected)
        if target is None:
            return None
        if target.role != role:
            self.ignore(loc, f"{element} is not a registry {role} {target.type}: {loc.type}")
            return None
        if self.patient_of.get(id(target)) is not self.patient_of.get(id(loc)):
            self.quarantine(loc, f"{loc.type}.subject.reference", "inconsistent_reference",
                            f"the subject differs from the subject of {target.key}")
            return None
        return target

    # -- flattening ---------------------------------------------------------------------
    def flatten(self, good: list[Located]) -> None:
        by_role: dict[str, list[Located]] = defaultdict(list)
        for loc in good:
            by_role[loc.role or ""].append(loc)

        diag = self.group_by_patient(by_role["diagnosis"], "B-ALL diagnosis Condition")
        baseline: dict[int, list[Located]] = defaultdict(list)
        for loc in by_role["baseline"]:
            baseline[id(self.patient_of[id(loc)])].append(loc)
        causes = self.group_by_patient(by_role["death_cause"], "cause-of-death Observation")

        weights = self.group_by_target(by_role["weight"], "partOf", ("Procedure",), "infusion",
                                       "body-weight Observation")
        agents = self.group_all_by_target(by_role["ld_agent"], "partOf", ("Procedure",),
                                          "infusion")
        grades = self.group_by_target(by_role["tox_grade"], "focus", ("AdverseEvent",),
                                      "toxicity", "grade Observation")

        for p in self.duplicate_pseudonyms(by_role["patient"]):
            self.patient_row(p, diag.get(id(p)), self.baseline_for(baseline.get(id(p), [])))
            self.death_row(p, causes.get(id(p)))
        for loc in by_role["infusion"]:
            self.infusion_row(loc, weights.get(id(loc)))
            if id(loc) in agents:
                self.ld_row(loc, agents[id(loc)])
        for loc in by_role["hsct"]:
            self.hsct_row(loc)
        for loc in by_role["therapy"]:
            self.therapy_row(loc)
        for loc in by_role["assessment"]:
            self.assessment_row(loc)
        for loc in by_role["antigen"]:
            self.antigen_row(loc)
        for loc in by_role["relapse"]:
            self.relapse_row(loc)
        for loc in by_role["toxicity"]:
            self.toxicity_row(loc, grades.get(id(loc)))
        for loc in by_role["last_contact"]:
            self.last_contact_row(loc)

    def duplicate_pseudonyms(self, patients: list[Located]) -> list[Located]:
        """Patients to keep: a second Patient carrying the site's pseudonym identifier of an
        earlier one is the same person registered twice, so it is quarantined, not guessed."""
        system = self.conv.pseudonym_system
        if not system:
            return patients
        first: dict[str, Located] = {}
        keep = []
        for p in patients:
            values = [i.get("value") for i in p.resource.get("identifier") or []
                      if isinstance(i, dict) and i.get("system") == system]
            value = next((v for v in values if isinstance(v, str) and v), None)
            if value is not None and value in first:
                self.quarantine(p, "Patient.identifier", "duplicate_key",
                                f"second Patient with pseudonym identifier {value!r} "
                                f"(first: {first[value].key})", value)
                continue
            if value is not None:
                first[value] = p
            keep.append(p)
        return keep

    def group_by_patient(self, items: list[Located], what: str) -> dict[int, Located]:
        groups: dict[int, list[Located]] = defaultdict(list)
        for loc in items:
            groups[id(self.patient_of[id(loc)])].append(loc)
        return self.singles(groups, what, "Patient")

    def group_all_by_target(self, items: list[Located], element: str, expected: tuple[str, ...],
                            role: str) -> dict[int, list[Located]]:
        groups: dict[int, list[Located]] = defaultdict(list)
        for loc in items:
            target = self.merged_target(loc, element, expected, role)
            if target is not None:
                groups[id(target)].append(loc)
        return groups

    def group_by_target(self, items: list[Located], element: str, expected: tuple[str, ...],
                        role: str, what: str) -> dict[int, Located]:
        groups = self.group_all_by_target(items, element, expected, role)
        return self.singles(groups, what, expected[0])

    def singles(self, groups: dict[Any, list[Located]], what: str,
                owner: str) -> dict[Any, Located]:
        out = {}
        for key, group in groups.items():
            if len(group) == 1:
                out[key] = group[0]
                continue
            places = ", ".join(g.key for g in group)
            for g in group:
                self.quarantine(g, None, "conflicting_resources",
                                f"{len(group)} {what}s for one {owner} ({places}); the registry "
                                "takes exactly one and will not choose")
        return out

    def merged(self, loc: Located) -> None:
        table, owner = MERGED_INTO[loc.role or ""]
        self.ignore(loc, f"merged into the {table} row of its {owner}: {loc.type}")

    # -- one builder per table ------------------------------------------------------------
    def baseline_for(self, items: list[Located]) -> dict[str, list[Located]]:
        by_code: dict[str, list[Located]] = defaultdict(list)
        for loc in items:
            by_code[el.code_in(loc.resource.get("code"), cs("registry-observation")) or ""].append(
                loc)
        for code in _BASELINE_SINGLE:
            if len(by_code.get(code, [])) > 1:
                for loc in by_code.pop(code):
                    self.quarantine(loc, "Observation.code", "conflicting_resources",
                                    f"more than one {code!r} Observation for one Patient")
        return by_code

    def patient_row(self, p: Located, cond: Located | None,
                    base: dict[str, list[Located]]) -> None:
        r = p.resource
        cells: dict[str, el.Cell] = {
            "patient_id": (_rid(p), "Patient.id"),
            "sex": (el.text(r.get("gender")), "Patient.gender"),
            "birth_date": (el.text(r.get("birthDate")), "Patient.birthDate"),
            "registry_status": el.ext_value(r, "Patient", "registry-status", "valueCode"),
            "deceased_date": (el.day(r.get("deceasedDateTime")), "Patient.deceasedDateTime"),
        }
        dx = "Condition[code=B-ALL]"
        if cond is not None:
            c = cond.resource
            snomed = next((k for s, k in codings(c.get("code"))
                           if (s, k) in self.conv.diagnosis), None)
            cells["diagnosis_date"] = (el.day(c.get("onsetDateTime")), f"{dx}.onsetDateTime")
            cells["diagnosis_snomed"] = (snomed, f"{dx}.code.coding.code")
            cells["diagnosis_icd10cm"] = (el.code_in(c.get("code"), ICD10CM),
                                          f"{dx}.code.coding[system={ICD10CM}].code")
            self.merged(cond)
        lesions = sorted({code for loc in base.get("cytogenetic-lesion", [])
                          if (code := el.code_in(loc.resource.get("valueCodeableConcept"),
                                                 cs("cytogenetic-lesion"))) is not None})
        cells["cytogenetic_lesions"] = (
            "|".join(lesions) if lesions else None,
            "Observation[code=RO|cytogenetic-lesion].valueCodeableConcept.coding"
            f"[system={cs('cytogenetic-lesion')}].code")
        for col, code, key in (("down_syndrome", "down-syndrome", "valueBoolean"),
                               ("prior_blinatumomab", "prior-blinatumomab", "valueBoolean"),
                               ("prior_inotuzumab", "prior-inotuzumab", "valueBoolean"),
                               ("prior_hsct_count", "prior-hsct-count", "valueInteger")):
            items = base.get(code, [])
            cells[col] = (el.text(items[0].resource.get(key)) if items else None,
                          f"Observation[code=RO|{code}].{key}")
        for items in base.values():
            for loc in items:
                self.merged(loc)
        self.emit("fhir:patient", p, cells)

    def death_row(self, p: Located, cause: Located | None) -> None:
        deceased = el.day(p.resource.get("deceasedDateTime"))
        if deceased is None and cause is None:
            return
        cells: dict[str, el.Cell] = {
            "patient_id": (_rid(p), "Patient.id"),
            "death_date": (deceased, "Patient.deceasedDateTime"),
        }
        row_loc = p
        if cause is not None:
            v = cause.resource.get("valueCodeableConcept")
            cells["primary_cause"] = (el.code_in(v, cs("death-cause")),
                                      f"Observation.valueCodeableConcept.coding"
                                      f"[system={cs('death-cause')}].code")
            cells["cause_detail"] = (el.text(v.get("text")) if isinstance(v, dict) else None,
                                     "Observation.valueCodeableConcept.text")
            row_loc = cause  # the cause Observation carries the row; the Patient is merged
        else:
            cells["primary_cause"] = (None, "Observation[code=LOINC|69453-9]"
                                            ".valueCodeableConcept")
        self.emit("fhir:death", row_loc, cells)

    def infusion_row(self, loc: Located, weight: Located | None) -> None:
        r = loc.resource
        per_kg, per_kg_unit = el.ext_quantity(r, "Procedure", "car-positive-dose-per-kg")
        total, total_unit = el.ext_quantity(r, "Procedure", "car-positive-dose-total")
        product, product_text = el.ext_code_in(r, "Procedure", "car-product",
                                               self.conv.product_systems)
        cells: dict[str, el.Cell] = {
            "infusion_id": (_rid(loc), "Procedure.id"),
            "patient_id": (self.pid(loc), "Procedure.subject.reference"),
            "status": (el.text(r.get("status")), "Procedure.status"),
            "infusion_date": self.performed_start(r),
            "construct_code": product,
            "construct_text": product_text,
            "infusion_intent": el.ext_value(r, "Procedure", "infusion-intent", "valueCode"),
            "split_dose": el.ext_value(r, "Procedure", "split-dose", "valueBoolean"),
            "dose_car_pos_per_kg_e6": per_kg,
            "dose_per_kg_unit": per_kg_unit,
            "dose_total_car_pos_e8": total,
            "dose_total_unit": total_unit,
            "bm_blast_pct_pre": el.ext_value(r, "Procedure", "pre-infusion-bm-blast-pct",
                                             "valueDecimal"),
            "mrd_pre_result": el.ext_value(r, "Procedure", "pre-infusion-mrd", "valueCode"),
            "cns_status_pre": el.ext_value(r, "Procedure", "pre-infusion-cns", "valueCode"),
            "out_of_spec": el.ext_value(r, "Procedure", "out-of-specification",
                                        "valueBoolean"),
        }
        wpath = "Observation[code=LOINC|29463-7, partOf=Procedure].valueQuantity"
        q = weight.resource.get("valueQuantity") if weight is not None else None
        cells["weight_kg"] = (el.text(q.get("value")) if isinstance(q, dict) else None,
                              f"{wpath}.value")
        cells["weight_unit"] = (el.text(q.get("code")) if isinstance(q, dict) else None,
                                f"{wpath}.code")
        if weight is not None:
            self.merged(weight)
        self.emit("fhir:infusion", loc, cells)

    @staticmethod
    def performed_start(r: dict[str, Any]) -> el.Cell:
        if "performedDateTime" in r:
            return el.day(r.get("performedDateTime")), "Procedure.performedDateTime"
        period = r.get("performedPeriod")
        start = period.get("start") if isinstance(period, dict) else None
        return el.day(start), "Procedure.performedPeriod.start"

    def agent_of(self, loc: Located) -> str | None:
        med = loc.resource.get("medicationCodeableConcept")
        found = set(codings(med))
        if found & set(self.conv.fludarabine):
            return "fludarabine"
        if found & set(self.conv.cyclophosphamide):
            return "cyclophosphamide"
        if found:
            return "other"
        return None

    def ld_row(self, infusion: Located, items: list[Located]) -> None:
        agents: dict[str, list[Located]] = defaultdict(list)
        for loc in items:
            agent = self.agent_of(loc)
            if agent is None:
                self.quarantine(loc, "MedicationAdministration.medicationCodeableConcept",
                                "missing_required", "the agent must be coded in "
                                "medicationCodeableConcept (medicationReference is not read)")
                continue
            agents[agent].append(loc)
        dupes = [a for a in ("fludarabine", "cyclophosphamide") if len(agents.get(a, [])) > 1]
        if dupes:
            for group in agents.values():
                for loc in group:
                    self.quarantine(loc, "MedicationAdministration.partOf[0].reference",
                                    "conflicting_resources",
                                    f"more than one {' and '.join(dupes)} administration for "
                                    f"{infusion.key}; each carries the course total")
            return
        usable = [loc for group in agents.values() for loc in group]
        if not usable:
            return
        names = set(agents)
        if "other" in names:
            regimen = "other"
        elif names == {"fludarabine", "cyclophosphamide"}:
            regimen = "flu_cy"
        else:
            regimen = "cy_only" if names == {"cyclophosphamide"} else "flu_only"
        starts = sorted(((s, loc.file, loc.row, loc) for loc in usable
                         if (s := self.ma_start(loc.resource)) is not None),
                        key=lambda t: (t[0], t[1], t[2]))
        carrier = starts[0][3] if starts else min(usable, key=lambda x: (x.file, x.row))
        cells: dict[str, el.Cell] = {
            "ld_id": (_rid(infusion), "MedicationAdministration.partOf[0].reference"),
            "infusion_id": (_rid(infusion), "MedicationAdministration.partOf[0].reference"),
            "patient_id": (self.pid(carrier),
                           "MedicationAdministration.subject.reference"),
            "regimen": (regimen, "MedicationAdministration.medicationCodeableConcept"),
            "agents": ("|".join(sorted(names)),
                       "MedicationAdministration.medicationCodeableConcept"),
            "start_date": (starts[0][0] if starts else None,
                           "MedicationAdministration.effectivePeriod.start"),
        }
        for agent in ("fludarabine", "cyclophosphamide"):
            group = agents.get(agent, [])
            dose = group[0].resource.get("dosage", {}).get("dose") if group else None
            dpath = f"MedicationAdministration[{agent}].dosage.dose"
            cells[f"{agent}_total_mg_m2"] = (
                el.text(dose.get("value")) if isinstance(dose, dict) else None, f"{dpath}.value")
            cells[f"{agent}_unit"] = (el.text(dose.get("code")) if isinstance(dose, dict)
                                      else None, f"{dpath}.code")
        for loc in usable:
            if loc is not carrier:
                self.ignore(loc, "merged into the fhir:lymphodepletion row of its first "
                                 "agent: MedicationAdministration")
        self.emit("fhir:lymphodepletion", carrier, cells)

    @staticmethod
    def ma_start(r: dict[str, Any]) -> str | None:
        if "effectiveDateTime" in r:
            return el.day(r.get("effectiveDateTime"))
        period = r.get("effectivePeriod")
        return el.day(period.get("start")) if isinstance(period, dict) else None

    def hsct_row(self, loc: Located) -> None:
        r = loc.resource
        self.emit("fhir:hsct", loc, {
            "hsct_id": (_rid(loc), "Procedure.id"),
            "patient_id": (self.pid(loc), "Procedure.subject.reference"),
            "hsct_date": self.performed_start(r),
            "hsct_type": el.ext_value(r, "Procedure", "hsct-type", "valueCode"),
            "donor_type": el.ext_value(r, "Procedure", "hsct-donor-type", "valueCode"),
            "disease_status_at_hsct": el.ext_value(r, "Procedure", "disease-status-at-hsct",
                                                   "valueCode"),
        })

    def therapy_row(self, loc: Located) -> None:
        r = loc.resource
        raw_period = r.get("performedPeriod")
        period: dict[str, Any] = raw_period if isinstance(raw_period, dict) else {}
        start = self.performed_start(r)
        self.emit("fhir:therapy", loc, {
            "therapy_id": (_rid(loc), "Procedure.id"),
            "patient_id": (self.pid(loc), "Procedure.subject.reference"),
            "therapy_class": el.concept_code(r, "Procedure", "code", "therapy-class"),
            "intent": el.ext_value(r, "Procedure", "therapy-intent", "valueCode"),
            "start_date": start,
            "end_date": (el.day(period.get("end")), "Procedure.performedPeriod.end"),
        })

    def effective(self, r: dict[str, Any]) -> el.Cell:
        if "effectiveDateTime" in r or "effectivePeriod" not in r:
            return el.day(r.get("effectiveDateTime")), "Observation.effectiveDateTime"
        period = r.get("effectivePeriod")
        return (el.day(period.get("start")) if isinstance(period, dict) else None,
                "Observation.effectivePeriod.start")

    def assessment_row(self, loc: Located) -> None:
        r = loc.resource
        comps = el.components(r)
        o = "Observation"
        self.emit("fhir:assessment", loc, {
            "assessment_id": (_rid(loc), "Observation.id"),
            "patient_id": (self.pid(loc), "Observation.subject.reference"),
            "assessment_date": self.effective(r),
            "response": el.concept_code(r, o, "valueCodeableConcept", "response"),
            "specimen": el.comp_code(comps, o, "specimen", "specimen"),
            "bm_blast_pct": el.comp_value(comps, o, "bm-blast-pct", "valueQuantity"),
            "mrd_method": el.comp_code(comps, o, "mrd-method", "mrd-method"),
            "mrd_value": el.comp_value(comps, o, "mrd-value", "valueQuantity"),
            "mrd_result": el.comp_code(comps, o, "mrd-result", "mrd-result"),
            "cns_status": el.comp_code(comps, o, "cns-status", "cns-status"),
            "extramedullary_disease": el.comp_value(comps, o, "extramedullary-disease",
                                                    "valueBoolean"),
            "count_recovery": el.comp_code(comps, o, "count-recovery", "count-recovery"),
            "bcell_aplasia": el.comp_code(comps, o, "bcell-aplasia", "bcell-aplasia"),
        })

    def antigen_row(self, loc: Located) -> None:
        r = loc.resource
        comps = el.components(r)
        o = "Observation"
        self.emit("fhir:antigen", loc, {
            "expr_id": (_rid(loc), "Observation.id"),
            "patient_id": (self.pid(loc), "Observation.subject.reference"),
            "sample_date": self.effective(r),
            "timepoint": el.ext_value(r, o, "specimen-timepoint", "valueCode"),
            "antigen": el.comp_code(comps, o, "antigen", "antigen"),
            "method": el.concept_code(r, o, "method", "assay-method"),
            "status": el.concept_code(r, o, "valueCodeableConcept", "antigen-expression-status"),
            "pct_positive": el.comp_value(comps, o, "pct-positive", "valueQuantity"),
            "antigen_density": el.comp_value(comps, o, "antigen-density", "valueQuantity"),
        })

    def relapse_row(self, loc: Located) -> None:
        r = loc.resource
        comps = el.components(r)
        o = "Observation"
        self.emit("fhir:relapse", loc, {
            "relapse_id": (_rid(loc), "Observation.id"),
            "patient_id": (self.pid(loc), "Observation.subject.reference"),
            "relapse_date": self.effective(r),
            "relapse_site": el.comp_code(comps, o, "relapse-site", "relapse-site"),
            "detection_method": el.comp_code(comps, o, "detection-method",
                                             "relapse-detection-method"),
            "relapse_level": el.comp_code(comps, o, "relapse-level", "relapse-level"),
            "lineage": el.comp_code(comps, o, "lineage", "lineage"),
        })

    def toxicity_row(self, loc: Located, grade: Located | None) -> None:
        r = loc.resource
        event = r.get("event")
        tox = el.code_in(event, cs("toxicity-type"))
        if tox is None:
            found = set(codings(event))
            if found & set(self.conv.crs_event):
                tox = "crs"
            elif found & set(self.conv.icans_event):
                tox = "icans"
        infusion: el.Cell = (None, "AdverseEvent.suspectEntity[0].instance.reference")
        suspects = r.get("suspectEntity")
        if isinstance(suspects, list) and suspects:
            inst = suspects[0].get("instance") if isinstance(suspects[0], dict) else None
            target = self.resolve(loc, inst, "AdverseEvent.suspectEntity[0].instance.reference",
                                  ("Procedure", "MedicationAdministration"))
            if target is None:
                if grade is not None:
                    self.ignore(grade, "its AdverseEvent was quarantined: Observation")
                return
            infusion = (_rid(target), infusion[1])
        outcome = r.get("outcome")
        oc = el.code_in(outcome, AE_OUTCOME)
        fatal = None if outcome is None else ("true" if oc == "fatal" else "false")
        cells: dict[str, el.Cell] = {
            "tox_id": (_rid(loc), "AdverseEvent.id"),
            "patient_id": (self.pid(loc), "AdverseEvent.subject.reference"),
            "infusion_id": infusion,
            "tox_type": (tox, f"AdverseEvent.event.coding[system={cs('toxicity-type')}].code"),
            "onset_date": (el.day(r.get("date")), "AdverseEvent.date"),
            "resolution_date": el.ext_value(r, "AdverseEvent", "resolution-date", "valueDate"),
            "fatal": (fatal, f"AdverseEvent.outcome.coding[system={AE_OUTCOME}].code"),
        }
        g = grade.resource if grade is not None else {}
        comps = el.components(g)
        o = "Observation[code=RO|toxicity-grade, focus=AdverseEvent]"
        cells["grade_reported"] = (el.text(g.get("valueInteger")), f"{o}.valueInteger")
        cells["grading_scale"] = el.comp_code(comps, o, "grading-scale", "grading-scale")
        cells["grading_scale_version"] = el.comp_value(comps, o, "grading-scale-version",
                                                       "valueString")
        for col in _TOX_BOOL:
            cells[col] = el.comp_value(comps, o, col.replace("_", "-"), "valueBoolean")
        for col in _TOX_INT:
            cells[col] = el.comp_value(comps, o, col.replace("_", "-"), "valueInteger")
        for col in ("temp_max_c", "fio2_max_pct"):
            cells[col] = el.comp_value(comps, o, col.replace("_", "-"), "valueQuantity")
        for col, system in _TOX_CODE.items():
            cells[col] = el.comp_code(comps, o, col.replace("_", "-"), system)
        if grade is not None:
            self.merged(grade)
        self.emit("fhir:toxicity", loc, cells)

    def last_contact_row(self, loc: Located) -> None:
        r = loc.resource
        comps = el.components(r)
        o = "Observation"
        self.emit("fhir:last_contact", loc, {
            "patient_id": (self.pid(loc), "Observation.subject.reference"),
            "last_contact_date": self.effective(r),
            "vital_status": el.comp_code(comps, o, "vital-status", "vital-status"),
            "last_disease_status": el.comp_code(comps, o, "last-disease-status",
                                                "last-disease-status"),
        })
