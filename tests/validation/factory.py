"""Small hand-made canonical submissions for the validation tests.

A site's data is a dict of canonical rows per table (business columns only). ``write_submission``
writes them the way the ingest would: a REDCap-like CSV per table in an export folder (the
site's own field names are ``<prefix><column>``), canonical Parquet whose provenance columns
point at that CSV (file, 1-based data row, REDCap record/event/instrument/instance), and a
manifest with files, ledger and lineage (canonical column -> mapping rule + source field).
So a test can follow an issue back to the cell in the site's file.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import hashlib
import shutil
from pathlib import Path
from typing import Any

import polars as pl

from cart_registry.canonical.issues import issues_table
from cart_registry.canonical.store import SubmissionRef, SubmissionWriter, get_submission
from cart_registry.project import Project
from cart_registry.standard.derive import polars_schema

D = dt.date
Rows = dict[str, list[dict[str, Any]]]

CONSTRUCTS_YAML = """\
constructs:
  - {construct_id: tisa-cel, construct_name: tisagenlecleucel, product_type: commercial,
     target_antigens: [CD19], target_design: single, costim_domain: 4-1BB,
     binder_origin: murine, vector: lentiviral}
  - {construct_id: cd22-41bb, construct_name: CD22 CAR, product_type: investigational,
     target_antigens: [CD22], target_design: single, costim_domain: 4-1BB,
     binder_origin: fully_human, vector: lentiviral, nct_id: NCT02315612}
  - {construct_id: cd19x22-bi, construct_name: CD19/CD22 bicistronic, product_type: investigational,
     target_antigens: [CD19, CD22], target_design: bicistronic, costim_domain: 4-1BB,
     binder_origin: humanized, vector: lentiviral}
