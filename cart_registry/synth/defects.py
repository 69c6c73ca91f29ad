"""Known defects, injected into each site's export in the site's own terms.

Every defect is one realistic data-entry or export fault (an impossible date, an event after
death, CART-B dated before CART-A, a code outside the list, a missing critical field, a CRS
grade that its components contradict, an ICE score for a young child, an orphan row, a
duplicate patient, a broken FHIR reference, a malformed line) and one row of the answer key,
which names the site's own record and field and the rule the defect should trip. Rule tags
are domain.md §8.3's R01–R21 or conformance tags (see the README the generator writes).

Defects touch distinct patients where the site has enough of them, so each can be found on
its own; targets are chosen with the seeded generator, so the key is as reproducible as the
files.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cart_registry.synth.catalog import DATA_CUTOFF, SITE_EDC, SITE_FHIR, SITE_IDS, SITE_REDCAP
from cart_registry.synth.files import CsvFile, Index, JsonFile, NdjsonFile, RawLine, SiteExport
from cart_registry.synth.plan import PatientPlan
from cart_registry.synth.prng import Stream
from cart_registry.synth.render import render_site
from cart_registry.synth.truth import Truth

KEY_COLUMNS = [
    "defect_id", "site_id", "source_file", "source_row", "record", "field", "locator",
    "canonical_table", "canonical_column", "rule", "also_trips", "description",
]


@dataclass
class Defect:
    site_id: str
    source_file: str
    record: str
    field: str
    locator: str
    canonical_table: str
    canonical_column: str
    rule: str
    description: str
    also_trips: str = ""
    #: the CSV row object or the FHIR resource (its line is found after every edit)
    row_ref: Any = None
    source_row: str = ""
    defect_id: str = ""


@dataclass
class Injected:
    exports: dict[str, SiteExport]
    defects: list[Defect] = field(default_factory=list)


class _Site:
    """Shared state while injecting one site's defects."""

    def __init__(self, truth: Truth, site: str, export: SiteExport, index: Index,
                 rs: Stream) -> None:
        self.truth = truth
        self.site = site
        self.export = export
        self.index = index
        self.rs = rs
        self.used: set[str] = set()
        self.defects: list[Defect] = []
        self.plans = {p.patient_id: p for p in truth.plans if p.site_id == site}

    def rows(self, table: str, pred: Callable[[dict[str, Any]], bool] = lambda r: True
             ) -> list[dict[str, Any]]:
        return [r for r in self.truth.site_rows(self.site, table) if pred(r)]

    def pick(self, cands: list[dict[str, Any]], *, fresh: bool = True) -> dict[str, Any]:
        """A random candidate, preferring patients no earlier defect touched."""
        if not cands:
            raise RuntimeError(f"{self.site}: no candidate row for a defect")
        free = [r for r in cands if r["patient_id"] not in self.used] if fresh else cands
        r = self.rs.choice(free or cands)
        self.used.add(r["patient_id"])
        return r

    def plan(self, pid: str) -> PatientPlan:
        return self.plans[pid]

    def add(self, **kw: Any) -> None:
        self.defects.append(Defect(site_id=self.site, **kw))


# ---------------------------------------------------------------------------- helpers
def _dead(s: _Site) -> Callable[[dict[str, Any]], bool]:
    return lambda r: s.plan(r["patient_id"]).death_date is not None


def _alive(s: _Site) -> Callable[[dict[str, Any]], bool]:
    return lambda r: s.plan(r["patient_id"]).death_date is None


def _second_course_initial(s: _Site) -> list[dict[str, Any]]:
    return s.rows("cart_infusion", lambda r: r["_course"] == 2 and r["infusion_intent"] ==
                  "initial")


def _first_course_date(s: _Site, pid: str) -> dt.date:
    return s.plan(pid).courses[0].start


def _child_infusion(s: _Site) -> dict[str, Any]:
    """The infusion of a child closest to 6.5 years old (an ICE score is wrong up to 12)."""
    cands = []
    for r in s.rows("cart_infusion"):
        age = s.plan(r["patient_id"]).age_years(r["infusion_date"])
        if age <= 12 and r["patient_id"] not in s.used:
            cands.append((abs(age - 6.5), r["infusion_id"], r))
    if not cands:
        raise RuntimeError(f"{s.site}: no child infusion")
    cands.sort(key=lambda x: (x[0], x[1]))
    r = cands[0][2]
    s.used.add(r["patient_id"])
    return r


def _crs(s: _Site, grade: int) -> list[dict[str, Any]]:
    return s.rows("toxicity_event", lambda r: r["tox_type"] == "crs" and r["grade_reported"] ==
                  grade and r["grading_scale"] == "astct_2019")


