"""The optional ``deidentify:`` section of a site's ``site.yaml``.

The mapping already says which source fields hold the patient id, dates and free text (through
the canonical columns they feed). This section adds what the mapping cannot know: fields the
export carries that no rule reads but that identify a person (MRN, names), extra dates or
free text, and what to do with fields the mapping does not read at all.

This module imports pydantic only: ``cart_registry.mapping.spec`` imports it to add the field
to ``SiteFile``, so it must not import the mapping (or anything heavy) back.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class DeidentifySpec(BaseModel):
    """How ``cart-registry deidentify`` treats this site's export (all keys optional)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    direct_identifiers: list[str] = Field(
        default_factory=list,
        description="Source fields that identify a person directly (MRN, names, phone, "
        "address, e-mail): removed. CSV/REDCap: column or field names; FHIR: element paths "
        "such as 'Patient.extension' or '*.performer'.",
    )
    free_text: list[str] = Field(
        default_factory=list,
        description="Extra free-text source fields (besides those feeding a free_text column "
        "of the standard and REDCap notes fields).",
    )
    free_text_action: Literal["drop", "flag"] = Field(
        default="drop",
        description="drop: free-text cells are emptied (or the column removed when no rule "
        "reads it); flag: kept and counted in the report, for a manual scrub at the site.",
    )
    dates: list[str] = Field(
        default_factory=list,
        description="Extra source date fields no rule reads as a date (only matters with "
        "unmapped_fields: keep); parsed with the site's date_formats.",
    )
    unmapped_fields: Literal["drop", "keep"] = Field(
        default="drop",
        description="Fields no rule reads and that are not declared: drop them (minimum "
        "necessary) or keep them unchanged.",
    )
    patient_id_fields: dict[str, str] = Field(
        default_factory=dict,
        description="Source table -> field holding the patient id, for a source with dates "
        "whose rules never map patient_id.",
    )
    fhir_resource_types: list[str] | None = Field(
        default=None,
        description="FHIR resource types kept (default: the types the registry reads, "
        "Patient, Condition, Procedure, Observation, MedicationAdministration, AdverseEvent, "
        "BiologicallyDerivedProduct); every other resource is left out.",
    )