"""

#: the REDCap instrument each table comes from (the site's form names)
INSTRUMENT = {
    "patient": "enrolment", "cart_infusion": "cart_infusion", "lymphodepletion": "ld",
    "disease_assessment": "response", "antigen_expression": "immunophenotype",
    "relapse": "relapse", "toxicity_event": "toxicity", "hsct": "hsct",
    "antileukemic_therapy": "therapy", "death": "death", "follow_up": "follow_up",
}
#: tables whose rows repeat per patient (REDCap repeating instruments)
REPEATING = {"cart_infusion", "lymphodepletion", "disease_assessment", "antigen_expression",
             "relapse", "toxicity_event", "hsct", "antileukemic_therapy"}


def make_project(root: Path, repo_root: Path) -> Project:
    (root / "mappings").mkdir(parents=True, exist_ok=True)
    shutil.copy(repo_root / "mappings" / "registry.yaml", root / "mappings" / "registry.yaml")
    (root / "mappings" / "constructs.yaml").write_text(CONSTRUCTS_YAML, encoding="utf-8")
    return Project.find(root)


def clean_site(site_id: str, n_patients: int = 6) -> Rows:
    """A consistent site: CART-A then CART-B for every patient, no defect of any rule."""
    rows: Rows = {t: [] for t in INSTRUMENT}
    rows["site"] = [{
        "site_id": site_id, "site_label": site_id.upper(), "country": "US",
        "export_format": "redcap_csv", "date_shift_policy": "none",
        "pseudonym_key_version": None, "data_cutoff_date": D(2023, 6, 30),
    }]
    for k in range(1, n_patients + 1):
        pid = f"{site_id}-P{k:03d}"
        # patient 1 is a young child (CAPD), the others adolescents (ICE)
        # sites differ by a few months so that no two sites share a patient by accident
        off = dt.timedelta(days=45 * (sum(map(ord, site_id)) % 7))
        years = dt.timedelta(days=366 * (sum(map(ord, site_id)) % 3))
        birth = D(2014, 2, 1) - years if k == 1 else D(1998 + k % 6, 3, 1) + dt.timedelta(days=k) - years
        dx = D(2018, 5, 1) + dt.timedelta(days=10 * k) + off
        a = D(2020, 3, 2) + dt.timedelta(days=7 * k) + off
        b = a + dt.timedelta(days=200)
        rows["patient"].append({
            "patient_id": pid, "sex": "female" if k % 2 else "male", "birth_date": birth,
            "diagnosis_date": dx, "diagnosis_snomed": "277571004", "diagnosis_icd10cm": "C91.00",
            "cytogenetic_lesions": ["none"], "down_syndrome": False,
            "prior_blinatumomab": k % 3 == 0, "prior_inotuzumab": False, "prior_hsct_count": 0,
            "registry_status": "included",
        })
        rows["antileukemic_therapy"].append({
            "therapy_id": f"{pid}-T1", "patient_id": pid, "therapy_class": "chemotherapy",
            "intent": "bridging", "start_date": a - dt.timedelta(days=30),
            "end_date": a - dt.timedelta(days=20),
        })
        infusions = [(f"{pid}-I1", "tisa-cel", a, "initial"), (f"{pid}-I2", "cd22-41bb", b, "initial")]
        if k == 2:
            infusions.insert(1, (f"{pid}-I1R", "tisa-cel", a + dt.timedelta(days=90),
                                 "reinfusion_bcell_recovery"))
        for iid, construct, day, intent in infusions:
            rows["cart_infusion"].append({
                "infusion_id": iid, "patient_id": pid, "construct_id": construct,
                "infusion_date": day, "infusion_intent": intent, "split_dose": False,
                "dose_car_pos_per_kg_e6": 2.0, "dose_total_car_pos_e8": 0.8, "weight_kg": 40.0,
                "bm_blast_pct_pre": 12.0, "mrd_pre_result": "positive", "cns_status_pre": "cns1",
                "out_of_spec": False,
            })
            if intent == "initial":
                rows["lymphodepletion"].append({
                    "ld_id": f"{iid}-LD", "patient_id": pid, "infusion_id": iid,
                    "regimen": "flu_cy", "start_date": day - dt.timedelta(days=5),
                    "fludarabine_total_mg_m2": 90.0, "cyclophosphamide_total_mg_m2": 1000.0,
                })
        for n, day in enumerate([a, b], start=1):
            rows["disease_assessment"].append({
                "assessment_id": f"{pid}-A{n}0", "patient_id": pid,
                "assessment_date": day - dt.timedelta(days=12), "specimen": "bone_marrow",
                "bm_blast_pct": 30.0, "mrd_method": "flow", "mrd_value": 0.2,
                "mrd_result": "positive", "cns_status": "cns1", "extramedullary_disease": False,
                "count_recovery": "unknown", "bcell_aplasia": "unknown", "response": None,
            })
            rows["disease_assessment"].append({
                "assessment_id": f"{pid}-A{n}1", "patient_id": pid,
                "assessment_date": day + dt.timedelta(days=28), "specimen": "bone_marrow",
                "bm_blast_pct": 1.0, "mrd_method": "flow", "mrd_value": 0.00001,
                "mrd_result": "negative", "cns_status": "cns1", "extramedullary_disease": False,
                "count_recovery": "full", "bcell_aplasia": "present", "response": "cr_mrd_neg",
            })
        rows["antigen_expression"] += [
            {"expr_id": f"{pid}-E1", "patient_id": pid, "sample_date": dx, "timepoint": "diagnosis",
             "antigen": "CD19", "method": "flow", "status": "positive", "pct_positive": 98.0,
             "antigen_density": None},
            {"expr_id": f"{pid}-E2", "patient_id": pid, "sample_date": b - dt.timedelta(days=12),
             "timepoint": "pre_infusion", "antigen": "CD19", "method": "flow",
             "status": "negative", "pct_positive": 2.0, "antigen_density": None},
        ]
        relapse_day = a + dt.timedelta(days=150)
        rows["relapse"].append({
            "relapse_id": f"{pid}-R1", "patient_id": pid, "relapse_date": relapse_day,
            "relapse_site": "bone_marrow", "detection_method": "morphologic",
            "relapse_level": "hematologic", "lineage": "b_lymphoid",
        })
        rows["antigen_expression"].append({
            "expr_id": f"{pid}-E3", "patient_id": pid, "sample_date": relapse_day,
            "timepoint": "relapse", "antigen": "CD19", "method": "flow", "status": "negative",
            "pct_positive": 1.0, "antigen_density": None,
        })
        tox = {c: None for c in TOX_COLUMNS}
        rows["toxicity_event"].append(dict(
            tox, tox_id=f"{pid}-X1", patient_id=pid, infusion_id=f"{pid}-I1", tox_type="crs",
            onset_date=a + dt.timedelta(days=2), resolution_date=a + dt.timedelta(days=7),
            grade_reported=2, grading_scale="astct_2019", grading_scale_version="2019",
            fever=True, temp_max_c=39.2, anticytokine_or_antipyretic=True, hypotension=True,
            fluids_only=True, vasopressors_max=0, vasopressin_only=False, o2_support_max="none",
            tocilizumab_doses=1, corticosteroids=False, icu_admission=False, fatal=False,
        ))
        child = k == 1
        rows["toxicity_event"].append(dict(
            tox, tox_id=f"{pid}-X2", patient_id=pid, infusion_id=f"{pid}-I2", tox_type="icans",
            onset_date=b + dt.timedelta(days=5), resolution_date=b + dt.timedelta(days=9),
            grade_reported=1, grading_scale="astct_2019", grading_scale_version="2019",
            ice_min=None if child else 8, capd_max=5 if child else None,
            consciousness_worst="spontaneous", seizure_worst="none",
            deep_focal_motor_weakness=False, cerebral_edema="none", corticosteroids=False,
            icu_admission=False, fatal=False,
        ))
        if k == n_patients:  # the last patient died of relapse after CART-B
            death_day = b + dt.timedelta(days=300)
            rows["death"].append({"patient_id": pid, "death_date": death_day,
                                  "primary_cause": "relapse_progression",
                                  "cause_detail": "=HYPERLINK(\"x\") progressive disease <b>"})
            rows["follow_up"].append({"patient_id": pid, "last_contact_date": death_day,
                                      "vital_status": "dead", "last_disease_status": "not_cr"})
        else:
            rows["follow_up"].append({"patient_id": pid, "last_contact_date": D(2023, 5, 31),
                                      "vital_status": "alive", "last_disease_status": "cr"})
    return rows


TOX_COLUMNS = (
    "tox_id", "patient_id", "infusion_id", "tox_type", "onset_date", "resolution_date",
    "grade_reported", "grading_scale", "grading_scale_version", "fever", "temp_max_c",
    "anticytokine_or_antipyretic", "hypotension", "fluids_only", "vasopressors_max",
    "vasopressin_only", "o2_support_max", "fio2_max_pct", "ice_min", "capd_max",
    "consciousness_worst", "seizure_worst", "deep_focal_motor_weakness", "cerebral_edema",
    "tocilizumab_doses", "corticosteroids", "icu_admission", "fatal",
)


def field_name(table: str, column: str) -> str:
    """The site's own name of a canonical column (as a REDCap field would be named)."""
    return f"{INSTRUMENT.get(table, table)[:4]}_{column}"


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, list):
        return "|".join(v)
    return str(v)