def _impossible(d: dt.date) -> str:
    return f"{d.year}-02-30"


# ---------------------------------------------------------------------------- REDCap
def _redcap(s: _Site) -> None:
    from cart_registry.synth.render_redcap import DATA_FILE

    data = s.export[DATA_FILE]
    assert isinstance(data, CsvFile)
    col = {c: i for i, c in enumerate(data.header)}

    def cell(row: list[str], f: str, v: str | None = None) -> str:
        if v is not None:
            row[col[f]] = v
        return row[col[f]]

    def at(table: str, rid: str) -> tuple[list[str], str]:
        loc = s.index[(table, rid)]
        return loc.row, loc.locator

    def add(row: Any, f: str, loc: str, table: str, column: str, rule: str, desc: str,
            also: str = "") -> None:
        rec = row[0] if isinstance(row, list) else loc.split("|")[0].split("=")[1]
        s.add(source_file=DATA_FILE, record=rec, field=f, locator=loc, canonical_table=table,
              canonical_column=column, rule=rule, description=desc, also_trips=also, row_ref=row)

    r = s.pick(s.rows("disease_assessment", lambda r: r["response"] == "cr_mrd_neg"))
    row, loc = at("disease_assessment", r["assessment_id"])
    cell(row, "da_date", _impossible(r["assessment_date"]))
    add(row, "da_date", loc, "disease_assessment", "assessment_date", "conformance.date_parse",
        "assessment dated 30 February")
    r = s.pick(s.rows("antileukemic_therapy"))
    row, loc = at("antileukemic_therapy", r["therapy_id"])
    cell(row, "th_start", r["start_date"].strftime("%m/%d/%Y"))
    add(row, "th_start", loc, "antileukemic_therapy", "start_date", "conformance.date_parse",
        "start date typed as mm/dd/yyyy in a date_ymd field")
    r = s.pick(s.rows("disease_assessment", lambda r: r["response"] == "cr_mrd_neg"
                      and _dead(s)(r)))
    row, loc = at("disease_assessment", r["assessment_id"])
    death = s.plan(r["patient_id"]).death_date
    assert death is not None
    cell(row, "da_date", (death + dt.timedelta(days=25)).isoformat())
    add(row, "da_date", loc, "disease_assessment", "assessment_date", "R08",
        "marrow assessment dated 25 days after the death date", "R10")
    r = s.pick(_second_course_initial(s))
    row, loc = at("cart_infusion", r["infusion_id"])
    a = _first_course_date(s, r["patient_id"])
    cell(row, "inf_date", (a - dt.timedelta(days=30)).isoformat())
    add(row, "inf_date", loc, "cart_infusion", "infusion_date", "R04",
        "CART-B (event cart_b_arm_1) initial infusion dated 30 days before CART-A", "R06")
    r = s.pick(s.rows("disease_assessment", lambda r: r["response"] is not None))
    row, loc = at("disease_assessment", r["assessment_id"])
    cell(row, "da_response", "12")
    add(row, "da_response", loc, "disease_assessment", "response", "conformance.isin",
        "response code 12 is not in the field's choices")
    r = s.pick(s.rows("patient"))
    row, loc = at("patient", r["patient_id"])
    cell(row, "sex", "4")
    add(row, "sex", loc, "patient", "sex", "conformance.isin", "sex code 4 is not a choice")
    cands = s.rows("cart_infusion", lambda r: r["infusion_intent"] != "initial")
    r = s.pick(cands or s.rows("cart_infusion"))
    row, loc = at("cart_infusion", r["infusion_id"])
    cell(row, "inf_product", "")
    add(row, "inf_product", loc, "cart_infusion", "construct_id", "conformance.not_nullable",
        "infusion without a product")
    r = s.pick(_crs(s, 1))
    row, loc = at("toxicity_event", r["tox_id"])
    cell(row, "crs_hypotension", "1")
    cell(row, "crs_fluids_only", "0")
    cell(row, "crs_pressors", "2")
    cell(row, "crs_vasopressin_only", "0")
    add(row, "tox_grade", loc, "toxicity_event", "grade_reported", "R14",
        "ASTCT CRS reported grade 1 but two vasopressors recorded (components give grade 4)")
    inf = _child_infusion(s)
    age = s.plan(inf["patient_id"]).age_years(inf["infusion_date"])
    inf_row, inf_loc = at("cart_infusion", inf["infusion_id"])
    new = [""] * len(data.header)
    event = inf_loc.split("|")[1].split("=")[1]
    n_tox = sum(1 for x in data.rows if isinstance(x, list) and x[0] == inf_row[0]
                and x[1] == event and x[2] == "toxicity")
    onset = inf["infusion_date"] + dt.timedelta(days=5)
    for f, v in (("record_id", inf_row[0]), ("redcap_event_name", event),
                 ("redcap_repeat_instrument", "toxicity"),
                 ("redcap_repeat_instance", str(n_tox + 1)), ("tox_type", "2"),
                 ("tox_onset", onset.isoformat()),
                 ("tox_resolved", (onset + dt.timedelta(days=2)).isoformat()),
                 ("tox_grade", "1"), ("tox_scale", "1"), ("tox_scale_ver", "ASTCT 2019"),
                 ("icans_ice", "8"), ("icans_loc", "1"), ("icans_seizure", "0"),
                 ("icans_motor", "0"), ("icans_edema", "0"), ("tox_toci_doses", "0"),
                 ("tox_steroids", "0"), ("tox_icu", "0"), ("tox_fatal", "0"),
                 ("toxicity_complete", "2")):
        new[col[f]] = v
    data.rows.insert(data.rows.index(inf_row) + 1, new)
    add(new, "icans_ice", f"record={new[0]}|event={event}|instrument=toxicity|instance="
        f"{n_tox + 1}", "toxicity_event", "ice_min", "R13",
        f"ICANS graded with an ICE score (8) and no CAPD in a {age:.1f}-year-old")
    r = s.pick(s.rows("patient"))
    row, loc = at("patient", r["patient_id"])
    dob = r["diagnosis_date"] + dt.timedelta(days=200)
    cell(row, "dob", dob.isoformat())
    add(row, "dob", loc, "patient", "birth_date", "R01", "birth date after the diagnosis date")
    r = s.pick(s.rows("follow_up", lambda r: r["vital_status"] == "alive"))
    row, loc = at("follow_up", r["patient_id"])
    cell(row, "fu_date", (DATA_CUTOFF + dt.timedelta(days=46)).isoformat())
    add(row, "fu_date", loc, "follow_up", "last_contact_date", "R10",
        "last contact after the site's data cut-off (2023-06-30)")
    r = s.pick(s.rows("toxicity_event", _alive(s)))
    row, loc = at("toxicity_event", r["tox_id"])
    cell(row, "tox_grade", "5")
    cell(row, "tox_fatal", "1")
    add(row, "tox_grade", loc, "toxicity_event", "grade_reported", "R12",
        "grade 5 (fatal) toxicity for a patient who is alive")
    r = s.pick(s.rows("follow_up", lambda r: r["vital_status"] == "alive"))
    row, loc = at("follow_up", r["patient_id"])
    cell(row, "fu_vital", "2")
    add(row, "fu_vital", loc, "follow_up", "vital_status", "R09",
        "vital status dead without a date or cause of death")
    # ---- rows added or broken
    ids = sorted(int(x[0]) for x in data.rows if isinstance(x, list) and x[0].isdigit())
    r = s.pick(s.rows("patient", lambda r: r["registry_status"] == "included"))
    demo, _ = at("patient", r["patient_id"])
    fu, _ = at("follow_up", r["patient_id"])
    new_id = str(ids[-1] + 1)
    for src in (demo, fu):
        dup = list(src)
        dup[0] = new_id
        data.rows.append(dup)
        if src is demo:
            add(dup, "record_id", f"record={new_id}|event=screening_arm_1|instrument="
                "demographics", "patient", "patient_id", "duplicate_patient",
                f"record {new_id} re-registers record {src[0]} (same birth date, sex and "
                "diagnosis date)", "R19")
    orphan = [""] * len(data.header)
    r = s.pick(s.rows("disease_assessment"))
    src, _ = at("disease_assessment", r["assessment_id"])
    orphan[:] = src
    orphan[0] = str(ids[-1] + 900)
    data.rows.append(orphan)
    add(orphan, "record_id", f"record={orphan[0]}|event={orphan[1]}|instrument="
        f"disease_assessment|instance={orphan[3]}", "disease_assessment", "patient_id",
        "orphan_row", "assessment of a record that has no demographics")
    r = s.pick(s.rows("death", lambda r: True))
    row, loc = at("death", r["patient_id"])
    broken = list(row)
    broken[col["death_detail"]] = (broken[col["death_detail"]] or "Progressive disease") + \
        ", see discharge letter"
    i = data.rows.index(row)
    raw = RawLine(",".join(broken))
    data.rows[i] = raw
    s.add(source_file=DATA_FILE, record=row[0], field="death_detail", locator=loc,
          canonical_table="death", canonical_column="cause_detail", rule="malformed_row",
          description="unquoted comma in the cause-of-death text: the line has one field too "
          "many", row_ref=raw)


