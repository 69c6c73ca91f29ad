"""A deliberately simple, independent reader of the three sample export formats.

It uses only csv/json and the documentation (sample_exports/README.md §3 for the local product
codes, mappings/constructs.yaml for targets, docs/fhir-profile.md for FHIR), never the
generator's or the pipeline's code, so a test built on it checks the files themselves.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

CR_CODES = {"cr_mrd_neg", "cr_mrd_pos", "cr_mrd_unknown", "cri"}


@dataclass
class Pt:
    pid: str
    status: str = ""
    birth: dt.date | None = None
    #: (date, construct_id)
    infusions: list[tuple[dt.date, str]] = field(default_factory=list)
    #: (date, specimen, response)
    assessments: list[tuple[dt.date, str, str | None]] = field(default_factory=list)
    #: (date, lineage)
    relapses: list[tuple[dt.date, str]] = field(default_factory=list)
    #: (date, antigen, status)
    expression: list[tuple[dt.date, str, str]] = field(default_factory=list)
    hsct: list[dt.date] = field(default_factory=list)
    #: (start, intent)
    therapies: list[tuple[dt.date, str]] = field(default_factory=list)
    death: dt.date | None = None
    last_contact: dt.date | None = None


def product_codes(readme: Path) -> dict[str, dict[str, str]]:
    """site -> local code -> construct_id, from the README's section 3 table."""
    out: dict[str, dict[str, str]] = {"site_redcap": {}, "site_edc": {}, "site_fhir": {}}
    for line in readme.read_text(encoding="utf-8").splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and re.fullmatch(r"[a-z0-9][a-z0-9_-]+", cells[0]) and cells[1][:2] == "CD":
            cid = cells[0]
            out["site_redcap"][cells[2]] = cid
            out["site_edc"][cells[3]] = cid
            out["site_fhir"][cells[4]] = cid
    return out


def construct_targets(catalog: Path) -> dict[str, tuple[str, ...]]:
    rows = yaml.safe_load(catalog.read_text(encoding="utf-8"))
    return {r["construct_id"]: tuple(sorted(r["target_antigens"])) for r in rows}


def _iso(s: str) -> dt.date:
    return dt.date.fromisoformat(s[:10])


def read_redcap(folder: Path, codes: dict[str, str]) -> dict[str, Pt]:
    text = (folder / "CARTRegistry_DATA.csv").read_text(encoding="utf-8")
    pts: dict[str, Pt] = {}
    resp = {"1": "cr_mrd_neg", "2": "cr_mrd_pos", "3": "cr_mrd_unknown", "4": "cri", "5": "pr",
            "6": "nr", "7": "pd", "8": "ne"}
    spec = {"1": "bone_marrow", "2": "peripheral_blood", "3": "csf", "4": "extramedullary"}
    lineage = {"1": "b_lymphoid", "2": "myeloid", "3": "mixed", "4": "t_lymphoid", "9": "unknown"}
    antigen = {"1": "CD19", "2": "CD22", "3": "CD20", "4": "CD123", "5": "other"}
    status = {"1": "positive", "2": "dim", "3": "partial", "4": "negative", "5": "not_tested"}
    intent = {"1": "bridging", "2": "interval", "3": "maintenance", "4": "relapse_treatment",
              "5": "other"}
    for r in csv.DictReader(io.StringIO(text)):
        pid = "site_redcap-" + r["record_id"]
        p = pts.setdefault(pid, Pt(pid))
        inst = r["redcap_repeat_instrument"]
        if r["redcap_event_name"] == "screening_arm_1" and not inst:
            p.status = {"1": "screened", "2": "included", "3": "excluded"}[r["reg_status"]]
            p.birth = _iso(r["dob"])
        elif inst == "car_infusion":
            p.infusions.append((_iso(r["inf_date"]), codes[r["inf_product"]]))
        elif inst == "disease_assessment":
            p.assessments.append((_iso(r["da_date"]), spec[r["da_specimen"]],
                                  resp.get(r["da_response"])))
        elif inst == "relapse":
            p.relapses.append((_iso(r["rel_date"]), lineage[r["rel_lineage"]]))
        elif inst == "antigen_expression":
            p.expression.append((_iso(r["ag_date"]), antigen[r["ag_antigen"]],
                                 status[r["ag_status"]]))
        elif inst == "transplant":
            p.hsct.append(_iso(r["hsct_date"]))
        elif inst == "therapy":
            p.therapies.append((_iso(r["th_start"]), intent[r["th_intent"]]))
        elif r["redcap_event_name"] == "follow_up_arm_1":
            p.last_contact = _iso(r["fu_date"])
            if r["death_date"]:
                p.death = _iso(r["death_date"])
    return pts


