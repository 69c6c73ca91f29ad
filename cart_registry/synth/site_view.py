"""What each site's format can say, applied to the truth rows before anything is written.

The truth must equal what an ingest of the site's export produces, so a value a format cannot
carry is null in the truth, and a value a format carries in other units is the value an ingest
computes back from the written text (the renderers format with the same helpers). Examples:
the EDC site reports a total cell count and °F; the REDCap site reports MRD in percent and has
project missing-data codes (UNK/NA/NASK) in some cells, which an ingest reads as null.
"""

from __future__ import annotations

from typing import Any

from cart_registry.synth.catalog import SITE_EDC, SITE_FHIR, SITE_REDCAP
from cart_registry.synth.prng import Stream

Row = dict[str, Any]

#: REDCap cells that may hold a project missing-data code instead of a value (column, code)
REDCAP_MISSING = {
    "patient": [("down_syndrome", "UNK")],
    "cart_infusion": [("weight_kg", "NASK"), ("bm_blast_pct_pre", "UNK"), ("split_dose", "UNK")],
    "antigen_expression": [("pct_positive", "NA"), ("antigen_density", "NA")],
    "toxicity_event": [("temp_max_c", "UNK"), ("resolution_date", "UNK")],
    "antileukemic_therapy": [("end_date", "UNK")],
}
MISSING_RATE = 0.04


def fmt_num(x: float, decimals: int = 6) -> str:
    """A number as a registry CSV shows it: fixed decimals, trailing zeros dropped."""
    s = f"{x:.{decimals}f}"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def redcap_mrd_pct(fraction: float) -> str:
    return fmt_num(fraction * 100, 8)


def edc_mrd(fraction: float) -> str:
    """Scientific notation as the EDC lab interface writes it (1.2E-04)."""
    return f"{fraction:.2E}"


def edc_temp_f(celsius: float) -> str:
    return f"{celsius * 9 / 5 + 32:.1f}"


def edc_total_cells(per_kg_e6: float, weight: float) -> int:
    return int(round(per_kg_e6 * weight * 1e6))


def apply_site_view(rows: dict[str, list[Row]], site: str, rs: Stream) -> None:
    """Rewrite one patient's rows in place to what ``site``'s export carries."""
    if site == SITE_FHIR:
        return
    for r in rows["patient"]:
        r["diagnosis_snomed"] = None  # only the FHIR site sends a SNOMED code
    if site == SITE_REDCAP:
        for r in rows["cart_infusion"]:
            r["dose_total_car_pos_e8"] = None  # the form asks for cells/kg only
        for r in rows["disease_assessment"]:
            if r["mrd_value"] is not None:
                r["mrd_value"] = float(redcap_mrd_pct(r["mrd_value"])) / 100
        for table, cols in REDCAP_MISSING.items():
            for r in rows[table]:
                for col, code in cols:
                    if r.get(col) is not None and rs.chance(MISSING_RATE):
                        r[col] = None
                        r.setdefault("_missing", {})[col] = code
    elif site == SITE_EDC:
        for r in rows["cart_infusion"]:
            r["split_dose"] = None
            cells = edc_total_cells(r["dose_car_pos_per_kg_e6"], r["weight_kg"])
            r["_total_cells"] = cells
            r["dose_total_car_pos_e8"] = cells / 1e8
            r["dose_car_pos_per_kg_e6"] = cells / 1e6 / r["weight_kg"]
        for r in rows["antigen_expression"]:
            r["antigen_density"] = None
        for r in rows["toxicity_event"]:
            r["grading_scale_version"] = None
            if r["temp_max_c"] is not None:
                r["temp_max_c"] = (float(edc_temp_f(r["temp_max_c"])) - 32) * 5 / 9
        for r in rows["disease_assessment"]:
            if r["mrd_value"] is not None:
                r["mrd_value"] = float(edc_mrd(r["mrd_value"]))