# ---------------------------------------------------------------------------- EDC
def _edc(s: _Site) -> None:
    from cart_registry.synth.render_edc import d as dmy

    def at(table: str, rid: str) -> tuple[CsvFile, list[str], str]:
        loc = s.index[(table, rid)]
        f = s.export[loc.file]
        assert isinstance(f, CsvFile)
        return f, loc.row, loc.file

    def add(fname: str, row: Any, f: str, table: str, column: str, rule: str, desc: str,
            also: str = "") -> None:
        rec = row[0] if isinstance(row, list) else ""
        s.add(source_file=fname, record=rec, field=f, locator="", canonical_table=table,
              canonical_column=column, rule=rule, description=desc, also_trips=also,
              row_ref=row)

    r = s.pick(s.rows("disease_assessment", lambda r: r["response"] == "cr_mrd_neg"))
    f, row, name = at("disease_assessment", r["assessment_id"])
    row[f.col("ASSESS_DATE")] = f"31/04/{r['assessment_date'].year}"
    add(name, row, "ASSESS_DATE", "disease_assessment", "assessment_date",
        "conformance.date_parse", "assessment dated 31 April")
    r = s.pick(s.rows("antileukemic_therapy"))
    f, row, name = at("antileukemic_therapy", r["therapy_id"])
    row[f.col("START_DATE")] = r["start_date"].isoformat()
    add(name, row, "START_DATE", "antileukemic_therapy", "start_date", "conformance.date_parse",
        "start date in yyyy-mm-dd in a dd/mm/yyyy file")
    r = s.pick(s.rows("antileukemic_therapy", _dead(s)))
    f, row, name = at("antileukemic_therapy", r["therapy_id"])
    death = s.plan(r["patient_id"]).death_date
    assert death is not None
    row[f.col("START_DATE")] = dmy(death + dt.timedelta(days=10))
    row[f.col("END_DATE")] = dmy(death + dt.timedelta(days=24))
    add(name, row, "START_DATE", "antileukemic_therapy", "start_date", "R08",
        "therapy started 10 days after the death date", "R10")
    r = s.pick(_second_course_initial(s))
    f, row, name = at("cart_infusion", r["infusion_id"])
    a = _first_course_date(s, r["patient_id"])
    row[f.col("INF_DATE")] = dmy(a - dt.timedelta(days=21))
    add(name, row, "INF_DATE", "cart_infusion", "infusion_date", "R04",
        "CAR_LINE 2 initial infusion dated 21 days before CAR_LINE 1", "R06")
    r = s.pick(s.rows("patient"))
    f, row, name = at("patient", r["patient_id"])
    row[f.col("SEX")] = "X"
    add(name, row, "SEX", "patient", "sex", "conformance.isin", "sex code X is not in the list")
    r = s.pick(s.rows("cart_infusion"))
    f, row, name = at("cart_infusion", r["infusion_id"])
    row[f.col("PRODUCT_CODE")] = "CAR19-XYZ"
    add(name, row, "PRODUCT_CODE", "cart_infusion", "construct_id", "conformance.isin",
        "product code CAR19-XYZ is not in the site's code list", "R18")
    r = s.pick(s.rows("toxicity_event"))
    f, row, name = at("toxicity_event", r["tox_id"])
    row[f.col("ONSET_DATE")] = ""
    add(name, row, "ONSET_DATE", "toxicity_event", "onset_date", "conformance.not_nullable",
        "toxicity without an onset date")
    r = s.pick(_crs(s, 2))
    f, row, name = at("toxicity_event", r["tox_id"])
    row[f.col("O2_DEVICE")] = "VM"
    add(name, row, "GRADE", "toxicity_event", "grade_reported", "R14",
        "ASTCT CRS reported grade 2 with mechanical ventilation (components give grade 4)")
    inf = _child_infusion(s)
    age = s.plan(inf["patient_id"]).age_years(inf["infusion_date"])
    f, inf_row, _ = at("cart_infusion", inf["infusion_id"])
    tox = s.export["toxicities.csv"]
    assert isinstance(tox, CsvFile)
    new = [""] * len(tox.header)
    onset = inf["infusion_date"] + dt.timedelta(days=6)
    for c, v in (("SUBJID", inf_row[0]), ("INF_NO", inf_row[f.col("INF_NO")]),
                 ("TOX_TYPE", "ICANS"), ("ONSET_DATE", dmy(onset)),
                 ("RESOLUTION_DATE", dmy(onset + dt.timedelta(days=3))), ("GRADE", "1"),
                 ("SCALE", "ASTCT"), ("ICE", "8"), ("LOC", "SPONT"), ("SEIZURE", "AUCUNE"),
                 ("MOTOR_WEAKNESS", "N"), ("EDEMA", "AUCUN"), ("TOCI_DOSES", "0"),
                 ("STEROIDS", "N"), ("ICU", "N"), ("FATAL", "N")):
        new[tox.col(c)] = v
    pos = next((i for i, x in enumerate(tox.rows) if isinstance(x, list) and x[0] > inf_row[0]),
               len(tox.rows))
    tox.rows.insert(pos, new)
    add("toxicities.csv", new, "ICE", "toxicity_event", "ice_min", "R13",
        f"ICANS graded with an ICE score (8) and no CAPD in a {age:.1f}-year-old")
    r = s.pick(s.rows("patient"))
    f, row, name = at("patient", r["patient_id"])
    row[f.col("BIRTH_DATE")] = dmy(r["diagnosis_date"] + dt.timedelta(days=150))
    add(name, row, "BIRTH_DATE", "patient", "birth_date", "R01",
        "birth date after the diagnosis date")
    r = s.pick(s.rows("follow_up", lambda r: bool(s.plan(r["patient_id"]).courses)
                      and r["vital_status"] == "alive"))
    f, row, name = at("follow_up", r["patient_id"])
    first = s.plan(r["patient_id"]).courses[0].start
    row[f.col("LAST_CONTACT_DATE")] = dmy(first - dt.timedelta(days=3))
    add(name, row, "LAST_CONTACT_DATE", "follow_up", "last_contact_date", "R10",
        "last contact 3 days before the first CAR T infusion (earlier than recorded events)")
    # ---- rows added or broken
    assess = s.export["assessments.csv"]
    assert isinstance(assess, CsvFile)
    r = s.pick(s.rows("disease_assessment"))
    _, src, _ = at("disease_assessment", r["assessment_id"])
    orphan = list(src)
    orphan[0] = "CHS-999"
    assess.rows.append(orphan)
    add("assessments.csv", orphan, "SUBJID", "disease_assessment", "patient_id", "orphan_row",
        "assessment of subject CHS-999, who is not in patients.csv")
    r = s.pick(s.rows("patient"))
    f, row, name = at("patient", r["patient_id"])
    dup = list(row)
    f.rows.insert(f.rows.index(row) + 1, dup)
    add(name, dup, "SUBJID", "patient", "patient_id", "duplicate_patient",
        f"subject {row[0]} appears twice in patients.csv")
    r = s.pick(s.rows("disease_assessment"))
    f, row, name = at("disease_assessment", r["assessment_id"])
    raw = RawLine(f.line(row) + ";")
    f.rows[f.rows.index(row)] = raw
    s.add(source_file=name, record=row[0], field="", locator="",
          canonical_table="disease_assessment", canonical_column="",
          rule="malformed_row", description="line with 13 fields instead of 12 (a stray ';')",
          row_ref=raw)


