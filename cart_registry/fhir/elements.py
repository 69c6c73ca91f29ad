"""Small readers of FHIR elements that flattening uses: extensions, components, codings.

Each returns ``(text, path)``: the value as text (what a source table holds) and the element
path it came from, so that a mapping failure on the cell names a FHIR element. Numbers keep
their JSON spelling as far as Python allows (``repr`` of a float is the shortest text that
reads back to the same number); booleans become ``true``/``false``; dateTimes are cut to
their first ten characters, the local calendar date (docs/fhir-profile.md §2), never
converted to UTC.
"""

from __future__ import annotations

from typing import Any

from cart_registry.fhir.conventions import cs, ext
from cart_registry.fhir.selection import RO, codings

Cell = tuple[str | None, str]  # (text, FHIR element path)


def text(value: Any) -> str | None:
    """A JSON primitive as source-table text."""
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if value == value else None
    return str(value)


def day(value: Any) -> str | None:
    """The calendar date of a FHIR date/dateTime: its first ten characters."""
    if not isinstance(value, str):
        return None
    return value[:10] if "T" in value else value


def extension(res: dict[str, Any], name: str) -> dict[str, Any] | None:
    for e in res.get("extension") or ():
        if isinstance(e, dict) and e.get("url") == ext(name):
            return e
    return None


def ext_value(res: dict[str, Any], rtype: str, name: str, key: str) -> Cell:
    path = f"{rtype}.extension[url={ext(name)}].{key}"
    e = extension(res, name)
    return (text(e.get(key)) if e else None), path


def ext_quantity(res: dict[str, Any], rtype: str, name: str) -> tuple[Cell, Cell]:
    path = f"{rtype}.extension[url={ext(name)}].valueQuantity"
    e = extension(res, name)
    q = e.get("valueQuantity") if e else None
    if not isinstance(q, dict):
        return (None, f"{path}.value"), (None, f"{path}.code")
    return (text(q.get("value")), f"{path}.value"), (text(q.get("code")), f"{path}.code")


def ext_code_in(res: dict[str, Any], rtype: str, name: str,
                systems: tuple[str, ...]) -> tuple[Cell, Cell]:
    """(code in one of ``systems`` or the first coding, text) of a CodeableConcept extension."""
    path = f"{rtype}.extension[url={ext(name)}].valueCodeableConcept"
    e = extension(res, name)
    concept = e.get("valueCodeableConcept") if e else None
    code = None
    for s, k in codings(concept):
        if not systems or s in systems:
            code = k
            break
    label = concept.get("text") if isinstance(concept, dict) else None
    sys_txt = "|".join(systems) if systems else "*"
    return (code, f"{path}.coding[system={sys_txt}].code"), (text(label), f"{path}.text")


def code_in(concept: Any, system: str) -> str | None:
    for s, k in codings(concept):
        if s == system:
            return k
    return None


def concept_code(res: dict[str, Any], rtype: str, element: str, system_name: str) -> Cell:
    """``<element>.coding[system=CS:<name>].code``."""
    return (code_in(res.get(element), cs(system_name)),
            f"{rtype}.{element}.coding[system={cs(system_name)}].code")


def components(res: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Components keyed by their registry-observation code."""
    out: dict[str, list[dict[str, Any]]] = {}
    for c in res.get("component") or ():
        if isinstance(c, dict):
            code = code_in(c.get("code"), RO)
            if code is not None:
                out.setdefault(code, []).append(c)
    return out


def comp_path(rtype: str, code: str, key: str) -> str:
    return f"{rtype}.component[code={RO}|{code}].{key}"


def comp_value(comps: dict[str, list[dict[str, Any]]], rtype: str, code: str, key: str) -> Cell:
    items = comps.get(code) or []
    value = items[0].get(key) if items else None
    if key == "valueQuantity":
        return (text(value.get("value")) if isinstance(value, dict) else None,
                comp_path(rtype, code, "valueQuantity.value"))
    return text(value), comp_path(rtype, code, key)


def comp_code(comps: dict[str, list[dict[str, Any]]], rtype: str, code: str,
              system_name: str) -> Cell:
    items = comps.get(code) or []
    concept = items[0].get("valueCodeableConcept") if items else None
    return (code_in(concept, cs(system_name)),
            comp_path(rtype, code, f"valueCodeableConcept.coding[system={cs(system_name)}].code"))


def repeated_components(res: dict[str, Any]) -> list[str]:
    """Registry component codes that occur more than once (the value would be a guess)."""
    return sorted(k for k, v in components(res).items() if len(v) > 1)