def _edc(folder: Path, name: str) -> list[dict[str, str]]:
    raw = (folder / name).read_bytes().decode("latin-1")
    return list(csv.DictReader(io.StringIO(raw, newline=""), delimiter=";"))


def _dmy(s: str) -> dt.date:
    return dt.datetime.strptime(s, "%d/%m/%Y").date()


def read_edc(folder: Path, codes: dict[str, str]) -> dict[str, Pt]:
    pts: dict[str, Pt] = {}
    resp = {"RC-MRDNEG": "cr_mrd_neg", "RC-MRDPOS": "cr_mrd_pos", "RC-MRDINC": "cr_mrd_unknown",
            "RCI": "cri", "RP": "pr", "NR": "nr", "PROG": "pd", "NE": "ne"}
    spec = {"MO": "bone_marrow", "SP": "peripheral_blood", "LCR": "csf", "EM": "extramedullary"}
    lineage = {"B": "b_lymphoid", "MYELO": "myeloid", "MIXTE": "mixed", "T": "t_lymphoid",
               "INC": "unknown"}
    status = {"POS": "positive", "FAIBLE": "dim", "PART": "partial", "NEG": "negative",
              "NF": "not_tested"}
    intent = {"PONT": "bridging", "INTERV": "interval", "ENTRET": "maintenance",
              "RECH": "relapse_treatment", "AUTRE": "other"}

    def pt(subj: str) -> Pt:
        pid = "site_edc-" + subj
        return pts.setdefault(pid, Pt(pid))

    for r in _edc(folder, "patients.csv"):
        p = pt(r["SUBJID"])
        p.status = {"SCR": "screened", "INC": "included", "EXC": "excluded"}[r["STATUS"]]
        p.birth = _dmy(r["BIRTH_DATE"])
    for r in _edc(folder, "infusions.csv"):
        pt(r["SUBJID"]).infusions.append((_dmy(r["INF_DATE"]), codes[r["PRODUCT_CODE"]]))
    for r in _edc(folder, "assessments.csv"):
        pt(r["SUBJID"]).assessments.append(
            (_dmy(r["ASSESS_DATE"]), spec[r["SPECIMEN"]], resp.get(r["RESPONSE"])))
    for r in _edc(folder, "relapses.csv"):
        pt(r["SUBJID"]).relapses.append((_dmy(r["RELAPSE_DATE"]), lineage[r["LINEAGE"]]))
    for r in _edc(folder, "antigens.csv"):
        for ag in ("CD19", "CD22", "CD20"):
            if r[ag]:
                pt(r["SUBJID"]).expression.append((_dmy(r["SAMPLE_DATE"]), ag, status[r[ag]]))
    for r in _edc(folder, "transplants.csv"):
        pt(r["SUBJID"]).hsct.append(_dmy(r["HSCT_DATE"]))
    for r in _edc(folder, "therapies.csv"):
        pt(r["SUBJID"]).therapies.append((_dmy(r["START_DATE"]), intent[r["INTENT"]]))
    for r in _edc(folder, "followup.csv"):
        p = pt(r["SUBJID"])
        p.last_contact = _dmy(r["LAST_CONTACT_DATE"])
        if r["DEATH_DATE"]:
            p.death = _dmy(r["DEATH_DATE"])
    return pts


RO = "https://cart-registry.org/fhir/CodeSystem/registry-observation"
CS = "https://cart-registry.org/fhir/CodeSystem/"
EXT = "https://cart-registry.org/fhir/StructureDefinition/"


