"""Helpers of the de-identification tests: projects whose sites shift dates, and copies of
the sample exports that carry direct identifiers (the samples themselves carry none)."""

from __future__ import annotations

import base64
import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any

import yaml

from cart_registry.deid.keys import SiteKey
from cart_registry.project import Project
from tests.conftest import copy_site_mapping

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_exports"
SITES = ("site_edc", "site_redcap", "site_fhir")
#: the FHIR sample holds the same resources twice (bundles/ and bulk/); ingest one form
EXPORT_OF = {"site_edc": SAMPLE / "site_edc", "site_redcap": SAMPLE / "site_redcap",
             "site_fhir": SAMPLE / "site_fhir" / "bulk"}
RECEIVED = "2023-07-01T00:00:00Z"
#: a recognisable secret: tests grep every output for it
SECRET = b"CARTREG-TEST-SITE-SECRET-9f4e2d7c1b8a6053"
KEY_VERSION = "2024-test"
MRN_SYSTEM = "https://hospital.example.org/sid/mrn"


def site_key(secret: bytes = SECRET, version: str = KEY_VERSION) -> SiteKey:
    return SiteKey(secret, version)


def secret_forms(secret: bytes = SECRET) -> list[bytes]:
    """The secret as text, hex and base64 (each case), to grep for."""
    forms = [secret, secret.hex().encode(), secret.hex().upper().encode(),
             base64.b64encode(secret), base64.urlsafe_b64encode(secret),
             base64.b32encode(secret), secret.lower(), secret.upper()]
    # also a long inner piece, in case a writer cut or wrapped it
    forms.append(secret[4:-4])
    return forms


def set_site(project: Project, site: str, *, policy: str = "per_patient_shift",
             version: str | None = KEY_VERSION, deidentify: dict[str, Any] | None = None,
             reader_extra: dict[str, Any] | None = None) -> None:
    """Rewrite a site's site.yaml: date policy, key version, deidentify section."""
    path = project.site_mapping_dir(site) / "site.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["site"]["date_shift_policy"] = policy
    data["site"]["pseudonym_key_version"] = version
    if deidentify is not None:
        data["deidentify"] = deidentify
    for source, extra in (reader_extra or {}).items():
        data["reader"]["sources"][source].update(extra)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def make_project(root: Path, *, policy: str = "per_patient_shift",
                 sites: tuple[str, ...] = SITES) -> Project:
    """A project with the repository's mappings; the given sites shift dates."""
    (root / "mappings").mkdir(parents=True, exist_ok=True)
    for name in ("registry.yaml", "constructs.yaml"):
        shutil.copy(REPO / "mappings" / name, root / "mappings" / name)
    for site in SITES:
        copy_site_mapping(site, root / "mappings")
    project = Project.find(root)
    if policy != "none":
        for site in sites:
            set_site(project, site, policy=policy)
    return project


# ----------------------------------------------------------------------- identifier-bearing
def person(i: int) -> dict[str, str]:
    """A fake person whose every field is easy to grep for."""
    return {"mrn": f"MRN-{4700000 + i}", "first": f"Zephyrine{i:03d}",
            "last": f"Quillfeather{i:03d}", "phone": f"+1-555-01{i:04d}"}


def identified_edc(dest: Path) -> list[dict[str, str]]:
    """The EDC sample plus MRN, FIRST_NAME, LAST_NAME and PHONE columns in patients.csv."""
    shutil.copytree(SAMPLE / "site_edc", dest)
    path = dest / "patients.csv"
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("latin-1"), newline=""),
                           delimiter=";"))
    people = []
    out = io.StringIO()
    w = csv.writer(out, delimiter=";", lineterminator="\r\n")
    w.writerow([*rows[0], "MRN", "FIRST_NAME", "LAST_NAME", "PHONE"])
    for i, r in enumerate(rows[1:]):
        p = person(i) | {"id": r[0], "dob": r[2]}
        people.append(p)
        w.writerow([*r, p["mrn"], p["first"], p["last"], p["phone"]])
    path.write_bytes(out.getvalue().encode("latin-1"))
    return people