# ---------------------------------------------------------------------------- FHIR
def _fhir_objects(export: SiteExport, rid: str) -> list[tuple[str, int, dict[str, Any]]]:
    """(file, source_row, resource) for a resource id, in both forms."""
    out = []
    for path, f in export.items():
        if isinstance(f, NdjsonFile):
            for i, obj in enumerate(f.lines, 1):
                if isinstance(obj, dict) and obj.get("id") == rid:
                    out.append((path, i, obj))
        elif isinstance(f, JsonFile) and path.startswith("bundles/"):
            for i, e in enumerate(f.obj["entry"]):
                if e["resource"].get("id") == rid:
                    out.append((path, i, e["resource"]))
    return out


def _ref(path: str, rtype: str, rid: str) -> dict[str, str]:
    return {"reference": f"urn:uuid:{rid}" if path.startswith("bundles/") else f"{rtype}/{rid}"}


def _fhir(s: _Site) -> None:
    from cart_registry.synth.render_fhir import CS, RO_SYSTEM, manifest

    def edit(table: str, rid_key: str, element: str, column: str, rule: str, desc: str,
             fn: Callable[[str, dict[str, Any]], None], also: str = "", *,
             grade: bool = False) -> None:
        loc = s.index[(table, rid_key)]
        rid = loc.row
        target = rid
        if grade:
            target = loc.locator.split("grade=Observation/")[1]
        hits = _fhir_objects(s.export, target)
        assert hits, (table, rid_key)
        rtype = loc.locator.split("/")[0]
        for path, _row, obj in hits:
            fn(path, obj)
            s.add(source_file=path, record=f"{rtype}/{rid}", field=element,
                  locator=loc.locator.split("|")[0] if not grade else f"Observation/{target}",
                  canonical_table=table, canonical_column=column, rule=rule,
                  description=desc, also_trips=also, row_ref=obj)

    def set_comp(obs: dict[str, Any], code: str, **value: Any) -> None:
        comps = [c for c in obs.get("component", []) if c["code"]["coding"][0]["code"] != code]
        comps.append({"code": {"coding": [{"system": RO_SYSTEM, "code": code}]}, **value})
        obs["component"] = comps

    def drop_comp(obs: dict[str, Any], code: str) -> None:
        obs["component"] = [c for c in obs.get("component", [])
                            if c["code"]["coding"][0]["code"] != code]

    # ---- resources added first, so that they copy records no other defect touched
    r = s.pick(s.rows("disease_assessment"))
    loc = s.index[("disease_assessment", r["assessment_id"])]
    missing_patient = s.rs.uuid()
    new_id = s.rs.uuid()
    for path, _i, obj in _fhir_objects(s.export, loc.row):
        orphan = copy.deepcopy(obj)
        orphan["id"] = new_id
        orphan["subject"] = _ref(path, "Patient", missing_patient)
        f = s.export[path]
        if isinstance(f, NdjsonFile):
            f.lines.append(orphan)
        else:
            assert isinstance(f, JsonFile)
            f.obj["entry"].append({"fullUrl": f"urn:uuid:{new_id}", "resource": orphan})
        s.add(source_file=path, record=f"Observation/{new_id}", field="Observation.subject",
              locator=f"Observation/{new_id}", canonical_table="disease_assessment",
              canonical_column="patient_id", rule="fhir.reference_unresolved",
              description="assessment whose subject Patient is not in the export",
              also_trips="orphan_row", row_ref=orphan)
    r = s.pick(s.rows("patient", lambda r: r["registry_status"] == "included"))
    loc = s.index[("patient", r["patient_id"])]
    dup_id = s.rs.uuid()
    for path, _i, obj in _fhir_objects(s.export, loc.row):
        dup = copy.deepcopy(obj)
        dup["id"] = dup_id
        f = s.export[path]
        if isinstance(f, NdjsonFile):
            f.lines.append(dup)
            new_path = path
        else:
            assert isinstance(f, JsonFile)
            new_path = f"bundles/{dup_id}.json"
            s.export[new_path] = JsonFile(indent=None, obj={
                "resourceType": "Bundle", "id": s.rs.uuid(), "type": "collection",
                "timestamp": f.obj["timestamp"],
                "entry": [{"fullUrl": f"urn:uuid:{dup_id}", "resource": dup}]})
        s.add(source_file=new_path, record=f"Patient/{dup_id}", field="Patient.identifier",
              locator=f"Patient/{dup_id}", canonical_table="patient",
              canonical_column="patient_id", rule="duplicate_patient",
              description=f"second Patient with the same pseudonym identifier as "
              f"Patient/{loc.row}", also_trips="R19", row_ref=dup)
    r = s.pick(s.rows("disease_assessment", lambda r: r["response"] == "cr_mrd_neg"))
    d = r["assessment_date"]
    bad = f"{d.year - (d.year % 4 == 0)}-02-29T10:00:00-05:00"
    edit("disease_assessment", r["assessment_id"], "Observation.effectiveDateTime",
         "assessment_date", "conformance.date_parse", "assessment dated 29 February of a "
         "non-leap year", lambda p, o: o.__setitem__("effectiveDateTime", bad))
    r = s.pick(s.rows("disease_assessment", lambda r: r["response"] == "cr_mrd_neg"
                      and _dead(s)(r)))
    death = s.plan(r["patient_id"]).death_date
    assert death is not None
    late = (death + dt.timedelta(days=20)).isoformat() + "T09:30:00-05:00"
    edit("disease_assessment", r["assessment_id"], "Observation.effectiveDateTime",
         "assessment_date", "R08", "marrow assessment 20 days after Patient.deceasedDateTime",
         lambda p, o: o.__setitem__("effectiveDateTime", late), "R10")
    r = s.pick(_second_course_initial(s))
    a = _first_course_date(s, r["patient_id"])
    early = (a - dt.timedelta(days=14)).isoformat() + "T11:00:00-05:00"
    edit("cart_infusion", r["infusion_id"], "Procedure.performedDateTime", "infusion_date",
         "R04", "second construct's initial infusion dated 14 days before the first construct",
         lambda p, o: o.__setitem__("performedDateTime", early), "R06")
    r = s.pick(s.rows("antigen_expression"))
    edit("antigen_expression", r["expr_id"], "Observation.valueCodeableConcept.coding.code",
         "status", "conformance.isin", "antigen status 'bright' is not in the code system",
         lambda p, o: o["valueCodeableConcept"]["coding"][0].__setitem__("code", "bright"))

    def booster(p: str, o: dict[str, Any]) -> None:
        for e in o["extension"]:
            if e["url"].endswith("/infusion-intent"):
                e["valueCode"] = "booster"

    r = s.pick(s.rows("cart_infusion"))
    edit("cart_infusion", r["infusion_id"], "Procedure.extension(infusion-intent).valueCode",
         "infusion_intent", "conformance.isin", "infusion intent 'booster' is not a code",
         booster)
    r = s.pick(s.rows("patient"))
    edit("patient", r["patient_id"], "Patient.gender", "sex", "conformance.not_nullable",
         "Patient without gender", lambda p, o: o.pop("gender"))
    r = s.pick(_crs(s, 1))

    def pressors(p: str, o: dict[str, Any]) -> None:
        set_comp(o, "hypotension", valueBoolean=True)
        set_comp(o, "fluids-only", valueBoolean=False)
        set_comp(o, "vasopressors-max", valueInteger=3)

    edit("toxicity_event", r["tox_id"], "Observation.valueInteger", "grade_reported", "R14",
         "ASTCT CRS grade 1 with three vasopressors in its components (grade 4)", pressors,
         grade=True)
    inf = _child_infusion(s)
    age = s.plan(inf["patient_id"]).age_years(inf["infusion_date"])
    proc = s.index[("cart_infusion", inf["infusion_id"])].row
    tmpl = s.rows("toxicity_event")[0]
    tmpl_loc = s.index[("toxicity_event", tmpl["tox_id"])]
    ae_src, gr_src = tmpl_loc.row, tmpl_loc.locator.split("grade=Observation/")[1]
    ae_id, gr_id = s.rs.uuid(), s.rs.uuid()
    onset = (inf["infusion_date"] + dt.timedelta(days=5)).isoformat()
    patient_ref = s.index[("patient", inf["patient_id"])].row
    for (path, _i, ae), (_p2, _i2, gr) in zip(_fhir_objects(s.export, ae_src),
                                               _fhir_objects(s.export, gr_src), strict=True):
        new_ae = copy.deepcopy(ae)
        new_ae.update(id=ae_id, date=onset, subject=_ref(path, "Patient", patient_ref),
                      event={"coding": [{"system": CS + "toxicity-type", "code": "icans"}]},
                      suspectEntity=[{"instance": _ref(path, "Procedure", proc)}])
        new_ae.pop("extension", None)
        new_ae["severity"] = {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/adverse-event-severity",
            "code": "mild"}]}
        new_gr = copy.deepcopy(gr)
        new_gr.update(id=gr_id, effectiveDateTime=onset, valueInteger=1,
                      subject=_ref(path, "Patient", patient_ref),
                      focus=[_ref(path, "AdverseEvent", ae_id)], component=[])
        set_comp(new_gr, "grading-scale", valueCodeableConcept={"coding": [
            {"system": CS + "grading-scale", "code": "astct_2019"}]})
        set_comp(new_gr, "ice-min", valueInteger=8)
        set_comp(new_gr, "consciousness-worst", valueCodeableConcept={"coding": [
            {"system": CS + "consciousness", "code": "spontaneous"}]})
        f = s.export[path]
        if isinstance(f, NdjsonFile):
            ae_file, obs_file = s.export[path], s.export[_p2]
            assert isinstance(ae_file, NdjsonFile) and isinstance(obs_file, NdjsonFile)
            ae_file.lines.append(new_ae)
            obs_file.lines.append(new_gr)
            target_path = _p2
        else:
            assert isinstance(f, JsonFile)
            target_path = f"bundles/{patient_ref}.json"
            b = s.export[target_path]
            assert isinstance(b, JsonFile)
            b.obj["entry"] += [{"fullUrl": f"urn:uuid:{ae_id}", "resource": new_ae},
                               {"fullUrl": f"urn:uuid:{gr_id}", "resource": new_gr}]
        s.add(source_file=target_path, record=f"AdverseEvent/{ae_id}",
              field="Observation.component(ice-min).valueInteger",
              locator=f"Observation/{gr_id}", canonical_table="toxicity_event",
              canonical_column="ice_min", rule="R13",
              description=f"ICANS graded with an ICE score (8) and no CAPD in a "
              f"{age:.1f}-year-old", row_ref=new_gr)
    r = s.pick(s.rows("patient"))
    dob = (r["diagnosis_date"] + dt.timedelta(days=120)).isoformat()
    edit("patient", r["patient_id"], "Patient.birthDate", "birth_date", "R01",
         "birth date after the diagnosis Condition's onset",
         lambda p, o: o.__setitem__("birthDate", dob))
    r = s.pick(s.rows("follow_up", lambda r: r["vital_status"] == "alive"))
    edit("follow_up", r["patient_id"], "Observation.effectiveDateTime", "last_contact_date",
         "R10", "last contact after the data cut-off",
         lambda p, o: o.__setitem__("effectiveDateTime", "2023-09-01"))
    r = s.pick(s.rows("toxicity_event", _alive(s)))

    def fatal(p: str, o: dict[str, Any]) -> None:
        o["valueInteger"] = 5

    edit("toxicity_event", r["tox_id"], "Observation.valueInteger", "grade_reported", "R12",
         "grade 5 toxicity for a patient who is alive", fatal, grade=True)
    ghost = s.rs.uuid()
    r = s.pick(s.rows("toxicity_event"))
    edit("toxicity_event", r["tox_id"], "AdverseEvent.suspectEntity.instance", "infusion_id",
         "fhir.reference_unresolved", "AdverseEvent points to a Procedure that is not in the "
         "export", lambda p, o: o["suspectEntity"][0].__setitem__(
             "instance", _ref(p, "Procedure", ghost)))
    # malformed: a truncated NDJSON line; a truncated Bundle file
    r = s.pick(s.rows("antigen_expression"))
    loc = s.index[("antigen_expression", r["expr_id"])]
    for path, i, obj in _fhir_objects(s.export, loc.row):
        f = s.export[path]
        if isinstance(f, NdjsonFile):
            import json

            text = json.dumps(obj, separators=(",", ":"))
            raw = RawLine(text[: len(text) // 2])
            f.lines[i - 1] = raw
            s.add(source_file=path, record=f"Observation/{loc.row}", field="",
                  locator=f"Observation/{loc.row}", canonical_table="antigen_expression",
                  canonical_column="", rule="malformed_row",
                  description="NDJSON line cut in the middle (not valid JSON)", row_ref=raw)
    r = s.pick(s.rows("patient", lambda r: r["registry_status"] != "included"))
    loc = s.index[("patient", r["patient_id"])]
    path = f"bundles/{loc.row}.json"
    bundle = s.export[path]
    assert isinstance(bundle, JsonFile)
    bundle.truncate_at = len(bundle.to_bytes()) * 2 // 3
    s.add(source_file=path, record=f"Patient/{loc.row}", field="", locator=f"Bundle {path}",
          canonical_table="patient", canonical_column="", rule="malformed_row",
          description="Bundle file cut short (not valid JSON): the patient's resources are "
          "lost", row_ref=None, source_row="")
    counts = {p.split("/")[1][: -len(".ndjson")]: len(f.lines) for p, f in s.export.items()
              if isinstance(f, NdjsonFile)}
    s.export["bulk/manifest.json"] = JsonFile(manifest(counts))


# ---------------------------------------------------------------------------- driver
def _resolve_rows(site_export: SiteExport, defects: list[Defect]) -> None:
    """Fill source_row: 1-based CSV data row / NDJSON line; 0-based Bundle entry."""
    for d in defects:
        if d.row_ref is None or d.source_row:
            continue
        f = site_export[d.source_file]
        if isinstance(f, CsvFile):
            d.source_row = str(next(i for i, r in enumerate(f.rows, 1) if r is d.row_ref))
        elif isinstance(f, NdjsonFile):
            d.source_row = str(next(i for i, r in enumerate(f.lines, 1) if r is d.row_ref))
        elif isinstance(f, JsonFile) and "entry" in f.obj:
            d.source_row = str(next(i for i, e in enumerate(f.obj["entry"])
                                    if e["resource"] is d.row_ref))
        if isinstance(f, CsvFile) and not d.locator:
            d.locator = f"row={d.source_row}"


def inject_defects(truth: Truth) -> Injected:
    """Render every site afresh and inject its defects; returns the edited exports and key."""
    out = Injected({})
    for site in SITE_IDS:
        index: Index = {}
        export = render_site(truth, site, index)
        st = _Site(truth, site, export, index, Stream(truth.seed, "defects", site))
        {SITE_REDCAP: _redcap, SITE_EDC: _edc, SITE_FHIR: _fhir}[site](st)
        _resolve_rows(export, st.defects)
        out.exports[site] = export
        out.defects.extend(st.defects)
    for n, d in enumerate(out.defects, 1):
        d.defect_id = f"D{n:03d}"
    return out


def answer_key_bytes(defects: list[Defect]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(KEY_COLUMNS)
    for d in defects:
        w.writerow([getattr(d, c) for c in KEY_COLUMNS])
    return buf.getvalue().encode("utf-8")