def _code(cc: dict, system: str) -> str | None:
    for c in cc.get("coding", []):
        if c.get("system") == system:
            return c["code"]
    return None


def _comp(obs: dict, code: str, system: str) -> str | None:
    for c in obs.get("component", []):
        if _code(c["code"], RO) == code:
            return _code(c["valueCodeableConcept"], CS + system)
    return None


def _ext(res: dict, name: str) -> dict | None:
    for e in res.get("extension", []):
        if e["url"] == EXT + name:
            return e
    return None


def fhir_resources(folder: Path, form: str = "bulk") -> list[dict]:
    out: list[dict] = []
    if form == "bulk":
        for f in sorted((folder / "bulk").glob("*.ndjson")):
            out += [json.loads(line) for line in f.read_text(encoding="utf-8").splitlines() if line]
    else:
        for f in sorted((folder / "bundles").glob("*.json")):
            out += [e["resource"] for e in json.loads(f.read_text(encoding="utf-8"))["entry"]]
    return out


def read_fhir(folder: Path, codes: dict[str, str], form: str = "bulk") -> dict[str, Pt]:
    pts: dict[str, Pt] = {}
    res = fhir_resources(folder, form)

    def pt(ref: dict) -> Pt:
        rid = ref["reference"].split("/")[-1].split(":")[-1]
        pid = "site_fhir-" + rid
        return pts.setdefault(pid, Pt(pid))

    for r in res:
        if r["resourceType"] == "Patient":
            p = pt({"reference": "Patient/" + r["id"]})
            p.status = _ext(r, "registry-status")["valueCode"]  # type: ignore[index]
            p.birth = _iso(r["birthDate"])
    for r in res:
        rt = r["resourceType"]
        if rt == "Procedure":
            cat = _code(r["category"], CS + "registry-procedure")
            if cat == "car-t-infusion":
                prod = _ext(r, "car-product")["valueCodeableConcept"]  # type: ignore[index]
                local = _code(prod, "https://fhir.site-fhir.example.org/CodeSystem/cell-therapy-product")
                pt(r["subject"]).infusions.append((_iso(r["performedDateTime"]), codes[local]))
            elif cat == "hsct":
                pt(r["subject"]).hsct.append(_iso(r["performedDateTime"]))
            elif cat == "antileukemic-therapy":
                pt(r["subject"]).therapies.append(
                    (_iso(r["performedPeriod"]["start"]), _ext(r, "therapy-intent")["valueCode"]))  # type: ignore[index]
        elif rt == "Observation":
            loinc = _code(r["code"], "http://loinc.org")
            local = _code(r["code"], RO)
            if local == "disease-assessment":
                resp = _code(r["valueCodeableConcept"], CS + "response") if (
                    "valueCodeableConcept" in r) else None
                pt(r["subject"]).assessments.append(
                    (_iso(r["effectiveDateTime"]), _comp(r, "specimen", "specimen"), resp))
            elif loinc == "101119-6":
                pt(r["subject"]).expression.append((
                    _iso(r["effectiveDateTime"]), _comp(r, "antigen", "antigen"),
                    _code(r["valueCodeableConcept"], CS + "antigen-expression-status")))
            elif loinc == "97509-4" and _code(r["valueCodeableConcept"],
                                              "http://snomed.info/sct") == "271299001":
                pt(r["subject"]).relapses.append(
                    (_iso(r["effectiveDateTime"]), _comp(r, "lineage", "lineage")))
            elif local == "last-contact":
                pt(r["subject"]).last_contact = _iso(r["effectiveDateTime"])
    for r in res:
        if r["resourceType"] == "Patient" and "deceasedDateTime" in r:
            pts["site_fhir-" + r["id"]].death = _iso(r["deceasedDateTime"])
    return pts


def read_all(root: Path, catalog: Path, fhir_form: str = "bulk") -> dict[str, Pt]:
    codes = product_codes(root / "README.md")
    pts: dict[str, Pt] = {}
    pts.update(read_redcap(root / "site_redcap", codes["site_redcap"]))
    pts.update(read_edc(root / "site_edc", codes["site_edc"]))
    pts.update(read_fhir(root / "site_fhir", codes["site_fhir"], fhir_form))
    return pts