def identified_redcap(dest: Path) -> list[dict[str, str]]:
    """The REDCap sample plus mrn, first_name, last_name fields flagged as identifiers in
    the dictionary (REDCap's own "Identifier?" column) and filled on demographics rows."""
    shutil.copytree(SAMPLE / "site_redcap", dest)
    dpath = dest / "CARTRegistry_DataDictionary.csv"
    drows = list(csv.reader(io.StringIO(dpath.read_text(encoding="utf-8"), newline="")))
    header = drows[0]
    blank = [""] * len(header)
    new_fields = []
    for name, label in (("mrn", "Medical record number"), ("first_name", "First name"),
                        ("last_name", "Last name")):
        row = list(blank)
        row[0], row[1], row[3], row[4] = name, "demographics", "text", label
        row[header.index("Identifier?")] = "y"
        new_fields.append(row)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([drows[0], drows[1], *new_fields, *drows[2:]])
    dpath.write_text(buf.getvalue(), encoding="utf-8")
    rpath = dest / "CARTRegistry_DATA.csv"
    rows = list(csv.reader(io.StringIO(rpath.read_text(encoding="utf-8"), newline="")))
    h = rows[0]
    sex, dob = h.index("sex"), h.index("dob")
    people: list[dict[str, str]] = []
    out_rows = [[*h[:4], "mrn", "first_name", "last_name", *h[4:]]]
    for r in rows[1:]:
        ids = ["", "", ""]
        if r[sex]:
            p = person(len(people)) | {"id": r[0], "dob": r[dob]}
            people.append(p)
            ids = [p["mrn"], p["first"], p["last"]]
        out_rows.append([*r[:4], *ids, *r[4:]])
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(out_rows)
    rpath.write_text(buf.getvalue(), encoding="utf-8")
    return people


def identified_fhir(dest: Path, *, form: str = "bulk") -> list[dict[str, str]]:
    """The FHIR sample (one form) with Patient.name, an MRN identifier, telecom, address, a
    narrative and a reference display naming the patient."""
    src = SAMPLE / "site_fhir" / form
    shutil.copytree(src, dest)
    people: list[dict[str, str]] = []

    def enrich(res: dict[str, Any]) -> dict[str, Any]:
        if res.get("resourceType") == "Patient":
            p = person(len(people)) | {"id": res["id"], "dob": res.get("birthDate", "")}
            people.append(p)
            res["name"] = [{"family": p["last"], "given": [p["first"]]}]
            res["identifier"] = [*res.get("identifier", []),
                                 {"system": MRN_SYSTEM, "value": p["mrn"]}]
            res["telecom"] = [{"system": "phone", "value": p["phone"]}]
            res["address"] = [{"line": [f"{p['last']} Lane 1"], "postalCode": "02115"}]
            res["text"] = {"status": "generated",
                           "div": f"<div xmlns=\"http://www.w3.org/1999/xhtml\">{p['first']} "
                                  f"{p['last']}, {p['mrn']}</div>"}
        return res

    if form == "bulk":
        pat = dest / "Patient.ndjson"
        lines = [enrich(json.loads(line)) for line in pat.read_text().splitlines() if line]
        pat.write_text("".join(json.dumps(x) + "\n" for x in lines))
        names = {p["id"]: p for p in people}
        obs = dest / "Observation.ndjson"
        out = []
        for line in obs.read_text().splitlines():
            res = json.loads(line)
            ref = res.get("subject", {}).get("reference", "")
            pid = ref.split("/", 1)[-1]
            if pid in names:
                res["subject"]["display"] = f"{names[pid]['first']} {names[pid]['last']}"
            out.append(json.dumps(res))
        obs.write_text("\n".join(out) + "\n")
    else:
        for f in sorted(dest.glob("*.json")):
            doc = json.loads(f.read_text())
            for e in doc.get("entry", []):
                enrich(e["resource"])
            f.write_text(json.dumps(doc))
    return people


