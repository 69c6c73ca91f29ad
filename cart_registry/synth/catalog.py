"""The synthetic registry's reference data: the 14 CAR T constructs and the three sites.

``CONSTRUCTS`` is written verbatim to ``mappings/constructs.yaml`` (the central catalog, one
row per construct with exactly the ``car_construct`` business columns). Each site names the
products by its own local codes (``LOCAL_PRODUCT_CODES``); sample_exports/README.md prints the
correspondence so that the site mappings can be written from it.

The constructs are generic products modelled on published paediatric B-ALL programmes. NCT
numbers point to trials of similar constructs for illustration only; RxNorm codes were not
verified and are left empty.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

#: columns of car_construct, in the standard's order
CONSTRUCT_COLUMNS = (
    "construct_id", "construct_name", "product_type", "target_antigens", "target_design",
    "costim_domain", "binder_origin", "vector", "manufacturer", "nct_id", "rxnorm_cui",
)


@dataclass(frozen=True)
class Construct:
    construct_id: str
    construct_name: str
    product_type: str
    target_antigens: tuple[str, ...]
    target_design: str
    costim_domain: str
    binder_origin: str
    vector: str
    manufacturer: str | None
    nct_id: str | None
    rxnorm_cui: str | None

    @property
    def targets_key(self) -> str:
        return "/".join(self.target_antigens)

    def row(self) -> dict[str, object]:
        return {
            "construct_id": self.construct_id,
            "construct_name": self.construct_name,
            "product_type": self.product_type,
            "target_antigens": list(self.target_antigens),
            "target_design": self.target_design,
            "costim_domain": self.costim_domain,
            "binder_origin": self.binder_origin,
            "vector": self.vector,
            "manufacturer": self.manufacturer,
            "nct_id": self.nct_id,
            "rxnorm_cui": self.rxnorm_cui,
        }


def _c(*args: object) -> Construct:
    cid, name, ptype, targets, design, costim, binder, vector, maker, nct = args
    assert isinstance(targets, tuple)
    return Construct(
        str(cid), str(name), str(ptype), tuple(sorted(str(t) for t in targets)), str(design),
        str(costim), str(binder), str(vector), maker if maker is None else str(maker),
        nct if nct is None else str(nct), None,
    )


CONSTRUCTS: tuple[Construct, ...] = (
    _c("tisa-cel", "tisagenlecleucel (Kymriah)", "commercial", ("CD19",), "single", "4-1BB",
       "murine", "lentiviral", "Novartis", None),
    _c("brexu-cel", "brexucabtagene autoleucel (Tecartus)", "commercial", ("CD19",), "single",
       "CD28", "murine", "gammaretroviral", "Kite Pharma", None),
    _c("cd19-41bb-scri", "SCRI CD19 4-1BB CAR (defined composition)", "investigational",
       ("CD19",), "single", "4-1BB", "murine", "lentiviral", "Seattle Children's", "NCT02028455"),
    _c("cd19-41bb-hu", "humanized CD19 4-1BB CAR", "investigational", ("CD19",), "single",
       "4-1BB", "humanized", "lentiviral", "Children's Hospital of Philadelphia", None),
    _c("cd19-28z-mskcc", "19-28z CAR", "investigational", ("CD19",), "single", "CD28", "murine",
       "gammaretroviral", "Memorial Sloan Kettering", "NCT01860937"),
    _c("cd19-28z-nci", "FMC63-28z CD19 CAR", "investigational", ("CD19",), "single", "CD28",
       "murine", "gammaretroviral", "National Cancer Institute", "NCT01593696"),
    _c("cd19-41bb-fh", "CD19 4-1BB CAR, defined CD4:CD8 ratio", "investigational", ("CD19",),
       "single", "4-1BB", "murine", "lentiviral", "Fred Hutchinson", "NCT01865617"),
    _c("cd19-28z-sb", "CD19 CD28 CAR (Sleeping Beauty transposon)", "investigational",
       ("CD19",), "single", "CD28", "murine", "transposon", "academic GMP facility", None),
    _c("cd22-41bb-nci", "m971 CD22 4-1BB CAR", "investigational", ("CD22",), "single", "4-1BB",
       "fully_human", "lentiviral", "National Cancer Institute", "NCT02315612"),
    _c("cd22-41bb-penn", "CD22 4-1BB CAR (short linker)", "investigational", ("CD22",),
       "single", "4-1BB", "fully_human", "lentiviral", "University of Pennsylvania",
       "NCT02650414"),
    _c("cd22-41bb-scri", "SCRI CD22 4-1BB CAR", "investigational", ("CD22",), "single",
       "4-1BB", "fully_human", "lentiviral", "Seattle Children's", "NCT03244306"),
    _c("cd19x22-tandem", "CD19/CD22 tandem bispecific CAR", "investigational",
       ("CD19", "CD22"), "tandem_bispecific", "4-1BB", "unknown", "lentiviral",
       "Stanford University", "NCT03241940"),
    _c("cd19x22-coadmin", "CD19 and CD22 CAR T cells co-administered", "investigational",
       ("CD19", "CD22"), "co_administered", "4-1BB", "unknown", "lentiviral",
       "Seattle Children's", "NCT03330691"),
    _c("cd19x22-bicis", "bicistronic CD19/CD22 CAR", "investigational", ("CD19", "CD22"),
       "bicistronic", "other", "humanized", "gammaretroviral", "Autolus", "NCT03289455"),
)

CONSTRUCT_BY_ID: dict[str, Construct] = {c.construct_id: c for c in CONSTRUCTS}

#: constructs grouped by target set; "different antigen" compares these sets
BY_TARGETS: dict[str, tuple[str, ...]] = {}
for _con in CONSTRUCTS:
    BY_TARGETS[_con.targets_key] = BY_TARGETS.get(_con.targets_key, ()) + (_con.construct_id,)

# ---------------------------------------------------------------------------- sites
SITE_REDCAP = "site_redcap"
SITE_EDC = "site_edc"
SITE_FHIR = "site_fhir"
SITE_IDS = (SITE_REDCAP, SITE_EDC, SITE_FHIR)

DATA_CUTOFF = dt.date(2023, 6, 30)


@dataclass(frozen=True)
class SiteInfo:
    site_id: str
    site_label: str
    country: str
    export_format: str
    date_shift_policy: str
    data_cutoff_date: dt.date

    def row(self) -> dict[str, object]:
        return {
            "site_id": self.site_id,
            "site_label": self.site_label,
            "country": self.country,
            "export_format": self.export_format,
            "date_shift_policy": self.date_shift_policy,
            "pseudonym_key_version": None,
            "data_cutoff_date": self.data_cutoff_date,
        }


SITES: tuple[SiteInfo, ...] = (
    SiteInfo(SITE_REDCAP, "Synthetic Children's Hospital (REDCap)", "US", "redcap_csv", "none",
             DATA_CUTOFF),
    SiteInfo(SITE_EDC, "Centre hospitalier synthétique (EDC CSV)", "CA", "csv_other", "none",
             DATA_CUTOFF),
    SiteInfo(SITE_FHIR, "Synthetic Medical Center (FHIR)", "US", "fhir_ndjson", "none",
             DATA_CUTOFF),
)

# ---------------------------------------------------------------------------- local codes
#: how each site names each construct. REDCap: dropdown raw codes; EDC: product codes;
#: FHIR: codes of the site's own CodeSystem (commercial products also carry RxNorm text).
LOCAL_PRODUCT_CODES: dict[str, dict[str, str]] = {
    SITE_REDCAP: {
        "tisa-cel": "1", "brexu-cel": "2", "cd19-41bb-scri": "3", "cd19-41bb-hu": "4",
        "cd19-28z-mskcc": "5", "cd19-28z-nci": "6", "cd19-41bb-fh": "7", "cd19-28z-sb": "8",
        "cd22-41bb-nci": "9", "cd22-41bb-penn": "10", "cd22-41bb-scri": "11",
        "cd19x22-tandem": "12", "cd19x22-coadmin": "13", "cd19x22-bicis": "14",
    },
    SITE_EDC: {
        "tisa-cel": "KYMRIAH", "brexu-cel": "TECARTUS", "cd19-41bb-scri": "CAR19-SCRI",
        "cd19-41bb-hu": "HUCAR19", "cd19-28z-mskcc": "CAR19-MSK", "cd19-28z-nci": "CAR19-NCI",
        "cd19-41bb-fh": "CAR19-FH", "cd19-28z-sb": "CAR19-SB", "cd22-41bb-nci": "CAR22-NCI",
        "cd22-41bb-penn": "CAR22-UPENN", "cd22-41bb-scri": "CAR22-SCRI",
        "cd19x22-tandem": "CAR1922-TAN", "cd19x22-coadmin": "CAR19+22-COADM",
        "cd19x22-bicis": "CAR1922-BIC",
    },
    SITE_FHIR: {
        "tisa-cel": "CTP-001", "brexu-cel": "CTP-002", "cd19-41bb-scri": "CTP-103",
        "cd19-41bb-hu": "CTP-104", "cd19-28z-mskcc": "CTP-105", "cd19-28z-nci": "CTP-106",
        "cd19-41bb-fh": "CTP-107", "cd19-28z-sb": "CTP-108", "cd22-41bb-nci": "CTP-209",
        "cd22-41bb-penn": "CTP-210", "cd22-41bb-scri": "CTP-211", "cd19x22-tandem": "CTP-312",
        "cd19x22-coadmin": "CTP-313", "cd19x22-bicis": "CTP-314",
    },
}

#: the labels sites show beside their local codes (REDCap choice labels, EDC code list)
LOCAL_PRODUCT_LABELS: dict[str, str] = {
    "tisa-cel": "Kymriah (tisagenlecleucel)",
    "brexu-cel": "Tecartus (brexucabtagene autoleucel)",
    "cd19-41bb-scri": "CD19 CAR, SCRI (4-1BB)",
    "cd19-41bb-hu": "Humanized CD19 CAR (4-1BB)",
    "cd19-28z-mskcc": "CD19 CAR 19-28z (MSKCC)",
    "cd19-28z-nci": "CD19 CAR FMC63-28z (NCI)",
    "cd19-41bb-fh": "CD19 CAR CD4:CD8 (Fred Hutch)",
    "cd19-28z-sb": "CD19 CAR Sleeping Beauty",
    "cd22-41bb-nci": "CD22 CAR m971 (NCI)",
    "cd22-41bb-penn": "CD22 CAR (Penn)",
    "cd22-41bb-scri": "CD22 CAR, SCRI",
    "cd19x22-tandem": "CD19/CD22 tandem bispecific CAR",
    "cd19x22-coadmin": "CD19 + CD22 CAR co-administration",
    "cd19x22-bicis": "CD19/CD22 bicistronic CAR",
}


def constructs_yaml() -> str:
    """``mappings/constructs.yaml``: the central catalog (tests/synth checks it is current)."""
    import yaml

    head = (
        "# Central catalog of CAR T constructs (table car_construct): one row per construct,\n"
        "# exactly the car_construct business columns. Written from\n"
        "# cart_registry/synth/catalog.py; the sites' local product codes are listed in\n"
        "# sample_exports/README.md section 3. NCT ids point to trials of similar constructs, for\n"
        "# illustration; RxNorm codes were not verified and are left empty.\n"
    )
    rows = [c.row() for c in CONSTRUCTS]
    return head + yaml.safe_dump(rows, sort_keys=False, allow_unicode=True, width=100)
