"""Which resources the registry uses, decided first by type and code.

The decision has two steps so that the bulk reader can make the first one in DuckDB over
millions of lines without building Python objects:

1. ``candidate``: the resource type is used and a code, category or event coding carries a
   registry system or one of the selecting codes (``Conventions.selecting_codes``). The SQL
   form (``sql_candidate``) is deliberately a superset of the Python form; whatever SQL lets
   through is checked again in Python, so both paths reach the same decision.
2. ``classify``: the exact role of a candidate ('patient', 'infusion', 'tox_grade' ...) or the
   reason it is not used after all (a disease status that is not a relapse, a body weight that
   belongs to no infusion).

Ignore reasons name the resource type after a colon (``'resource type not used: Encounter'``)
so that the ledger's reasons can be summed per type.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cart_registry.fhir.conventions import (
    PROCEDURE_ROLES,
    REGISTRY_CS,
    RO_ROLES,
    Coding,
    Conventions,
    cs,
)

#: resource types that can carry registry content
USED_TYPES = frozenset({
    "Patient", "Condition", "Procedure", "MedicationAdministration", "Observation",
    "AdverseEvent", "BiologicallyDerivedProduct",
})
#: elements whose codings decide whether a resource is a candidate
CODE_ELEMENTS = ("code", "event", "medicationCodeableConcept")
RO = cs("registry-observation")


def not_used_reason(rtype: str) -> str:
    """The ledger reason of a resource that is not a candidate."""
    if rtype == "BiologicallyDerivedProduct":
        # docs/fhir-profile.md §5 gap 1: the construct comes from the infusion Procedure
        return "product read from the infusion Procedure instead: BiologicallyDerivedProduct"
    if rtype in USED_TYPES:
        return f"no registry code: {rtype}"
    return f"resource type not used: {rtype}"


def type_of_reason(reason: str) -> str:
    """Inverse of the reason convention: the resource type after the last colon."""
    return reason.rsplit(": ", 1)[-1]


def codings(cc: Any) -> Iterator[Coding]:
    """(system, code) pairs of a CodeableConcept (or a list of them); tolerant of bad shapes."""
    items = cc if isinstance(cc, list) else [cc]
    for item in items:
        if not isinstance(item, dict):
            continue
        cod = item.get("coding")
        if not isinstance(cod, list):
            continue
        for c in cod:
            if isinstance(c, dict):
                s, k = c.get("system"), c.get("code")
                if isinstance(s, str) and isinstance(k, str):
                    yield s, k


def has_coding(cc: Any, wanted: tuple[Coding, ...] | frozenset[Coding]) -> bool:
    return any(c in wanted for c in codings(cc))


def registry_code(cc: Any, system: str) -> str | None:
    """The code of the first coding in ``system``."""
    for s, k in codings(cc):
        if s == system:
            return k
    return None


class Selector:
    """Candidate test and role classification under one site's conventions."""

    def __init__(self, conv: Conventions | None = None) -> None:
        self.conv = conv or Conventions()
        self.select_codes = self.conv.selecting_codes()

    # -- step 1 ---------------------------------------------------------------------------
    def candidate(self, res: dict[str, Any]) -> bool:
        rtype = res.get("resourceType")
        if rtype == "Patient":
            return True
        if rtype not in USED_TYPES or rtype == "BiologicallyDerivedProduct":
            return False
        for name in CODE_ELEMENTS:
            for s, k in codings(res.get(name)):
                if s.startswith(REGISTRY_CS) or (s, k) in self.select_codes:
                    return True
                if (s, k) in self.conv.body_weight and res.get("partOf") is not None:
                    return True
        return any(s.startswith(REGISTRY_CS) for s, _ in codings(res.get("category")))

    def sql_columns(self) -> dict[str, str]:
        """Typed columns for DuckDB ``read_ndjson``: only what ``sql_candidate`` reads."""
        cc = "STRUCT(coding STRUCT(system VARCHAR, code VARCHAR)[])"
        return {
            "resourceType": "VARCHAR",
            "id": "VARCHAR",
            "code": cc,
            "event": cc,
            "medicationCodeableConcept": cc,
            # a list in Observation/Condition, one CodeableConcept in Procedure: kept as JSON
            # text and searched, so one column type fits every resource type
            "category": "JSON",
            "partOf": "JSON",
        }

    def sql_candidate(self) -> str:
        """A SQL boolean over ``sql_columns`` that is true for every Python candidate."""

        def lit(s: str) -> str:
            return "'" + s.replace("'", "''") + "'"

        codes = ", ".join(lit(k) for k in sorted({k for _, k in self.select_codes})) or "''"
        weight = ", ".join(lit(k) for k in sorted({k for _, k in self.conv.body_weight})) or "''"
        used = ", ".join(lit(t) for t in sorted(USED_TYPES - {"BiologicallyDerivedProduct"}))
        prefix = lit(REGISTRY_CS)

        # codes are compared without their system: a superset of the Python test, which
        # decides; one cheap lambda per column keeps the scan close to a plain typed read
        def coded(col: str) -> str:
            return (f"coalesce(len(list_filter({col}.coding, lambda c: starts_with(c.system, "
                    f"{prefix}) or c.code in ({codes}) or (partOf is not null and c.code in "
                    f"({weight})))) > 0, false)")

        tests = [coded(c) for c in CODE_ELEMENTS]
        tests.append(f"coalesce(contains(category::VARCHAR, {prefix}), false)")
        return (f"(resourceType = 'Patient' or (resourceType in ({used}) and ("
                + " or ".join(tests) + ")))")

    # -- step 2 ---------------------------------------------------------------------------
    def classify(self, res: dict[str, Any]) -> tuple[str | None, str | None]:
        """``(role, None)`` for a resource the registry uses, else ``(None, reason)``."""
        rtype = str(res.get("resourceType"))
        if not self.candidate(res):
            return None, not_used_reason(rtype)
        conv = self.conv
        if rtype == "Patient":
            return "patient", None
        if rtype == "Condition":
            if has_coding(res.get("code"), conv.diagnosis):
                return "diagnosis", None
        elif rtype == "Procedure":
            code = registry_code(res.get("category"), cs("registry-procedure"))
            if code in PROCEDURE_ROLES:
                return PROCEDURE_ROLES[code], None
        elif rtype == "MedicationAdministration":
            code = registry_code(res.get("category"), cs("registry-medication-category"))
            if code == "lymphodepletion":
                return "ld_agent", None
        elif rtype == "AdverseEvent":
            ev = res.get("event")
            if (registry_code(ev, cs("toxicity-type")) is not None
                    or has_coding(ev, conv.crs_event + conv.icans_event)):
                return "toxicity", None
        elif rtype == "Observation":
            return self._observation(res)
        return None, f"no registry code: {rtype}"

    def _observation(self, res: dict[str, Any]) -> tuple[str | None, str | None]:
        conv = self.conv
        code = res.get("code")
        ro = registry_code(code, RO)
        if ro in RO_ROLES:
            return RO_ROLES[ro], None
        if has_coding(code, conv.antigen_panel):
            return "antigen", None
        if has_coding(code, conv.disease_status):
            if has_coding(res.get("valueCodeableConcept"), conv.relapse_value):
                return "relapse", None
            return None, "disease status other than worsened: Observation"
        if has_coding(code, conv.cause_of_death):
            return "death_cause", None
        if has_coding(code, conv.body_weight) and res.get("partOf") is not None:
            return "weight", None
        return None, "no registry code: Observation"