def all_bytes(folder: Path) -> bytes:
    """Every file under a folder, concatenated (gzip members decompressed)."""
    import gzip

    parts = []
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            data = p.read_bytes()
            parts.append(gzip.decompress(data) if p.name.endswith(".gz") else data)
    return b"\n".join(parts)


def crosswalk(path: Path) -> dict[str, dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return {r["original_id"]: r for r in csv.DictReader(fh)}


# ----------------------------------------------------------------------- a tiny CSV site
TINY_SITE = """\
mapping_version: "t1"
site:
  site_id: site_tiny
  export_format: csv_other
  date_shift_policy: per_patient_shift
  pseudonym_key_version: "2024-test"
  data_cutoff_date: 2023-06-30
reader:
  kind: csv
  delimiter: ","
  missing_codes: [UNK]
  sources:
    patients: {files: [patients.csv]}
    infusions: {files: [infusions.csv], allow_empty: true}
    followup: {files: [followup.csv]}
defaults:
  date_formats: ["%d/%m/%Y", "%Y-%m-%d"]
"""
TINY_TABLES = {
    "patient": """\
table: patient
rules:
  - id: patients
    source: patients
    columns:
      patient_id: {op: patient_id, from: pid}
      sex: {op: map_values, from: sex, values: {F: female, M: male}}
      birth_date:
        {op: parse_date, from: dob, formats: ["%d/%m/%Y"], partial: mid, excel_serial: true}
      diagnosis_date: dx
      registry_status: {op: constant, value: included}
""",
    "cart_infusion": """\
table: cart_infusion
rules:
  - id: infusions
    source: infusions
    columns:
      infusion_id: {op: surrogate_key, method: join, from: [pid, n]}
      patient_id: {op: patient_id, from: pid}
      construct_id: {op: lookup_construct, from: product}
      infusion_date: date
      infusion_intent: {op: constant, value: initial}
""",
    "follow_up": """\
table: follow_up
rules:
  - id: followup
    source: followup
    columns:
      patient_id: {op: patient_id, from: pid}
      last_contact_date: last
      vital_status: {op: map_values, from: vital, values: {A: alive, D: dead}}
""",
    "death": """\
table: death
rules:
  - id: death
    source: followup
    where: [{field: vital, equals: D}]
    columns:
      patient_id: {op: patient_id, from: pid}
      death_date: last
      primary_cause: {op: constant, value: other}
      cause_detail: detail
""",
}
TINY_DATA = {
    "patients.csv": "pid,sex,dob,dx\n"
                    "P1,F,01/01/1920,2014-05-02\n"       # 96 at last contact: capped
                    "P2,M,06/2010,UNK\n"                  # partial date (mid), missing code
                    "P3,F,31/02/2011,2019-01-02\n"       # impossible date: emptied
                    "P4,M,43831,2021-01-01\n",           # Excel serial (2020-01-01)
    "infusions.csv": "pid,n,product,date\n"
                     "P1,1,tisa-cel,2015-03-01\n"
                     "P2,1,tisa-cel,02/03/2020\n"
                     "P3,1,tisa-cel,2021-04-05\n"
                     ",9,tisa-cel,2021-04-06\n",          # no patient: the date is emptied
    "followup.csv": "pid,last,vital,detail\n"
                    "P1,2016-06-01,D,\"Died at home, see letter from Dr. Quillfeather\"\n"
                    "P2,2023-01-01,A,\n"
                    "P3,2023-02-02,A,\n"
                    "P4,2023-03-03,A,\n",
}


def tiny_site(root: Path, data: dict[str, str] | None = None,
              site_yaml: str = TINY_SITE) -> tuple[Project, Path]:
    """(project, export folder) of the tiny CSV site used for date and refusal rules."""
    project = make_project(root / "proj", policy="none", sites=())
    folder = project.mappings_dir / "site_tiny"
    folder.mkdir()
    (folder / "site.yaml").write_text(site_yaml)
    for table, text in TINY_TABLES.items():
        (folder / f"{table}.yaml").write_text(text)
    export = root / "export"
    export.mkdir()
    for name, text in (data or TINY_DATA).items():
        (export / name).write_text(text)
    return project, export
