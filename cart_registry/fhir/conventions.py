"""The registry's FHIR R4 conventions (docs/fhir-profile.md) as data, with per-site overrides.

Everything the FHIR reader needs to recognise a registry resource is named here once: code
system URIs, the codes that select a resource, the extension URLs it reads. A site whose EHR
uses its own code for, say, fludarabine or the B-ALL diagnosis overrides that entry in its
``site.yaml`` (``reader: {kind: fhir, options: {codes: {fludarabine: [{system: ..., code:
...}]}}}``); the registry's
own CodeSystems and extensions are the same for every site and are not overridable per code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from cart_registry.errors import ConfigError

REGISTRY_CS = "https://cart-registry.org/fhir/CodeSystem/"
REGISTRY_EXT = "https://cart-registry.org/fhir/StructureDefinition/"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
AE_OUTCOME = "http://terminology.hl7.org/CodeSystem/adverse-event-outcome"

Coding = tuple[str, str]  # (system, code)

#: the registry-observation codes (``RO|x``) and the role they give an Observation
RO_ROLES: dict[str, str] = {
    "cytogenetic-lesion": "baseline",
    "down-syndrome": "baseline",
    "prior-blinatumomab": "baseline",
    "prior-inotuzumab": "baseline",
    "prior-hsct-count": "baseline",
    "disease-assessment": "assessment",
    "toxicity-grade": "tox_grade",
    "last-contact": "last_contact",
}
#: registry-procedure category codes and the role they give a Procedure
PROCEDURE_ROLES: dict[str, str] = {
    "car-t-infusion": "infusion",
    "hsct": "hsct",
    "antileukemic-therapy": "therapy",
}


def cs(name: str) -> str:
    """URI of a registry CodeSystem."""
    return REGISTRY_CS + name


def ext(name: str) -> str:
    """URL of a registry extension."""
    return REGISTRY_EXT + name


@dataclass(frozen=True)
class Conventions:
    """Codes that identify registry content. Defaults follow docs/fhir-profile.md."""

    diagnosis: tuple[Coding, ...] = ((SNOMED, "277571004"),)
    antigen_panel: tuple[Coding, ...] = ((LOINC, "101119-6"),)
    disease_status: tuple[Coding, ...] = ((LOINC, "97509-4"),)
    #: CancerDiseaseStatus values that mean relapse (SNOMED 'worsened')
    relapse_value: tuple[Coding, ...] = ((SNOMED, "271299001"),)
    cause_of_death: tuple[Coding, ...] = ((LOINC, "69453-9"),)
    body_weight: tuple[Coding, ...] = ((LOINC, "29463-7"),)
    fludarabine: tuple[Coding, ...] = ((RXNORM, "24698"),)
    cyclophosphamide: tuple[Coding, ...] = ((RXNORM, "3002"),)
    crs_event: tuple[Coding, ...] = ((SNOMED, "1163256004"),)
    icans_event: tuple[Coding, ...] = ((SNOMED, "1260220006"),)
    #: systems of the site's product codes on the car-product extension; empty = any system
    product_systems: tuple[str, ...] = ()
    #: system of the patient pseudonym identifier (informational; the id is Patient.id)
    pseudonym_system: str | None = None
    #: extra notes kept for the lineage
    notes: dict[str, str] = field(default_factory=dict)

    # -- what the selection uses ---------------------------------------------------------
    def selecting_codes(self) -> frozenset[Coding]:
        """(system, code) pairs that make a resource a candidate, besides registry systems."""
        out: set[Coding] = set()
        for name in ("diagnosis", "antigen_panel", "disease_status", "cause_of_death",
                     "crs_event", "icans_event"):
            out.update(getattr(self, name))
        return frozenset(out)

    @classmethod
    def from_site(cls, raw: Mapping[str, Any] | None, where: str = "site.yaml") -> Conventions:
        """Defaults, then a site's overrides (``codes`` entries replace the defaults)."""
        conv = cls()
        if not raw:
            return conv
        allowed = {"codes", "product_systems", "pseudonym_system"}
        unknown = sorted(set(raw) - allowed)
        if unknown:
            raise ConfigError(f"{where}: unknown convention key(s) {unknown} (allowed: "
                              f"{sorted(allowed)})")
        code_fields = {f.name for f in fields(cls) if f.type == "tuple[Coding, ...]"}
        updates: dict[str, Any] = {}
        for name, items in (raw.get("codes") or {}).items():
            if name not in code_fields:
                raise ConfigError(f"{where}: reader.options.codes.{name} is not a known code (one of "
                                  f"{sorted(code_fields)})")
            if not isinstance(items, list) or not all(
                isinstance(i, dict) and isinstance(i.get("system"), str)
                and isinstance(i.get("code"), str | int) for i in items
            ):
                raise ConfigError(f"{where}: reader.options.codes.{name} must be a list of "
                                  "{system: ..., code: ...}")
            updates[name] = tuple((i["system"], str(i["code"])) for i in items)
        if "product_systems" in raw:
            ps = raw["product_systems"]
            if not isinstance(ps, list) or not all(isinstance(s, str) for s in ps):
                raise ConfigError(f"{where}: reader.options.product_systems must be a list of URIs")
            updates["product_systems"] = tuple(ps)
        if raw.get("pseudonym_system") is not None:
            updates["pseudonym_system"] = str(raw["pseudonym_system"])
        return replace(conv, **updates)