def find(rows: Rows, table: str, **match: Any) -> dict[str, Any]:
    for r in rows[table]:
        if all(r.get(k) == v for k, v in match.items()):
            return r
    raise KeyError((table, match))


def write_submission(
    project: Project,
    site_id: str,
    rows: Rows,
    export_dir: Path,
    *,
    received_at: str = "2023-07-01T00:00:00Z",
    ingest_issues: list[dict[str, Any]] | None = None,
) -> SubmissionRef:
    rows = copy.deepcopy(rows)
    export_dir.mkdir(parents=True, exist_ok=True)
    standard = project.standard()
    files, ledger, lineage = [], [], []
    frames: dict[str, pl.DataFrame] = {}
    for tname, trows in rows.items():
        table = standard.table(tname)
        business = [c.name for c in table.business_columns]
        fname = f"{INSTRUMENT.get(tname, tname)}.csv"
        path = export_dir / fname
        fields = ["record_id", "redcap_event_name", "redcap_repeat_instrument",
                  "redcap_repeat_instance"] + [field_name(tname, c) for c in business]
        with path.open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(fields)
            for i, r in enumerate(trows, start=1):
                rec = (r.get("patient_id") or r.get("site_id") or "").split("-", 1)[-1]
                inst = i if tname in REPEATING else ""
                w.writerow([rec, "baseline_arm_1", INSTRUMENT.get(tname, "") if inst else "",
                            inst] + [_text(r.get(c)) for c in business])
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        files.append({"path": fname, "sha256": sha})
        ledger.append({"source_file": fname, "sha256": sha, "rows_read": len(trows),
                       "rows_mapped": len(trows), "rows_quarantined": 0, "rows_ignored": 0})
        rule = f"{site_id}.{tname}"
        for c in business:
            lineage.append({"table": tname, "column": c, "mapping_rule": rule,
                            "source_fields": [field_name(tname, c)]})
        out = []
        for i, r in enumerate(trows, start=1):
            rec = (r.get("patient_id") or r.get("site_id") or "").split("-", 1)[-1]
            key = f"record={rec}|event=baseline_arm_1|instrument={INSTRUMENT.get(tname, tname)}"
            key += f"|instance={i}" if tname in REPEATING else ""
            full = {c: r.get(c) for c in business}
            if table.name != "site":
                full.update(site_id=site_id, submission_id="x", source_file=fname,
                            source_sha256=sha, source_row=i, source_key=key, mapping_rule=rule)
            out.append(full)
        frames[tname] = pl.DataFrame(out, schema=polars_schema(table), orient="row") if out else (
            pl.DataFrame(schema=polars_schema(table)))
    h = hashlib.sha256(site_id.encode())
    for f in files:
        h.update(f"{f['path']}{f['sha256']}".encode())
    sub = f"{site_id}-{h.hexdigest()[:12]}"
    w = SubmissionWriter(project, site_id, sub)
    for tname, frame in frames.items():
        w.write_table(standard.table(tname), frame)
    issues = [dict(i, site_id=site_id, submission_id=sub) for i in ingest_issues or []]
    w.write_issues(issues_table(issues))
    w.commit({"received_at": received_at, "source_format": "redcap_csv", "files": files,
              "ledger": ledger, "lineage": lineage, "export_dir": str(export_dir)})
    return get_submission(project, site_id, sub)
