"""The "other EDC" site: one CSV per form, its own column names and codes.

Files (sample_exports/site_edc/), all ``;``-delimited, Latin-1 (ISO-8859-1), CRLF line ends,
dates ``dd/mm/yyyy``, empty cell = not recorded, booleans ``O``/``N`` (oui/non):

- ``patients.csv``, ``infusions.csv`` (lymphodepletion in the same row; the dose is the
  total CAR+ cell count, with the weight), ``toxicities.csv`` (linked to ``INF_NO``;
  temperature in °F; episodes before 2019 graded Lee 2014 with FiO2 instead of the oxygen
  device), ``assessments.csv`` (MRD as a fraction in scientific notation),
  ``antigens.csv`` (wide: one row per sample, one status/percent pair per antigen),
  ``relapses.csv``, ``transplants.csv``, ``therapies.csv``, ``followup.csv`` (death in the
  same row), and ``codelists.csv`` (code → label, with accented French labels).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from cart_registry.synth.catalog import LOCAL_PRODUCT_CODES, LOCAL_PRODUCT_LABELS, SITE_EDC
from cart_registry.synth.files import CsvFile, Index, Located, SiteExport
from cart_registry.synth.site_view import edc_mrd, edc_temp_f, fmt_num
from cart_registry.synth.truth import Truth

ENC = "latin-1"
NL = "\r\n"
SEP = ";"

# canonical value -> site code, per column; also written to codelists.csv with labels
CODES: dict[str, dict[str, tuple[str, str]]] = {
    "SEX": {"female": ("F", "Féminin"), "male": ("M", "Masculin"), "other": ("A", "Autre"),
            "unknown": ("I", "Inconnu")},
    "STATUS": {"screened": ("SCR", "Présélectionné"), "included": ("INC", "Inclus"),
               "excluded": ("EXC", "Exclu")},
    "CYTOGENETICS": {
        "KMT2A_r": ("KMT2A", "Réarrangement KMT2A"), "BCR_ABL1": ("BCR-ABL1", "BCR-ABL1"),
        "TCF3_PBX1": ("TCF3-PBX1", "TCF3-PBX1"), "ETV6_RUNX1": ("ETV6-RUNX1", "ETV6-RUNX1"),
        "hypodiploid": ("HYPODIPLO", "Hypodiploïdie"), "iAMP21": ("IAMP21", "iAMP21"),
        "other": ("AUTRE", "Autre anomalie"), "none": ("AUCUNE", "Aucune anomalie"),
        "unknown": ("INC", "Inconnu"),
    },
    "PRODUCT_CODE": {cid: (code, LOCAL_PRODUCT_LABELS[cid])
                     for cid, code in LOCAL_PRODUCT_CODES[SITE_EDC].items()},
    "INF_REASON": {
        "initial": ("INIT", "Première injection du produit"),
        "reinfusion_bcell_recovery": ("REINJ-LB", "Réinjection : récupération des lymphocytes B"),
        "reinfusion_mrd_or_relapse": ("REINJ-MRD", "Réinjection : MRD ou rechute"),
        "reinfusion_nonresponse": ("REINJ-NR", "Réinjection : non-réponse"),
        "other": ("AUTRE", "Autre"),
    },
    "MRD_PRE": {"negative": ("NEG", "Négative"), "positive": ("POS", "Positive"),
                "unknown": ("INC", "Inconnue")},
    "CNS_PRE": {"cns1": ("SNC1", "SNC1"), "cns2": ("SNC2", "SNC2"), "cns3": ("SNC3", "SNC3"),
                "unknown": ("INC", "Inconnu")},
    "LD_REGIMEN": {"flu_cy": ("FLU-CY", "Fludarabine + cyclophosphamide"),
                   "cy_only": ("CY", "Cyclophosphamide seule"),
                   "flu_only": ("FLU", "Fludarabine seule"), "other": ("AUTRE", "Autre schéma")},
    "SPECIMEN": {"bone_marrow": ("MO", "Moelle osseuse"), "peripheral_blood": ("SP",
                                                                             "Sang périphérique"),
                 "csf": ("LCR", "Liquide céphalo-rachidien"),
                 "extramedullary": ("EM", "Extramédullaire")},
    "MRD_METHOD": {"flow": ("CMF", "Cytométrie en flux"), "ngs_ig_tcr": ("NGS", "NGS IG/TCR"),
                   "qpcr": ("PCR", "PCR quantitative"), "none": ("NF", "Non fait")},
    "MRD_RESULT": {"negative": ("NEG", "Négative"), "positive": ("POS", "Positive"),
                   "indeterminate": ("IND", "Indéterminée"), "not_done": ("NF", "Non faite")},
    "CNS": {"cns1": ("SNC1", "SNC1"), "cns2": ("SNC2", "SNC2"), "cns3": ("SNC3", "SNC3"),
            "not_done": ("NF", "Non fait")},
    "COUNT_RECOVERY": {"full": ("COMPLETE", "Récupération complète"),
                       "incomplete": ("INCOMPLETE", "Récupération incomplète"),
                       "unknown": ("INC", "Inconnue")},
    "B_APLASIA": {"present": ("O", "Oui"), "absent": ("N", "Non"), "unknown": ("INC", "Inconnu")},
    "RESPONSE": {
        "cr_mrd_neg": ("RC-MRDNEG", "Rémission complète, MRD négative"),
        "cr_mrd_pos": ("RC-MRDPOS", "Rémission complète, MRD positive"),
        "cr_mrd_unknown": ("RC-MRDINC", "Rémission complète, MRD inconnue"),
        "cri": ("RCI", "Rémission complète, récupération incomplète"),
        "pr": ("RP", "Réponse partielle"), "nr": ("NR", "Non-réponse"),
        "pd": ("PROG", "Progression"), "ne": ("NE", "Non évaluable"),
    },
    "TIMEPOINT": {"diagnosis": ("DIAG", "Diagnostic"), "pre_infusion": ("PRE", "Avant injection"),
                  "relapse": ("RECH", "Rechute"), "other": ("AUTRE", "Autre")},
    "METHOD": {"flow": ("CMF", "Cytométrie en flux"), "ihc": ("IHC", "Immunohistochimie")},
    "ANTIGEN_STATUS": {"positive": ("POS", "Positif"), "dim": ("FAIBLE", "Faible (dim)"),
                       "partial": ("PART", "Partiel"), "negative": ("NEG", "Négatif"),
                       "not_tested": ("NF", "Non testé")},
    "TOX_TYPE": {"crs": ("SRC", "Syndrome de relargage cytokinique"),
                 "icans": ("ICANS", "Neurotoxicité (ICANS)"), "iec_hs": ("IEC-HS", "IEC-HS"),
                 "other": ("AUTRE", "Autre")},
    "SCALE": {"astct_2019": ("ASTCT", "Consensus ASTCT 2019"),
              "lee_2014": ("LEE2014", "Lee 2014 (NCI)"), "penn": ("PENN", "Penn"),
              "mskcc": ("MSKCC", "MSKCC"), "cartox": ("CARTOX", "CARTOX"),
              "ctcae_v4": ("CTCAE4", "CTCAE v4"), "ctcae_v5": ("CTCAE5", "CTCAE v5"),
              "other": ("AUTRE", "Autre"), "unknown": ("INC", "Inconnue")},
    "O2_DEVICE": {"none": ("AUCUN", "Aucun"), "low_flow_le6": ("LD", "Lunettes <= 6 L/min"),
                  "high_flow_gt6_or_mask": ("HD", "Haut débit > 6 L/min ou masque"),
                  "positive_pressure": ("VNI", "Ventilation non invasive (CPAP/BiPAP)"),
                  "mechanical_ventilation": ("VM", "Ventilation mécanique"),
                  "unknown": ("INC", "Inconnu")},
    "LOC": {"spontaneous": ("SPONT", "Éveil spontané"), "voice": ("VOIX", "Éveil à la voix"),
            "tactile": ("TACT", "Éveil au toucher"), "unarousable": ("AREACT", "Aréactif"),
            "unknown": ("INC", "Inconnu")},
    "SEIZURE": {"none": ("AUCUNE", "Aucune"),
                "resolved_or_nonconvulsive_treated": ("BREVE", "Brève ou non convulsive traitée"),
                "prolonged_or_repetitive": ("PROL", "Prolongée ou répétée"),
                "unknown": ("INC", "Inconnue")},
    "EDEMA": {"none": ("AUCUN", "Aucun"), "focal": ("FOCAL", "Focal"),
              "diffuse_or_signs": ("DIFFUS", "Diffus ou signes d'HTIC"),
              "unknown": ("INC", "Inconnu")},
    "THERAPY": {"chemotherapy": ("CHIMIO", "Chimiothérapie"), "blinatumomab": ("BLINA",
                                                                              "Blinatumomab"),
                "inotuzumab": ("INO", "Inotuzumab ozogamicine"), "tki": ("ITK", "Inhibiteur de "
                                                                        "tyrosine kinase"),
                "radiotherapy": ("RADIO", "Radiothérapie"), "intrathecal_only": ("IT",
                                                                                "Intrathécale "
                                                                                "seule"),
                "other": ("AUTRE", "Autre")},
    "INTENT": {"bridging": ("PONT", "Traitement d'attente (bridging)"),
               "interval": ("INTERV", "Entre deux CAR T"), "maintenance": ("ENTRET", "Entretien"),
               "relapse_treatment": ("RECH", "Traitement de rechute"), "other": ("AUTRE", "Autre")},
    "RELAPSE_SITE": {"bone_marrow": ("MO", "Moelle osseuse"), "cns": ("SNC", "Système nerveux "
                                                                           "central"),
                     "combined": ("COMB", "Combinée"), "other_extramedullary": ("EM",
                                                                                "Extramédullaire")},
    "DETECTION": {"morphologic": ("MORPHO", "Morphologie"), "flow_mrd": ("CMF", "MRD par CMF"),
                  "molecular_mrd": ("MOLEC", "MRD moléculaire"),
                  "cytogenetic": ("CYTOGEN", "Cytogénétique"), "clinical": ("CLIN", "Clinique")},
    "LEVEL": {"hematologic": ("HEMATO", "Hématologique"), "mrd_only": ("MRD", "MRD seule")},
    "LINEAGE": {"b_lymphoid": ("B", "Lymphoïde B"), "myeloid": ("MYELO", "Myéloïde"),
                "mixed": ("MIXTE", "Phénotype mixte"), "t_lymphoid": ("T", "Lymphoïde T"),
                "unknown": ("INC", "Inconnue")},
    "HSCT_TYPE": {"allogeneic": ("ALLO", "Allogreffe"), "autologous": ("AUTO", "Autogreffe")},
    "DONOR": {"msd": ("GENO", "Géno-identique"), "mud": ("PHENO", "Phéno-identique 10/10"),
              "mmud": ("PHENO-MM", "Non apparenté mismatch"), "haplo": ("HAPLO", "Haplo-identique"),
              "cord": ("USP", "Sang placentaire"), "other": ("AUTRE", "Autre"),
              "unknown": ("INC", "Inconnu")},
    "STATUS_AT_HSCT": {"cr_mrd_neg": ("RC-MRDNEG", "RC MRD négative"),
                       "cr_mrd_pos": ("RC-MRDPOS", "RC MRD positive"),
                       "cr_mrd_unknown": ("RC-MRDINC", "RC MRD inconnue"),
                       "not_in_cr": ("NON-RC", "Pas en RC"), "unknown": ("INC", "Inconnu")},
    "VITAL_STATUS": {"alive": ("VIVANT", "Vivant"), "dead": ("DECEDE", "Décédé")},
    "DISEASE_STATUS": {"cr": ("RC", "En rémission complète"), "not_cr": ("NON-RC",
                                                                        "Pas en RC"),
                       "unknown": ("INC", "Inconnu")},
    "DEATH_CAUSE": {"relapse_progression": ("PROG", "Rechute / progression"),
                    "crs": ("SRC", "SRC"), "icans": ("ICANS", "ICANS"), "iec_hs": ("IEC-HS",
                                                                                   "IEC-HS"),
                    "infection": ("INFECT", "Infection"), "gvhd": ("GVH", "Maladie du greffon"),
                    "organ_failure": ("DEF-ORG", "Défaillance d'organe"),
                    "hsct_related_other": ("TCSH", "Autre complication de greffe"),
                    "other": ("AUTRE", "Autre"), "unknown": ("INC", "Inconnue")},
}
BOOL = {True: "O", False: "N"}

#: file -> (columns, canonical table it mainly carries)
FILES: dict[str, list[str]] = {
    "patients.csv": ["SUBJID", "SEX", "BIRTH_DATE", "DIAG_DATE", "ICD10", "CYTOGENETICS",
                     "TRISOMY21", "PRIOR_BLINA", "PRIOR_INO", "N_PRIOR_HSCT", "STATUS"],
    "infusions.csv": ["SUBJID", "INF_NO", "CAR_LINE", "PRODUCT_CODE", "INF_DATE", "INF_REASON",
                      "WEIGHT_KG", "TOTAL_CAR_CELLS", "BM_BLASTS_PRE", "MRD_PRE", "CNS_PRE",
                      "OOS", "LD_REGIMEN", "LD_START", "FLU_TOTAL_MG_M2", "CY_TOTAL_MG_M2"],
    "toxicities.csv": ["SUBJID", "INF_NO", "TOX_TYPE", "ONSET_DATE", "RESOLUTION_DATE", "GRADE",
                       "SCALE", "TMAX_F", "FEVER", "TREATED", "HYPOTENSION", "FLUIDS_ONLY",
                       "N_VASOPRESSORS", "VASOPRESSIN_ONLY", "O2_DEVICE", "FIO2_PCT", "ICE",
                       "CAPD", "LOC", "SEIZURE", "MOTOR_WEAKNESS", "EDEMA", "TOCI_DOSES",
                       "STEROIDS", "ICU", "FATAL"],
    "assessments.csv": ["SUBJID", "ASSESS_DATE", "SPECIMEN", "BLASTS_PCT", "MRD_METHOD",
                        "MRD_LEVEL", "MRD_RESULT", "CNS", "EMD", "COUNT_RECOVERY", "B_APLASIA",
                        "RESPONSE"],
    "antigens.csv": ["SUBJID", "SAMPLE_DATE", "TIMEPOINT", "METHOD", "CD19", "CD19_PCT", "CD22",
                     "CD22_PCT", "CD20", "CD20_PCT"],
    "relapses.csv": ["SUBJID", "RELAPSE_DATE", "RELAPSE_SITE", "DETECTION", "LEVEL", "LINEAGE"],
    "transplants.csv": ["SUBJID", "HSCT_DATE", "HSCT_TYPE", "DONOR", "STATUS_AT_HSCT"],
    "therapies.csv": ["SUBJID", "THERAPY", "INTENT", "START_DATE", "END_DATE"],
    "followup.csv": ["SUBJID", "LAST_CONTACT_DATE", "VITAL_STATUS", "DISEASE_STATUS",
                     "DEATH_DATE", "DEATH_CAUSE", "DEATH_DETAIL"],
}
WIDE_ANTIGENS = ("CD19", "CD22", "CD20")


def d(v: dt.date | None) -> str:
    return "" if v is None else v.strftime("%d/%m/%Y")


def b(v: bool | None) -> str:
    return "" if v is None else BOOL[v]


def c(col: str, v: str | None) -> str:
    return "" if v is None else CODES[col][v][0]


def n(v: float | int | None) -> str:
    if v is None:
        return ""
    return str(v) if isinstance(v, int) else fmt_num(v)


def _csv(name: str, rows: list[list[str]]) -> CsvFile:
    return CsvFile(header=list(FILES[name]), rows=list(rows), delimiter=SEP, encoding=ENC,
                   newline=NL)


def render_edc(truth: Truth, index: Index | None = None) -> SiteExport:
    """The EDC site's files; ``index`` (if given) receives where each canonical row went."""
    site = SITE_EDC
    plans = sorted((p for p in truth.plans if p.site_id == site), key=lambda p: p.local_id)
    local = {p.patient_id: p.local_id for p in plans}
    order = {p.patient_id: i for i, p in enumerate(plans)}

    def rows(table: str, date_col: str) -> list[dict[str, Any]]:
        rs = truth.site_rows(site, table)
        return sorted(rs, key=lambda r: (order[r["patient_id"]], r[date_col], r["_order"]))

    out: dict[str, list[list[str]]] = {k: [] for k in FILES}

    def put(name: str, line: list[str], *keys: tuple[str, str]) -> None:
        out[name].append(line)
        if index is not None:
            for key in keys:
                index[key] = Located(name, line, f"SUBJID={line[0]}")

    for r in rows("patient", "patient_id"):
        cyto = r["cytogenetic_lesions"]
        put("patients.csv", [
            local[r["patient_id"]], c("SEX", r["sex"]), d(r["birth_date"]),
            d(r["diagnosis_date"]), r["diagnosis_icd10cm"] or "",
            "|".join(CODES["CYTOGENETICS"][x][0] for x in cyto) if cyto else "",
            b(r["down_syndrome"]), b(r["prior_blinatumomab"]), b(r["prior_inotuzumab"]),
            n(r["prior_hsct_count"]), c("STATUS", r["registry_status"]),
        ], ("patient", r["patient_id"]))
    ld_by_inf = {r["infusion_id"]: r for r in truth.site_rows(site, "lymphodepletion")}
    inf_no: dict[str, int] = {}
    seq: dict[str, int] = {}
    for r in rows("cart_infusion", "infusion_date"):
        pid = r["patient_id"]
        seq[pid] = seq.get(pid, 0) + 1
        inf_no[r["infusion_id"]] = seq[pid]
        ld = ld_by_inf.get(r["infusion_id"])
        put("infusions.csv", [
            local[pid], str(seq[pid]), str(r["_course"]), c("PRODUCT_CODE", r["construct_id"]),
            d(r["infusion_date"]), c("INF_REASON", r["infusion_intent"]), n(r["weight_kg"]),
            str(r["_total_cells"]), n(r["bm_blast_pct_pre"]), c("MRD_PRE", r["mrd_pre_result"]),
            c("CNS_PRE", r["cns_status_pre"]), b(r["out_of_spec"]),
            c("LD_REGIMEN", ld["regimen"]) if ld else "", d(ld["start_date"]) if ld else "",
            n(ld["fludarabine_total_mg_m2"]) if ld else "",
            n(ld["cyclophosphamide_total_mg_m2"]) if ld else "",
        ], ("cart_infusion", r["infusion_id"]), *([("lymphodepletion", ld["ld_id"])] if ld else []))
    for r in rows("toxicity_event", "onset_date"):
        put("toxicities.csv", [
            local[r["patient_id"]], str(inf_no[r["infusion_id"]]), c("TOX_TYPE", r["tox_type"]),
            d(r["onset_date"]), d(r["resolution_date"]), n(r["grade_reported"]),
            c("SCALE", r["grading_scale"]),
            "" if r["temp_max_c"] is None else edc_temp_f(r["temp_max_c"]),
            b(r["fever"]), b(r["anticytokine_or_antipyretic"]), b(r["hypotension"]),
            b(r["fluids_only"]), n(r["vasopressors_max"]), b(r["vasopressin_only"]),
            c("O2_DEVICE", r["o2_support_max"]), n(r["fio2_max_pct"]), n(r["ice_min"]),
            n(r["capd_max"]), c("LOC", r["consciousness_worst"]), c("SEIZURE",
                                                                   r["seizure_worst"]),
            b(r["deep_focal_motor_weakness"]), c("EDEMA", r["cerebral_edema"]),
            n(r["tocilizumab_doses"]), b(r["corticosteroids"]), b(r["icu_admission"]),
            b(r["fatal"]),
        ], ("toxicity_event", r["tox_id"]))
    for r in rows("disease_assessment", "assessment_date"):
        put("assessments.csv", [
            local[r["patient_id"]], d(r["assessment_date"]), c("SPECIMEN", r["specimen"]),
            n(r["bm_blast_pct"]), c("MRD_METHOD", r["mrd_method"]),
            "" if r["mrd_value"] is None else edc_mrd(r["mrd_value"]),
            c("MRD_RESULT", r["mrd_result"]), c("CNS", r["cns_status"]),
            b(r["extramedullary_disease"]), c("COUNT_RECOVERY", r["count_recovery"]),
            c("B_APLASIA", r["bcell_aplasia"]), c("RESPONSE", r["response"]),
        ], ("disease_assessment", r["assessment_id"]))
    # antigens: one wide row per (patient, sample date, time point, method)
    groups: dict[tuple[Any, ...], dict[str, dict[str, Any]]] = {}
    for r in rows("antigen_expression", "sample_date"):
        key = (r["patient_id"], r["sample_date"], r["timepoint"], r["method"])
        groups.setdefault(key, {})[r["antigen"]] = r
    for (pid, date, tp, method), ags in groups.items():
        line = [local[pid], d(date), c("TIMEPOINT", tp), c("METHOD", method)]
        for ag in WIDE_ANTIGENS:
            one = ags.get(ag)
            line += ["", ""] if one is None else [
                c("ANTIGEN_STATUS", one["status"]), n(one["pct_positive"])]
        put("antigens.csv", line,
            *(("antigen_expression", x["expr_id"]) for x in ags.values()))
    for r in rows("relapse", "relapse_date"):
        put("relapses.csv", [
            local[r["patient_id"]], d(r["relapse_date"]), c("RELAPSE_SITE", r["relapse_site"]),
            c("DETECTION", r["detection_method"]), c("LEVEL", r["relapse_level"]),
            c("LINEAGE", r["lineage"]),
        ], ("relapse", r["relapse_id"]))
    for r in rows("hsct", "hsct_date"):
        put("transplants.csv", [
            local[r["patient_id"]], d(r["hsct_date"]), c("HSCT_TYPE", r["hsct_type"]),
            c("DONOR", r["donor_type"]), c("STATUS_AT_HSCT", r["disease_status_at_hsct"]),
        ], ("hsct", r["hsct_id"]))
    for r in rows("antileukemic_therapy", "start_date"):
        put("therapies.csv", [
            local[r["patient_id"]], c("THERAPY", r["therapy_class"]), c("INTENT", r["intent"]),
            d(r["start_date"]), d(r["end_date"]),
        ], ("antileukemic_therapy", r["therapy_id"]))
    deaths = {r["patient_id"]: r for r in truth.site_rows(site, "death")}
    for r in rows("follow_up", "patient_id"):
        de = deaths.get(r["patient_id"])
        put("followup.csv", [
            local[r["patient_id"]], d(r["last_contact_date"]),
            c("VITAL_STATUS", r["vital_status"]), c("DISEASE_STATUS", r["last_disease_status"]),
            d(de["death_date"]) if de else "", c("DEATH_CAUSE", de["primary_cause"]) if de else "",
            (de["cause_detail"] or "") if de else "",
        ], ("follow_up", r["patient_id"]), *([("death", r["patient_id"])] if de else []))
    export: SiteExport = {name: _csv(name, rs) for name, rs in out.items()}
    code_rows = [
        [col, code, label] for col, table in CODES.items()
        for _canon, (code, label) in table.items()
    ] + [["O/N", "O", "Oui"], ["O/N", "N", "Non"]]
    export["codelists.csv"] = CsvFile(header=["COLUMN", "CODE", "LABEL"], rows=list(code_rows),
                                      delimiter=SEP, encoding=ENC, newline=NL)
    return export
