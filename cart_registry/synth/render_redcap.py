"""The REDCap site: a longitudinal project with repeating instruments, as REDCap exports it.

Files (sample_exports/site_redcap/):

- ``CARTRegistry_DataDictionary.csv``: the data dictionary, REDCap's 18 UI columns.
- ``CARTRegistry_DATA.csv``: the flat records export, raw codes, raw headers, one row per
  (record, event, repeat instrument, instance); checkbox fields as ``field___code``; dates
  ``YYYY-MM-DD``; UTF-8, ``\\n``; project missing-data codes UNK / NA / NASK in some cells.
- ``CARTRegistry_Events.csv``: the events (``unique_event_name``).

Events: ``screening_arm_1`` (demographics; diagnosis panel and prior transplants as repeating
instruments), ``cart_a_arm_1``, ``cart_b_arm_1``, ``cart_c_arm_1`` (one per construct, in
order; each holds the repeating instruments of that course: infusions with their
lymphodepletion, toxicities, assessments, antigen panels, relapses, transplants, therapies),
and ``follow_up_arm_1`` (survival form).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from cart_registry.synth.catalog import (
    CONSTRUCTS,
    LOCAL_PRODUCT_CODES,
    LOCAL_PRODUCT_LABELS,
    SITE_REDCAP,
)
from cart_registry.synth.files import ID_COL, CsvFile, Index, Located, SiteExport
from cart_registry.synth.site_view import fmt_num, redcap_mrd_pct
from cart_registry.synth.truth import Truth

DICT_FILE = "CARTRegistry_DataDictionary.csv"
DATA_FILE = "CARTRegistry_DATA.csv"
EVENTS_FILE = "CARTRegistry_Events.csv"

DICT_HEADER = (
    '"Variable / Field Name","Form Name","Section Header","Field Type","Field Label",'
    '"Choices, Calculations, OR Slider Labels","Field Note",'
    '"Text Validation Type OR Show Slider Number","Text Validation Min","Text Validation Max",'
    'Identifier?,"Branching Logic (Show field only if...)","Required Field?","Custom Alignment",'
    '"Question Number (surveys only)","Matrix Group Name","Matrix Ranking?","Field Annotation"'
)

EVENTS = [
    ("Screening", "screening_arm_1"), ("CAR T course A", "cart_a_arm_1"),
    ("CAR T course B", "cart_b_arm_1"), ("CAR T course C", "cart_c_arm_1"),
    ("Follow-up", "follow_up_arm_1"),
]
MISSING_CODES = "UNK, Unknown | NA, Not applicable | NASK, Not asked"

YN = [("1", "Yes"), ("0", "No")]


@dataclass(frozen=True)
class Field:
    name: str
    form: str
    ftype: str
    label: str
    choices: tuple[tuple[str, str], ...] = ()
    validation: str = ""
    branching: str = ""
    required: bool = False
    identifier: bool = False
    note: str = ""
    #: canonical (table, column) the field carries, and canonical value -> raw code
    canonical: tuple[str, str] | None = None
    codes: tuple[tuple[str, str], ...] = ()


def _f(name: str, form: str, ftype: str, label: str, canonical: tuple[str, str] | None = None,
       choices: list[tuple[str, str, str]] | None = None, **kw: Any) -> Field:
    """``choices`` as (raw code, label, canonical value)."""
    ch = tuple((c, lab) for c, lab, _ in choices or [])
    codes = tuple((v, c) for c, _, v in choices or [] if v)
    if ftype == "yesno":
        ch = ()
    return Field(name, form, ftype, label, ch, canonical=canonical, codes=codes, **kw)


_PRODUCTS = [
    (LOCAL_PRODUCT_CODES[SITE_REDCAP][c.construct_id], LOCAL_PRODUCT_LABELS[c.construct_id],
     c.construct_id)
    for c in sorted(CONSTRUCTS, key=lambda c: int(LOCAL_PRODUCT_CODES[SITE_REDCAP][c.construct_id]))
]
_RESPONSE = [
    ("1", "CR MRD-negative", "cr_mrd_neg"), ("2", "CR MRD-positive", "cr_mrd_pos"),
    ("3", "CR MRD unknown", "cr_mrd_unknown"), ("4", "CRi", "cri"), ("5", "PR", "pr"),
    ("6", "NR", "nr"), ("7", "PD", "pd"), ("8", "Not evaluable", "ne"),
]
_CNS = [("1", "CNS1", "cns1"), ("2", "CNS2", "cns2"), ("3", "CNS3", "cns3")]
_CRS = "[tox_type] = '1'"
_ICANS = "[tox_type] = '2'"

FIELDS: list[Field] = [
    # ---- demographics (screening event)
    _f("record_id", "demographics", "text", "Record ID"),
    _f("sex", "demographics", "radio", "Sex", ("patient", "sex"), [
        ("1", "Female", "female"), ("2", "Male", "male"), ("3", "Other", "other"),
        ("9", "Unknown", "unknown")], required=True),
    _f("dob", "demographics", "text", "Date of birth", ("patient", "birth_date"),
       validation="date_ymd", identifier=True, required=True, note="YYYY-MM-DD"),
    _f("dx_date", "demographics", "text", "Date of B-ALL diagnosis",
       ("patient", "diagnosis_date"), validation="date_ymd"),
    _f("dx_icd10", "demographics", "dropdown", "ICD-10-CM code at registration",
       ("patient", "diagnosis_icd10cm"), [
           ("C91.0", "C91.0 Acute lymphoblastic leukemia", "C91.0"),
           ("C91.00", "C91.00 ALL not having achieved remission", "C91.00"),
           ("C91.01", "C91.01 ALL in remission", "C91.01"),
           ("C91.02", "C91.02 ALL in relapse", "C91.02")]),
    _f("cytogen", "demographics", "checkbox", "Recurrent cytogenetic lesions",
       ("patient", "cytogenetic_lesions"), [
           ("1", "KMT2A rearranged", "KMT2A_r"), ("2", "BCR-ABL1", "BCR_ABL1"),
           ("3", "TCF3-PBX1", "TCF3_PBX1"), ("4", "ETV6-RUNX1", "ETV6_RUNX1"),
           ("5", "Hypodiploid", "hypodiploid"), ("6", "iAMP21", "iAMP21"),
           ("7", "Other", "other"), ("8", "None detected", "none"), ("99", "Unknown", "unknown")]),
    _f("down_syndrome", "demographics", "yesno", "Down syndrome (constitutional trisomy 21)",
       ("patient", "down_syndrome")),
    _f("prior_blina", "demographics", "yesno", "Blinatumomab before the first CAR T",
       ("patient", "prior_blinatumomab")),
    _f("prior_ino", "demographics", "yesno", "Inotuzumab before the first CAR T",
       ("patient", "prior_inotuzumab")),
    _f("prior_hsct_n", "demographics", "text", "Number of HSCTs before the first CAR T",
       ("patient", "prior_hsct_count"), validation="integer"),
    _f("reg_status", "demographics", "radio", "Registry status", ("patient", "registry_status"), [
        ("1", "Screened", "screened"), ("2", "Included (two or more constructs)", "included"),
        ("3", "Excluded", "excluded")], required=True),
    # ---- car_infusion (repeating, course events) with its lymphodepletion
    _f("inf_date", "car_infusion", "text", "Infusion date (first day if split)",
       ("cart_infusion", "infusion_date"), validation="date_ymd", required=True),
    _f("inf_product", "car_infusion", "dropdown", "CAR T product",
       ("cart_infusion", "construct_id"), _PRODUCTS, required=True),
    _f("inf_reason", "car_infusion", "radio", "Reason for this infusion",
       ("cart_infusion", "infusion_intent"), [
           ("1", "Initial infusion of this product", "initial"),
           ("2", "Re-infusion: B-cell recovery", "reinfusion_bcell_recovery"),
           ("3", "Re-infusion: MRD or relapse", "reinfusion_mrd_or_relapse"),
           ("4", "Re-infusion: non-response", "reinfusion_nonresponse"), ("5", "Other", "other")]),
    _f("inf_split", "car_infusion", "yesno", "Dose split over more than one day",
       ("cart_infusion", "split_dose")),
    _f("inf_weight", "car_infusion", "text", "Weight at infusion (kg)",
       ("cart_infusion", "weight_kg"), validation="number"),
    _f("inf_dose_kg", "car_infusion", "text", "CAR+ viable T cells (x10^6/kg)",
       ("cart_infusion", "dose_car_pos_per_kg_e6"), validation="number"),
    _f("pre_blasts", "car_infusion", "text", "Marrow blasts before lymphodepletion (%)",
       ("cart_infusion", "bm_blast_pct_pre"), validation="number"),
    _f("pre_mrd", "car_infusion", "radio", "MRD before infusion", ("cart_infusion",
       "mrd_pre_result"), [("1", "Negative", "negative"), ("2", "Positive", "positive"),
                           ("3", "Unknown", "unknown")]),
    _f("pre_cns", "car_infusion", "radio", "CNS status before infusion",
       ("cart_infusion", "cns_status_pre"), _CNS + [("9", "Unknown", "unknown")]),
    _f("inf_oos", "car_infusion", "yesno", "Commercial product out of specification",
       ("cart_infusion", "out_of_spec"), branching="[inf_product] = '1' or [inf_product] = '2'"),
    _f("ld_given", "car_infusion", "yesno", "Lymphodepletion given before this infusion"),
    _f("ld_regimen", "car_infusion", "radio", "Lymphodepletion regimen",
       ("lymphodepletion", "regimen"), [
           ("1", "Fludarabine + cyclophosphamide", "flu_cy"), ("2", "Cyclophosphamide only",
                                                                 "cy_only"),
           ("3", "Fludarabine only", "flu_only"), ("4", "Other", "other")],
       branching="[ld_given] = '1'"),
    _f("ld_start", "car_infusion", "text", "Lymphodepletion first day",
       ("lymphodepletion", "start_date"), validation="date_ymd", branching="[ld_given] = '1'"),
    _f("ld_flu_total", "car_infusion", "text", "Fludarabine total (mg/m2)",
       ("lymphodepletion", "fludarabine_total_mg_m2"), validation="number",
       branching="[ld_given] = '1'"),
    _f("ld_cy_total", "car_infusion", "text", "Cyclophosphamide total (mg/m2)",
       ("lymphodepletion", "cyclophosphamide_total_mg_m2"), validation="number",
       branching="[ld_given] = '1'"),
    # ---- toxicity (repeating)
    _f("tox_type", "toxicity", "radio", "Toxicity", ("toxicity_event", "tox_type"), [
        ("1", "CRS", "crs"), ("2", "ICANS", "icans"), ("3", "IEC-HS", "iec_hs"),
        ("4", "Other", "other")], required=True),
    _f("tox_onset", "toxicity", "text", "Onset date", ("toxicity_event", "onset_date"),
       validation="date_ymd", required=True),
    _f("tox_resolved", "toxicity", "text", "Resolution date",
       ("toxicity_event", "resolution_date"), validation="date_ymd"),
    _f("tox_grade", "toxicity", "radio", "Maximum grade (on the scale below)",
       ("toxicity_event", "grade_reported"), [(str(g), f"Grade {g}", str(g)) for g in range(6)]),
    _f("tox_scale", "toxicity", "dropdown", "Grading scale", ("toxicity_event", "grading_scale"), [
        ("1", "ASTCT 2019 consensus", "astct_2019"), ("2", "Lee 2014 (NCI)", "lee_2014"),
        ("3", "Penn", "penn"), ("4", "MSKCC", "mskcc"), ("5", "CARTOX", "cartox"),
        ("6", "CTCAE v4", "ctcae_v4"), ("7", "CTCAE v5", "ctcae_v5"), ("8", "Other", "other"),
        ("9", "Unknown", "unknown")]),
    _f("tox_scale_ver", "toxicity", "text", "Scale version / form revision",
       ("toxicity_event", "grading_scale_version")),
    _f("crs_fever", "toxicity", "yesno", "Fever >= 38.0 C", ("toxicity_event", "fever"),
       branching=_CRS),
    _f("crs_tmax", "toxicity", "text", "Maximum temperature (C)",
       ("toxicity_event", "temp_max_c"), validation="number", branching=_CRS),
    _f("crs_treated", "toxicity", "yesno", "Antipyretic or anti-cytokine therapy given",
       ("toxicity_event", "anticytokine_or_antipyretic"), branching=_CRS),
    _f("crs_hypotension", "toxicity", "yesno", "Hypotension requiring therapy",
       ("toxicity_event", "hypotension"), branching=_CRS),
    _f("crs_fluids_only", "toxicity", "yesno", "Hypotension managed with fluids only",
       ("toxicity_event", "fluids_only"), branching=_CRS),
    _f("crs_pressors", "toxicity", "text", "Maximum concurrent vasopressors",
       ("toxicity_event", "vasopressors_max"), validation="integer", branching=_CRS),
    _f("crs_vasopressin_only", "toxicity", "yesno", "Only additional pressor was vasopressin",
       ("toxicity_event", "vasopressin_only"), branching=_CRS),
    _f("crs_o2", "toxicity", "radio", "Maximum oxygen support", ("toxicity_event",
       "o2_support_max"), [
        ("0", "None", "none"), ("1", "Low-flow nasal cannula <= 6 L/min or blow-by",
                                "low_flow_le6"),
        ("2", "High-flow cannula > 6 L/min, facemask, non-rebreather or Venturi",
         "high_flow_gt6_or_mask"),
        ("3", "CPAP / BiPAP", "positive_pressure"),
        ("4", "Intubation and mechanical ventilation", "mechanical_ventilation"),
        ("9", "Unknown", "unknown")], branching=_CRS),
    _f("crs_fio2", "toxicity", "text", "Maximum FiO2 (%)", ("toxicity_event", "fio2_max_pct"),
       validation="number", branching=_CRS),
    _f("icans_ice", "toxicity", "text", "Lowest ICE score (age > 12)",
       ("toxicity_event", "ice_min"), validation="integer", branching=_ICANS),
    _f("icans_capd", "toxicity", "text", "Highest CAPD score (age <= 12)",
       ("toxicity_event", "capd_max"), validation="integer", branching=_ICANS),
    _f("icans_loc", "toxicity", "radio", "Worst level of consciousness",
       ("toxicity_event", "consciousness_worst"), [
           ("1", "Awakens spontaneously", "spontaneous"), ("2", "Awakens to voice", "voice"),
           ("3", "Awakens only to tactile stimulus", "tactile"), ("4", "Unarousable",
                                                                   "unarousable"),
           ("9", "Unknown", "unknown")], branching=_ICANS),
    _f("icans_seizure", "toxicity", "radio", "Worst seizure", ("toxicity_event",
       "seizure_worst"), [
        ("0", "None", "none"), ("1", "Resolved rapidly or non-convulsive, treated",
                                "resolved_or_nonconvulsive_treated"),
        ("2", "Prolonged (> 5 min) or repetitive", "prolonged_or_repetitive"),
        ("9", "Unknown", "unknown")], branching=_ICANS),
    _f("icans_motor", "toxicity", "yesno", "Deep focal motor weakness",
       ("toxicity_event", "deep_focal_motor_weakness"), branching=_ICANS),
    _f("icans_edema", "toxicity", "radio", "Worst cerebral edema", ("toxicity_event",
       "cerebral_edema"), [
        ("0", "None", "none"), ("1", "Focal/local on imaging", "focal"),
        ("2", "Diffuse, or posturing / papilledema / Cushing triad", "diffuse_or_signs"),
        ("9", "Unknown", "unknown")], branching=_ICANS),
    _f("tox_toci_doses", "toxicity", "text", "Tocilizumab doses",
       ("toxicity_event", "tocilizumab_doses"), validation="integer"),
    _f("tox_steroids", "toxicity", "yesno", "Corticosteroids given",
       ("toxicity_event", "corticosteroids")),
    _f("tox_icu", "toxicity", "yesno", "ICU admission", ("toxicity_event", "icu_admission")),
    _f("tox_fatal", "toxicity", "yesno", "Fatal (grade 5)", ("toxicity_event", "fatal")),
    # ---- disease_assessment (repeating)
    _f("da_date", "disease_assessment", "text", "Date of sample",
       ("disease_assessment", "assessment_date"), validation="date_ymd", required=True),
    _f("da_specimen", "disease_assessment", "radio", "Specimen", ("disease_assessment",
       "specimen"), [
        ("1", "Bone marrow", "bone_marrow"), ("2", "Peripheral blood", "peripheral_blood"),
        ("3", "CSF", "csf"), ("4", "Extramedullary", "extramedullary")]),
    _f("da_blasts", "disease_assessment", "text", "Marrow blasts by morphology (%)",
       ("disease_assessment", "bm_blast_pct"), validation="number",
       branching="[da_specimen] = '1'"),
    _f("da_mrd_method", "disease_assessment", "radio", "MRD method", ("disease_assessment",
       "mrd_method"), [
        ("1", "Flow cytometry", "flow"), ("2", "NGS (IG/TCR)", "ngs_ig_tcr"),
        ("3", "qPCR", "qpcr"), ("0", "Not done", "none")]),
    _f("da_mrd_pct", "disease_assessment", "text", "MRD level (% of nucleated cells)",
       ("disease_assessment", "mrd_value"), validation="number",
       note="0.01 % = 1 in 10,000 cells"),
    _f("da_mrd_result", "disease_assessment", "radio", "MRD result", ("disease_assessment",
       "mrd_result"), [
        ("1", "Negative", "negative"), ("2", "Positive", "positive"),
        ("3", "Indeterminate", "indeterminate"), ("4", "Not done", "not_done")]),
    _f("da_cns", "disease_assessment", "radio", "CNS status", ("disease_assessment",
       "cns_status"), _CNS + [("4", "Not done", "not_done")]),
    _f("da_emd", "disease_assessment", "yesno", "Extramedullary disease",
       ("disease_assessment", "extramedullary_disease")),
    _f("da_counts", "disease_assessment", "radio", "Count recovery", ("disease_assessment",
       "count_recovery"), [
        ("1", "Full", "full"), ("2", "Incomplete", "incomplete"), ("9", "Unknown", "unknown")]),
    _f("da_bca", "disease_assessment", "radio", "B-cell aplasia", ("disease_assessment",
       "bcell_aplasia"), [
        ("1", "Present", "present"), ("2", "Absent", "absent"), ("9", "Unknown", "unknown")]),
    _f("da_response", "disease_assessment", "dropdown", "Response", ("disease_assessment",
       "response"), _RESPONSE),
    # ---- antigen_expression (repeating)
    _f("ag_date", "antigen_expression", "text", "Sample date",
       ("antigen_expression", "sample_date"), validation="date_ymd", required=True),
    _f("ag_timepoint", "antigen_expression", "radio", "Time point", ("antigen_expression",
       "timepoint"), [
        ("1", "Diagnosis", "diagnosis"), ("2", "Before CAR T infusion", "pre_infusion"),
        ("3", "Relapse", "relapse"), ("4", "Other", "other")]),
    _f("ag_antigen", "antigen_expression", "dropdown", "Antigen", ("antigen_expression",
       "antigen"), [("1", "CD19", "CD19"), ("2", "CD22", "CD22"), ("3", "CD20", "CD20"),
                    ("4", "CD123", "CD123"), ("5", "Other", "other")]),
    _f("ag_method", "antigen_expression", "radio", "Method", ("antigen_expression", "method"),
       [("1", "Flow cytometry", "flow"), ("2", "Immunohistochemistry", "ihc")]),
    _f("ag_status", "antigen_expression", "radio", "Expression on blasts",
       ("antigen_expression", "status"), [
           ("1", "Positive", "positive"), ("2", "Dim", "dim"), ("3", "Partial", "partial"),
           ("4", "Negative", "negative"), ("5", "Not tested", "not_tested")]),
    _f("ag_pct", "antigen_expression", "text", "Blasts positive (%)",
       ("antigen_expression", "pct_positive"), validation="number"),
    _f("ag_density", "antigen_expression", "text", "Antigen sites per cell",
       ("antigen_expression", "antigen_density"), validation="number"),
    # ---- relapse (repeating)
    _f("rel_date", "relapse", "text", "Date relapse first detected", ("relapse", "relapse_date"),
       validation="date_ymd", required=True),
    _f("rel_site", "relapse", "radio", "Site of relapse", ("relapse", "relapse_site"), [
        ("1", "Bone marrow", "bone_marrow"), ("2", "CNS", "cns"), ("3", "Combined", "combined"),
        ("4", "Other extramedullary", "other_extramedullary")]),
    _f("rel_method", "relapse", "radio", "Detected by", ("relapse", "detection_method"), [
        ("1", "Morphology", "morphologic"), ("2", "Flow MRD", "flow_mrd"),
        ("3", "Molecular MRD", "molecular_mrd"), ("4", "Cytogenetics / FISH", "cytogenetic"),
        ("5", "Clinical", "clinical")]),
    _f("rel_level", "relapse", "radio", "Relapse level", ("relapse", "relapse_level"), [
        ("1", "Hematologic", "hematologic"), ("2", "MRD only", "mrd_only")]),
    _f("rel_lineage", "relapse", "radio", "Lineage at relapse", ("relapse", "lineage"), [
        ("1", "B-lymphoid", "b_lymphoid"), ("2", "Myeloid (lineage switch)", "myeloid"),
        ("3", "Mixed phenotype", "mixed"), ("4", "T-lymphoid", "t_lymphoid"),
        ("9", "Unknown", "unknown")], required=True),
    # ---- transplant (repeating)
    _f("hsct_date", "transplant", "text", "Date of stem-cell infusion", ("hsct", "hsct_date"),
       validation="date_ymd", required=True),
    _f("hsct_type", "transplant", "radio", "Transplant type", ("hsct", "hsct_type"), [
        ("1", "Allogeneic", "allogeneic"), ("2", "Autologous", "autologous")]),
    _f("hsct_donor", "transplant", "radio", "Donor", ("hsct", "donor_type"), [
        ("1", "Matched sibling", "msd"), ("2", "Matched unrelated", "mud"),
        ("3", "Mismatched unrelated", "mmud"), ("4", "Haploidentical", "haplo"),
        ("5", "Cord blood", "cord"), ("6", "Other", "other"), ("9", "Unknown", "unknown")],
       branching="[hsct_type] = '1'"),
    _f("hsct_status", "transplant", "radio", "Disease status at transplant",
       ("hsct", "disease_status_at_hsct"), [
           ("1", "CR, MRD-negative", "cr_mrd_neg"), ("2", "CR, MRD-positive", "cr_mrd_pos"),
           ("3", "CR, MRD unknown", "cr_mrd_unknown"), ("4", "Not in CR", "not_in_cr"),
           ("9", "Unknown", "unknown")]),
    # ---- therapy (repeating)
    _f("th_class", "therapy", "dropdown", "Therapy", ("antileukemic_therapy", "therapy_class"), [
        ("1", "Chemotherapy", "chemotherapy"), ("2", "Blinatumomab", "blinatumomab"),
        ("3", "Inotuzumab ozogamicin", "inotuzumab"), ("4", "Tyrosine kinase inhibitor", "tki"),
        ("5", "Radiotherapy", "radiotherapy"), ("6", "Intrathecal therapy only",
                                                "intrathecal_only"),
        ("7", "Other", "other")], required=True),
    _f("th_intent", "therapy", "radio", "Intent", ("antileukemic_therapy", "intent"), [
        ("1", "Bridging to CAR T", "bridging"), ("2", "Between CAR T courses", "interval"),
        ("3", "Maintenance", "maintenance"), ("4", "Treatment of relapse / refractory disease",
                                              "relapse_treatment"),
        ("5", "Other", "other")], required=True),
    _f("th_start", "therapy", "text", "Start date", ("antileukemic_therapy", "start_date"),
       validation="date_ymd", required=True),
    _f("th_end", "therapy", "text", "End date", ("antileukemic_therapy", "end_date"),
       validation="date_ymd"),
    # ---- survival (follow-up event)
    _f("fu_date", "survival", "text", "Date of last contact (or death)",
       ("follow_up", "last_contact_date"), validation="date_ymd", required=True),
    _f("fu_vital", "survival", "radio", "Vital status", ("follow_up", "vital_status"), [
        ("1", "Alive", "alive"), ("2", "Dead", "dead")], required=True),
    _f("fu_status", "survival", "radio", "Disease status at last contact",
       ("follow_up", "last_disease_status"), [
           ("1", "In CR", "cr"), ("2", "Not in CR", "not_cr"), ("9", "Unknown", "unknown")]),
    _f("death_date", "survival", "text", "Date of death", ("death", "death_date"),
       validation="date_ymd", branching="[fu_vital] = '2'"),
    _f("death_cause", "survival", "dropdown", "Primary cause of death", ("death",
       "primary_cause"), [
        ("1", "Relapse / progression", "relapse_progression"), ("2", "CRS", "crs"),
        ("3", "ICANS", "icans"), ("4", "IEC-HS / HLH", "iec_hs"), ("5", "Infection",
                                                                 "infection"),
        ("6", "GVHD", "gvhd"), ("7", "Organ failure", "organ_failure"),
        ("8", "Other transplant-related", "hsct_related_other"), ("9", "Other", "other"),
        ("99", "Unknown", "unknown")], branching="[fu_vital] = '2'"),
    _f("death_detail", "survival", "notes", "Cause of death, details", ("death", "cause_detail"),
       branching="[fu_vital] = '2'"),
]

FORMS = [
    "demographics", "car_infusion", "toxicity", "disease_assessment", "antigen_expression",
    "relapse", "transplant", "therapy", "survival",
]
#: repeating instrument -> canonical table whose rows it carries
REPEATING = {
    "car_infusion": "cart_infusion", "toxicity": "toxicity_event",
    "disease_assessment": "disease_assessment", "antigen_expression": "antigen_expression",
    "relapse": "relapse", "transplant": "hsct", "therapy": "antileukemic_therapy",
}
ROW_DATE = {
    "cart_infusion": "infusion_date", "toxicity_event": "onset_date",
    "disease_assessment": "assessment_date", "antigen_expression": "sample_date",
    "relapse": "relapse_date", "hsct": "hsct_date", "antileukemic_therapy": "start_date",
}
FIELD_BY_NAME = {f.name: f for f in FIELDS}


def data_columns() -> list[str]:
    cols = ["record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance"]
    for form in FORMS:
        for f in FIELDS:
            if f.form != form or f.name == "record_id":
                continue
            if f.ftype == "checkbox":
                cols += [f"{f.name}___{c}" for c, _ in f.choices]
            else:
                cols.append(f.name)
        cols.append(f"{form}_complete")
    return cols


def dictionary_file() -> CsvFile:
    rows: list[list[str] | Any] = []
    for f in FIELDS:
        choices = " | ".join(f"{c}, {lab}" for c, lab in f.choices)
        rows.append([
            f.name, f.form, "", f.ftype, f.label, choices, f.note, f.validation, "", "",
            "y" if f.identifier else "", f.branching, "y" if f.required else "", "", "", "", "",
            "",
        ])
    return CsvFile(header=[], rows=rows, raw_header=DICT_HEADER,
                   always_quote=frozenset({4, 5, 11}))


def _value(f: Field, v: Any) -> str:
    if v is None:
        return ""
    if f.ftype == "yesno":
        return "1" if v else "0"
    if f.codes:
        return dict(f.codes)[str(v)]
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if f.name == "da_mrd_pct":
            return redcap_mrd_pct(v)
        return fmt_num(v)
    return str(v)


def _cells(row: dict[str, Any], form: str) -> dict[str, str]:
    """Field -> raw cell for the canonical row(s) carried by one instrument."""
    out: dict[str, str] = {}
    missing: dict[str, str] = row.get("_missing", {})
    for f in FIELDS:
        if f.form != form or f.canonical is None:
            continue
        col = f.canonical[1]
        if f.canonical[0] == "lymphodepletion" or (
                f.canonical[0] == "death" and form == "survival"):
            continue  # filled from the linked row below
        if f.ftype == "checkbox":
            chosen = set(row.get(col) or [])
            for canon, _code in f.codes:
                out[f"{f.name}___{canon}"] = "1" if canon in chosen else "0"
            continue
        if col in missing:
            out[f.name] = missing[col]
            continue
        val = row.get(col)
        if col == "mrd_value" and val is not None:
            out[f.name] = redcap_mrd_pct(val)
        else:
            out[f.name] = _value(f, val)
    return out


def render_redcap(truth: Truth, index_arg: Index | None = None) -> SiteExport:
    """The REDCap site's files from the truth (clean).

    ``index`` (if given) receives, per canonical row id, the data-file row that carries it.
    """
    site = SITE_REDCAP
    cols = data_columns()
    index = {c: i for i, c in enumerate(cols)}
    index_out = index_arg
    checkbox_codes = {f.name: dict((canon, code) for canon, code in f.codes)
                      for f in FIELDS if f.ftype == "checkbox"}
    plans = sorted((p for p in truth.plans if p.site_id == site), key=lambda p: int(p.local_id))
    by_pid: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for table in ("patient", "cart_infusion", "lymphodepletion", "toxicity_event",
                  "disease_assessment", "antigen_expression", "relapse", "hsct",
                  "antileukemic_therapy", "death", "follow_up"):
        for r in truth.site_rows(site, table):
            by_pid.setdefault(r["patient_id"], {}).setdefault(table, []).append(r)
    rows: list[list[str] | Any] = []

    def emit(record: str, event: str, instrument: str, instance: str,
             cells: dict[str, str], form: str, keys: list[tuple[str, str]]) -> None:
        line = [""] * len(cols)
        line[0], line[1], line[2], line[3] = record, event, instrument, instance
        for k, v in cells.items():
            if k.count("___"):
                name, canon = k.split("___")
                k = f"{name}___{checkbox_codes[name][canon]}"
            line[index[k]] = v
        line[index[f"{form}_complete"]] = "2"
        rows.append(line)
        if index_out is not None:
            loc = f"record={record}|event={event}|instrument={instrument or form}"
            loc += f"|instance={instance}" if instance else ""
            for key in keys:
                index_out[key] = Located(DATA_FILE, line, loc)

    events = [e for _, e in EVENTS]
    for plan in plans:
        rec = plan.local_id
        data = by_pid.get(plan.patient_id, {})
        ld_by_inf = {r["infusion_id"]: r for r in data.get("lymphodepletion", [])}
        for ev_i, event in enumerate(events):
            if event == "screening_arm_1":
                pat = data["patient"][0]
                emit(rec, event, "", "", _cells(pat, "demographics"), "demographics",
                     [("patient", pat["patient_id"])])
            if event == "follow_up_arm_1":
                fu = data["follow_up"][0]
                cells = _cells(fu, "survival")
                for d in data.get("death", []):
                    cells["death_date"] = d["death_date"].isoformat()
                    cells["death_cause"] = _value(FIELD_BY_NAME["death_cause"], d["primary_cause"])
                    cells["death_detail"] = d["cause_detail"] or ""
                emit(rec, event, "", "", cells, "survival",
                     [("follow_up", fu["patient_id"])]
                     + [("death", d["patient_id"]) for d in data.get("death", [])])
                continue
            course = ev_i  # screening 0, course A 1, ...
            for instrument, table in REPEATING.items():
                items = [r for r in data.get(table, []) if r["_course"] == course]
                items.sort(key=lambda r, t=table: (r[ROW_DATE[t]], r["_order"]))  # type: ignore[misc]
                for n, r in enumerate(items, 1):
                    cells = _cells(r, instrument)
                    if instrument == "car_infusion":
                        ld = ld_by_inf.get(r["infusion_id"])
                        cells["ld_given"] = "1" if ld else "0"
                        if ld:
                            for fname in ("ld_regimen", "ld_start", "ld_flu_total", "ld_cy_total"):
                                f = FIELD_BY_NAME[fname]
                                assert f.canonical is not None
                                cells[fname] = _value(f, ld[f.canonical[1]])
                    keys = [(table, r[ID_COL[table]])]
                    if instrument == "car_infusion" and r["infusion_id"] in ld_by_inf:
                        keys.append(("lymphodepletion", ld_by_inf[r["infusion_id"]]["ld_id"]))
                    emit(rec, event, instrument, str(n), cells, instrument, keys)
    events_file = CsvFile(
        header=["event_name", "arm_num", "unique_event_name", "custom_event_label"],
        rows=[[name, "1", unique, ""] for name, unique in EVENTS],
    )
    return {
        DICT_FILE: dictionary_file(),
        DATA_FILE: CsvFile(header=cols, rows=rows),
        EVENTS_FILE: events_file,
    }
