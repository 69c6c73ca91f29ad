"""The FHIR site: R4 resources as docs/fhir-profile.md describes them, in two forms.

``bundles/<Patient.id>.json`` (one collection Bundle per patient, ``urn:uuid:`` references)
and ``bulk/<ResourceType>.ndjson`` + ``bulk/manifest.json`` (a Bulk Data style export with
relative ``Type/id`` references). Both forms hold the same resources with the same ids.
``patient_resources`` is shared with the scale preset, which streams the bulk form only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from cart_registry.synth.catalog import (
    CONSTRUCT_BY_ID,
    LOCAL_PRODUCT_CODES,
    LOCAL_PRODUCT_LABELS,
    SITE_FHIR,
)
from cart_registry.synth.files import ID_COL, Index, JsonFile, Located, NdjsonFile, SiteExport
from cart_registry.synth.prng import Stream
from cart_registry.synth.truth import Truth

NS = "https://cart-registry.org/fhir"
CS = f"{NS}/CodeSystem/"
EXT = f"{NS}/StructureDefinition/"
PRODUCT_SYSTEM = "https://fhir.site-fhir.example.org/CodeSystem/cell-therapy-product"
PSEUDONYM_SYSTEM = "https://fhir.site-fhir.example.org/sid/registry-pseudonym"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
HGNC = "http://www.genenames.org"
CPT = "http://www.ama-assn.org/go/cpt"
UCUM = "http://unitsofmeasure.org"
AE_OUTCOME = "http://terminology.hl7.org/CodeSystem/adverse-event-outcome"
OBS_CAT = "http://terminology.hl7.org/CodeSystem/observation-category"
EXPORT_TIME = "2023-07-14T13:30:00Z"
BASE_URL = "https://fhir.site-fhir.example.org"

RESOURCE_ORDER = (
    "Patient", "Condition", "Procedure", "BiologicallyDerivedProduct", "MedicationAdministration",
    "AdverseEvent", "Observation",
)
HGNC_IDS = {"CD19": "HGNC:1633", "CD22": "HGNC:1643"}
TOX_SNOMED = {"crs": ("1163256004", "Cytokine release syndrome"),
              "icans": ("1260220006", "Immune effector cell-associated neurotoxicity syndrome")}


class Refs:
    """How references are written: ``urn:uuid:`` inside Bundles, ``Type/id`` in bulk."""

    def __init__(self, bundle: bool) -> None:
        self.bundle = bundle

    def __call__(self, rtype: str, rid: str) -> dict[str, str]:
        return {"reference": f"urn:uuid:{rid}" if self.bundle else f"{rtype}/{rid}"}


def coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def cc(system: str, code: str, display: str | None = None, text: str | None = None
       ) -> dict[str, Any]:
    out: dict[str, Any] = {"coding": [coding(system, code, display)]}
    if text:
        out["text"] = text
    return out


RO_SYSTEM = CS + "registry-observation"


def ro(code: str) -> dict[str, Any]:
    return cc(RO_SYSTEM, code)


def qty(value: float | int, unit: str, code: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


def ext(name: str, **value: Any) -> dict[str, Any]:
    return {"url": EXT + name, **value}


def when(rs: Stream, d: dt.date) -> str:
    """A local dateTime with an offset (the date is the first 10 characters)."""
    offset = "-04:00" if 3 < d.month < 11 else "-05:00"
    return f"{d.isoformat()}T{rs.randint(7, 18):02d}:{rs.choice(['00', '15', '30', '45'])}:00{offset}"


def _comp(code: str, **value: Any) -> dict[str, Any]:
    return {"code": ro(code), **value}


def _bool_comp(code: str, v: bool | None) -> list[dict[str, Any]]:
    return [] if v is None else [_comp(code, valueBoolean=v)]


def _cc_comp(code: str, system: str, v: str | None) -> list[dict[str, Any]]:
    return [] if v is None else [_comp(code, valueCodeableConcept=cc(CS + system, v))]


def _int_comp(code: str, v: int | None) -> list[dict[str, Any]]:
    return [] if v is None else [_comp(code, valueInteger=v)]


def _qty_comp(code: str, v: float | None, unit: str, ucum: str) -> list[dict[str, Any]]:
    # components carry the UCUM code only (the human unit text adds bulk, not meaning)
    del unit
    return [] if v is None else [_comp(code, valueQuantity={
        "value": v, "system": UCUM, "code": ucum})]


class Ids:
    """Stable resource ids: a UUID per (patient, table, row id, role)."""

    def __init__(self, seed: int, patient_id: str) -> None:
        self.seed = seed
        self.pid = patient_id

    def __call__(self, *names: object) -> str:
        return Stream(self.seed, "fhir-id", self.pid, *names).uuid()


def patient_resources(
    seed: int, local_id: str, rows: dict[str, list[dict[str, Any]]], *, bundle: bool,
    n_unrelated: int = 2,
) -> list[dict[str, Any]]:
    """Every resource of one patient, in Bundle entry order (Patient first)."""
    pat = rows["patient"][0]
    pid = pat["patient_id"]
    ids = Ids(seed, pid)
    ref = Refs(bundle)
    rs = Stream(seed, "fhir-times", pid)
    subject = ref("Patient", local_id)
    out: list[dict[str, Any]] = []
    death = rows["death"][0] if rows.get("death") else None

    patient: dict[str, Any] = {
        "resourceType": "Patient", "id": local_id,
        "meta": {"profile": ["http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-cancer-patient"]},
        "extension": [ext("registry-status", valueCode=pat["registry_status"])],
        "identifier": [{"system": PSEUDONYM_SYSTEM, "value": local_id}],
        "gender": pat["sex"],
    }
    if pat["birth_date"] is not None:
        patient["birthDate"] = pat["birth_date"].isoformat()
    if death is not None:
        patient["deceasedDateTime"] = death["death_date"].isoformat()
    out.append(patient)

    cond: dict[str, Any] = {
        "resourceType": "Condition", "id": ids("condition"),
        "meta": {"profile": [
            "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-primary-cancer-condition"]},
        "clinicalStatus": cc("http://terminology.hl7.org/CodeSystem/condition-clinical",
                             "active"),
        "category": [cc("http://terminology.hl7.org/CodeSystem/condition-category",
                        "problem-list-item")],
        "code": {"coding": [coding(SNOMED, "277571004", "B-cell acute lymphoblastic leukemia")]},
        "subject": subject,
    }
    if pat["diagnosis_icd10cm"]:
        cond["code"]["coding"].append(coding(ICD10CM, pat["diagnosis_icd10cm"]))
    if pat["diagnosis_date"] is not None:
        cond["onsetDateTime"] = pat["diagnosis_date"].isoformat()
    out.append(cond)

    base_cat = [cc(CS + "registry-observation-category", "baseline")]
    base_date = pat["diagnosis_date"].isoformat() if pat["diagnosis_date"] else None

    def baseline(code: str, key: str, **value: Any) -> dict[str, Any]:
        obs: dict[str, Any] = {
            "resourceType": "Observation", "id": ids("baseline", key), "status": "final",
            "category": base_cat, "code": ro(code), "subject": subject,
        }
        if base_date:
            obs["effectiveDateTime"] = base_date
        obs.update(value)
        return obs

    for lesion in pat["cytogenetic_lesions"] or []:
        out.append(baseline("cytogenetic-lesion", lesion,
                            valueCodeableConcept=cc(CS + "cytogenetic-lesion", lesion)))
    for code, col in (("down-syndrome", "down_syndrome"),
                      ("prior-blinatumomab", "prior_blinatumomab"),
                      ("prior-inotuzumab", "prior_inotuzumab")):
        if pat[col] is not None:
            out.append(baseline(code, code, valueBoolean=pat[col]))
    if pat["prior_hsct_count"] is not None:
        out.append(baseline("prior-hsct-count", "prior-hsct-count",
                            valueInteger=pat["prior_hsct_count"]))

    # ---- infusions, products, weights, lymphodepletion
    proc_id: dict[str, str] = {}
    lds = {r["infusion_id"]: r for r in rows.get("lymphodepletion", [])}
    for r in rows.get("cart_infusion", []):
        iid = ids("infusion", r["infusion_id"])
        proc_id[r["infusion_id"]] = iid
        cid = r["construct_id"]
        local_code = LOCAL_PRODUCT_CODES[SITE_FHIR][cid]
        commercial = CONSTRUCT_BY_ID[cid].product_type == "commercial"
        product = cc(PRODUCT_SYSTEM, local_code, LOCAL_PRODUCT_LABELS[cid],
                     text=LOCAL_PRODUCT_LABELS[cid] if commercial else None)
        bdp_id = ids("bdp", r["infusion_id"])
        out.append({
            "resourceType": "BiologicallyDerivedProduct", "id": bdp_id,
            "productCategory": "cells", "productCode": product, "status": "available",
            "collection": {"source": subject},
        })
        exts = [
            ext("car-product", valueCodeableConcept=product),
            ext("used-product", valueReference=ref("BiologicallyDerivedProduct", bdp_id)),
            ext("infusion-intent", valueCode=r["infusion_intent"]),
        ]
        if r["split_dose"] is not None:
            exts.append(ext("split-dose", valueBoolean=r["split_dose"]))
        if r["dose_car_pos_per_kg_e6"] is not None:
            exts.append(ext("car-positive-dose-per-kg", valueQuantity=qty(
                r["dose_car_pos_per_kg_e6"], "10^6 CAR+ cells/kg", "10*6/kg")))
        if r["dose_total_car_pos_e8"] is not None:
            exts.append(ext("car-positive-dose-total", valueQuantity=qty(
                r["dose_total_car_pos_e8"], "10^8 CAR+ cells", "10*8")))
        if r["bm_blast_pct_pre"] is not None:
            exts.append(ext("pre-infusion-bm-blast-pct", valueDecimal=r["bm_blast_pct_pre"]))
        if r["mrd_pre_result"] is not None:
            exts.append(ext("pre-infusion-mrd", valueCode=r["mrd_pre_result"]))
        if r["cns_status_pre"] is not None:
            exts.append(ext("pre-infusion-cns", valueCode=r["cns_status_pre"]))
        if r["out_of_spec"] is not None:
            exts.append(ext("out-of-specification", valueBoolean=r["out_of_spec"]))
        out.append({
            "resourceType": "Procedure", "id": iid, "extension": exts, "status": "completed",
            "category": cc(CS + "registry-procedure", "car-t-infusion"),
            "code": {"coding": [coding(CPT, "0540T")], "text": "CAR T-cell infusion"},
            "subject": subject, "performedDateTime": when(rs, r["infusion_date"]),
        })
        if r["weight_kg"] is not None:
            out.append({
                "resourceType": "Observation", "id": ids("weight", r["infusion_id"]),
                "status": "final", "partOf": [ref("Procedure", iid)],
                "category": [cc(OBS_CAT, "vital-signs")],
                "code": cc(LOINC, "29463-7", "Body weight"), "subject": subject,
                "effectiveDateTime": r["infusion_date"].isoformat(),
                "valueQuantity": qty(r["weight_kg"], "kg", "kg"),
            })
        ld = lds.get(r["infusion_id"])
        if ld is not None:
            agents: list[tuple[str, dict[str, Any], float | None]] = []
            if ld["regimen"] in ("flu_cy", "flu_only"):
                agents.append(("flu", cc(RXNORM, "24698", "fludarabine"),
                               ld["fludarabine_total_mg_m2"]))
            if ld["regimen"] in ("flu_cy", "cy_only"):
                agents.append(("cy", cc(RXNORM, "3002", "cyclophosphamide"),
                               ld["cyclophosphamide_total_mg_m2"]))
            if ld["regimen"] == "other":
                agents.append(("other", cc(CS + "lymphodepletion-agent", "other",
                                           text="bendamustine"), None))
            start = ld["start_date"]
            for key, med, dose in agents:
                ma: dict[str, Any] = {
                    "resourceType": "MedicationAdministration",
                    "id": ids("ld", r["infusion_id"], key), "status": "completed",
                    "category": cc(CS + "registry-medication-category", "lymphodepletion"),
                    "medicationCodeableConcept": med, "subject": subject,
                    "partOf": [ref("Procedure", iid)],
                }
                if start is not None:
                    ma["effectivePeriod"] = {
                        "start": start.isoformat(),
                        "end": (r["infusion_date"] - dt.timedelta(days=2)).isoformat()}
                if dose is not None:
                    ma["dosage"] = {"text": "total over the course",
                                    "dose": qty(dose, "mg/m2", "mg/m2")}
                out.append(ma)

    # ---- toxicities: AdverseEvent + grade Observation
    for r in rows.get("toxicity_event", []):
        aid = ids("tox", r["tox_id"])
        event = cc(CS + "toxicity-type", r["tox_type"])
        if r["tox_type"] in TOX_SNOMED:
            event["coding"].append(coding(SNOMED, *TOX_SNOMED[r["tox_type"]]))
        grade = r["grade_reported"]
        ae: dict[str, Any] = {
            "resourceType": "AdverseEvent", "id": aid, "actuality": "actual",
            "event": event, "subject": subject, "date": when(rs, r["onset_date"]),
        }
        if r["resolution_date"] is not None:
            ae["extension"] = [ext("resolution-date", valueDate=r["resolution_date"].isoformat())]
        if grade is not None:
            ae["severity"] = cc("http://terminology.hl7.org/CodeSystem/adverse-event-severity",
                                "mild" if grade <= 1 else "moderate" if grade == 2 else "severe")
        if r["fatal"] is not None:
            ae["outcome"] = cc(AE_OUTCOME, "fatal" if r["fatal"] else (
                "resolved" if r["resolution_date"] is not None else "ongoing"))
        ae["suspectEntity"] = [{"instance": ref("Procedure", proc_id[r["infusion_id"]])}]
        out.append(ae)
        comps: list[dict[str, Any]] = []
        comps += _cc_comp("grading-scale", "grading-scale", r["grading_scale"])
        if r["grading_scale_version"] is not None:
            comps.append(_comp("grading-scale-version", valueString=r["grading_scale_version"]))
        comps += _bool_comp("fever", r["fever"])
        comps += _qty_comp("temp-max-c", r["temp_max_c"], "Cel", "Cel")
        comps += _bool_comp("anticytokine-or-antipyretic", r["anticytokine_or_antipyretic"])
        comps += _bool_comp("hypotension", r["hypotension"])
        comps += _bool_comp("fluids-only", r["fluids_only"])
        comps += _int_comp("vasopressors-max", r["vasopressors_max"])
        comps += _bool_comp("vasopressin-only", r["vasopressin_only"])
        comps += _cc_comp("o2-support-max", "o2-support", r["o2_support_max"])
        comps += _qty_comp("fio2-max-pct", r["fio2_max_pct"], "%", "%")
        comps += _int_comp("ice-min", r["ice_min"])
        comps += _int_comp("capd-max", r["capd_max"])
        comps += _cc_comp("consciousness-worst", "consciousness", r["consciousness_worst"])
        comps += _cc_comp("seizure-worst", "seizure", r["seizure_worst"])
        comps += _bool_comp("deep-focal-motor-weakness", r["deep_focal_motor_weakness"])
        comps += _cc_comp("cerebral-edema", "cerebral-edema", r["cerebral_edema"])
        comps += _int_comp("tocilizumab-doses", r["tocilizumab_doses"])
        comps += _bool_comp("corticosteroids", r["corticosteroids"])
        comps += _bool_comp("icu-admission", r["icu_admission"])
        gobs: dict[str, Any] = {
            "resourceType": "Observation", "id": ids("tox-grade", r["tox_id"]),
            "status": "final", "code": ro("toxicity-grade"), "subject": subject,
            "focus": [ref("AdverseEvent", aid)],
            "effectiveDateTime": r["onset_date"].isoformat(),
        }
        if grade is not None:
            gobs["valueInteger"] = grade
        gobs["component"] = comps
        out.append(gobs)

    # ---- disease assessments
    for r in rows.get("disease_assessment", []):
        comps = _cc_comp("specimen", "specimen", r["specimen"])
        comps += _qty_comp("bm-blast-pct", r["bm_blast_pct"], "%", "%")
        comps += _cc_comp("mrd-method", "mrd-method", r["mrd_method"])
        comps += _qty_comp("mrd-value", r["mrd_value"], "fraction of nucleated cells", "1")
        comps += _cc_comp("mrd-result", "mrd-result", r["mrd_result"])
        comps += _cc_comp("cns-status", "cns-status", r["cns_status"])
        comps += _bool_comp("extramedullary-disease", r["extramedullary_disease"])
        comps += _cc_comp("count-recovery", "count-recovery", r["count_recovery"])
        comps += _cc_comp("bcell-aplasia", "bcell-aplasia", r["bcell_aplasia"])
        obs: dict[str, Any] = {
            "resourceType": "Observation", "id": ids("da", r["assessment_id"]),
            "status": "final", "code": ro("disease-assessment"), "subject": subject,
            "effectiveDateTime": when(rs, r["assessment_date"]),
        }
        if r["response"] is not None:
            obs["valueCodeableConcept"] = cc(CS + "response", r["response"])
        else:
            obs["dataAbsentReason"] = cc(
                "http://terminology.hl7.org/CodeSystem/data-absent-reason", "not-applicable")
        obs["component"] = comps
        out.append(obs)

    # ---- antigen expression
    for r in rows.get("antigen_expression", []):
        antigen = cc(CS + "antigen", r["antigen"])
        if r["antigen"] in HGNC_IDS:
            antigen["coding"].append(coding(HGNC, HGNC_IDS[r["antigen"]]))
        comps = [_comp("antigen", valueCodeableConcept=antigen)]
        comps += _qty_comp("pct-positive", r["pct_positive"], "%", "%")
        comps += _qty_comp("antigen-density", r["antigen_density"], "molecules/cell",
                           "{molecules}/{cell}")
        obs = {
            "resourceType": "Observation", "id": ids("ag", r["expr_id"]),
            "extension": [ext("specimen-timepoint", valueCode=r["timepoint"])],
            "status": "final", "code": cc(LOINC, "101119-6"),
            "subject": subject, "effectiveDateTime": r["sample_date"].isoformat(),
            "valueCodeableConcept": cc(CS + "antigen-expression-status", r["status"]),
        }
        if r["method"] is not None:
            obs["method"] = cc(CS + "assay-method", r["method"])
        obs["component"] = comps
        out.append(obs)

    # ---- relapses
    for r in rows.get("relapse", []):
        comps = _cc_comp("relapse-site", "relapse-site", r["relapse_site"])
        comps += _cc_comp("detection-method", "relapse-detection-method", r["detection_method"])
        comps += _cc_comp("relapse-level", "relapse-level", r["relapse_level"])
        comps += _cc_comp("lineage", "lineage", r["lineage"])
        out.append({
            "resourceType": "Observation", "id": ids("rel", r["relapse_id"]),
            "status": "final", "code": cc(LOINC, "97509-4"),
            "subject": subject, "effectiveDateTime": when(rs, r["relapse_date"]),
            "valueCodeableConcept": cc(SNOMED, "271299001", "Patient's condition worsened"),
            "component": comps,
        })

    # ---- transplants and anti-leukemic therapy
    for r in rows.get("hsct", []):
        exts = [ext("hsct-type", valueCode=r["hsct_type"])]
        if r["donor_type"] is not None:
            exts.append(ext("hsct-donor-type", valueCode=r["donor_type"]))
        if r["disease_status_at_hsct"] is not None:
            exts.append(ext("disease-status-at-hsct", valueCode=r["disease_status_at_hsct"]))
        out.append({
            "resourceType": "Procedure", "id": ids("hsct", r["hsct_id"]), "extension": exts,
            "status": "completed", "category": cc(CS + "registry-procedure", "hsct"),
            "code": cc(SNOMED, "234336002", "Hemopoietic stem cell transplant"),
            "subject": subject, "performedDateTime": r["hsct_date"].isoformat(),
        })
    for r in rows.get("antileukemic_therapy", []):
        period = {"start": r["start_date"].isoformat()}
        if r["end_date"] is not None:
            period["end"] = r["end_date"].isoformat()
        out.append({
            "resourceType": "Procedure", "id": ids("th", r["therapy_id"]),
            "extension": [ext("therapy-intent", valueCode=r["intent"])],
            "status": "completed" if r["end_date"] is not None else "in-progress",
            "category": cc(CS + "registry-procedure", "antileukemic-therapy"),
            "code": cc(CS + "therapy-class", r["therapy_class"]), "subject": subject,
            "performedPeriod": period,
        })

    # ---- death, last contact
    if death is not None:
        value = cc(CS + "death-cause", death["primary_cause"], text=death["cause_detail"])
        out.append({
            "resourceType": "Observation", "id": ids("death"), "status": "final",
            "code": cc(LOINC, "69453-9", "Cause of death"), "subject": subject,
            "effectiveDateTime": death["death_date"].isoformat(), "valueCodeableConcept": value,
        })
    fu = rows["follow_up"][0]
    comps = _cc_comp("vital-status", "vital-status", fu["vital_status"])
    comps += _cc_comp("last-disease-status", "last-disease-status", fu["last_disease_status"])
    out.append({
        "resourceType": "Observation", "id": ids("last-contact"), "status": "final",
        "code": ro("last-contact"), "subject": subject,
        "effectiveDateTime": fu["last_contact_date"].isoformat(), "component": comps,
    })
    # ---- unrelated EHR content a real export carries (vital signs, chemistry)
    first = rows["cart_infusion"][0]["infusion_date"] if rows.get("cart_infusion") else (
        fu["last_contact_date"])
    urs = Stream(seed, "unrelated", pid)
    for _ in range(n_unrelated):
        out.append(unrelated_observation(urs, subject, first))
    return out


#: (LOINC, display, unit, UCUM, low, high, decimals, category)
UNRELATED = (
    ("8310-5", "Body temperature", "Cel", "Cel", 36.0, 39.5, 1, "vital-signs"),
    ("8867-4", "Heart rate", "/min", "/min", 60, 160, 0, "vital-signs"),
    ("9279-1", "Respiratory rate", "/min", "/min", 12, 40, 0, "vital-signs"),
    ("29463-7", "Body weight", "kg", "kg", 12, 90, 1, "vital-signs"),
    ("8302-2", "Body height", "cm", "cm", 90, 185, 1, "vital-signs"),
    ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%", "%", 88, 100, 0,
     "vital-signs"),
    ("718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", "g/dL", 6.5, 14.5, 1, "laboratory"),
    ("6690-2", "Leukocytes [#/volume] in Blood by Automated count", "10*3/uL", "10*3/uL", 0.1,
     25, 1, "laboratory"),
    ("777-3", "Platelets [#/volume] in Blood by Automated count", "10*3/uL", "10*3/uL", 5, 450,
     0, "laboratory"),
    ("2951-2", "Sodium [Moles/volume] in Serum or Plasma", "mmol/L", "mmol/L", 128, 148, 0,
     "laboratory"),
    ("2823-3", "Potassium [Moles/volume] in Serum or Plasma", "mmol/L", "mmol/L", 3.0, 5.6, 1,
     "laboratory"),
    ("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", "mg/dL", 0.2, 1.6, 2,
     "laboratory"),
    ("1742-6", "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma", "U/L",
     "U/L", 8, 250, 0, "laboratory"),
    ("2532-0", "Lactate dehydrogenase [Enzymatic activity/volume] in Serum or Plasma", "U/L",
     "U/L", 150, 1500, 0, "laboratory"),
    ("1988-5", "C reactive protein [Mass/volume] in Serum or Plasma", "mg/L", "mg/L", 0.5, 250,
     1, "laboratory"),
    ("2276-4", "Ferritin [Mass/volume] in Serum or Plasma", "ng/mL", "ng/mL", 20, 40000, 0,
     "laboratory"),
)


_UNRELATED_CAT = {cat: [cc(OBS_CAT, cat)] for cat in ("vital-signs", "laboratory")}


def unrelated_observation(rs: Stream, subject: dict[str, str], around: dt.date
                          ) -> dict[str, Any]:
    code, display, unit, ucum, lo, hi, dec, cat = UNRELATED[rs.randint(0, len(UNRELATED) - 1)]
    value = float(f"{rs.uniform(lo, hi):.{dec}f}") if dec else rs.randint(int(lo), int(hi))
    day = around + dt.timedelta(days=rs.randint(-30, 120))
    return {
        "resourceType": "Observation", "id": rs.uuid(), "status": "final",
        "category": _UNRELATED_CAT[cat],
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
        "subject": subject,
        "effectiveDateTime": f"{day.isoformat()}T{rs.randint(0, 23):02d}:{rs.randint(0, 59):02d}:00Z",
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": ucum},
    }


def _patient_rows(truth: Truth, site: str) -> Iterator[tuple[str, dict[str, list[dict[str, Any]]]]]:
    plans = sorted((p for p in truth.plans if p.site_id == site), key=lambda p: p.local_id)
    tables = list(truth.rows)
    by_pid: dict[str, dict[str, list[dict[str, Any]]]] = {}
    pids = {p.patient_id for p in plans}
    for t in tables:
        if t in ("site", "car_construct"):
            continue
        for r in truth.rows[t]:
            if r["patient_id"] in pids:
                by_pid.setdefault(r["patient_id"], {}).setdefault(t, []).append(r)
    for p in plans:
        yield p.local_id, by_pid[p.patient_id]


def manifest(counts: dict[str, int]) -> dict[str, Any]:
    return {
        "transactionTime": EXPORT_TIME,
        "request": f"{BASE_URL}/fhir/Group/cart-registry/$export?_type="
                   + ",".join(t for t in RESOURCE_ORDER if t in counts),
        "requiresAccessToken": True,
        "output": [
            {"type": t, "url": f"{BASE_URL}/bulk/export-0001/{t}.ndjson", "count": counts[t]}
            for t in RESOURCE_ORDER if t in counts
        ],
        "error": [],
    }


def render_fhir(truth: Truth, index: Index | None = None) -> SiteExport:
    """Both FHIR forms; ``index`` (if given) receives the resource id of each canonical row
    (``Located.row`` is the id; for toxicities the locator also names the grade Observation)."""
    export: SiteExport = {}
    bulk: dict[str, NdjsonFile] = {}
    for local_id, rows in _patient_rows(truth, SITE_FHIR):
        entries = patient_resources(truth.seed, local_id, rows, bundle=True)
        if index is not None:
            _index_patient(truth.seed, local_id, rows, index)
        export[f"bundles/{local_id}.json"] = JsonFile(indent=None, obj={
            "resourceType": "Bundle", "id": Stream(truth.seed, "bundle-id", local_id).uuid(),
            "meta": {"lastUpdated": EXPORT_TIME}, "type": "collection",
            "timestamp": EXPORT_TIME,
            "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in entries],
        })
        for r in patient_resources(truth.seed, local_id, rows, bundle=False):
            bulk.setdefault(r["resourceType"], NdjsonFile()).lines.append(r)
    counts = {t: len(f.lines) for t, f in bulk.items()}
    for t in RESOURCE_ORDER:
        if t in bulk:
            export[f"bulk/{t}.ndjson"] = bulk[t]
    export["bulk/manifest.json"] = JsonFile(manifest(counts))
    return export


#: canonical table -> (id role used by patient_resources, resource type)
_ROLE = {
    "cart_infusion": ("infusion", "Procedure"), "lymphodepletion": ("infusion", "Procedure"),
    "toxicity_event": ("tox", "AdverseEvent"), "disease_assessment": ("da", "Observation"),
    "antigen_expression": ("ag", "Observation"), "relapse": ("rel", "Observation"),
    "hsct": ("hsct", "Procedure"), "antileukemic_therapy": ("th", "Observation"),
}


def _index_patient(seed: int, local_id: str, rows: dict[str, list[dict[str, Any]]],
                   index: Index) -> None:
    ids = Ids(seed, rows["patient"][0]["patient_id"])
    pid = rows["patient"][0]["patient_id"]
    index[("patient", pid)] = Located("", local_id, f"Patient/{local_id}")
    index[("follow_up", pid)] = Located("", ids("last-contact"), f"Observation/{ids('last-contact')}")
    if rows.get("death"):
        index[("death", pid)] = Located("", local_id, f"Patient/{local_id}")
    for table, (role, rtype) in _ROLE.items():
        if table == "antileukemic_therapy":
            rtype = "Procedure"
        for r in rows.get(table, []):
            key = r["infusion_id"] if table == "lymphodepletion" else r[ID_COL[table]]
            rid = ids(role, key)
            loc = f"{rtype}/{rid}"
            if table == "toxicity_event":
                loc += f"|grade=Observation/{ids('tox-grade', key)}"
            index[(table, r[ID_COL[table]])] = Located("", rid, loc)
