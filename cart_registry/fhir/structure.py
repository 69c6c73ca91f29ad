"""Structural checks of one resource, in plain Python over the parsed JSON.

Three layers, cheapest first:

* ``check_json_shape`` walks the whole resource once: FHIR JSON forbids ``null`` (outside
  arrays aligned with their ``_element`` twin), empty arrays, objects and strings; resource ids
  must match ``[A-Za-z0-9-.]{1,64}``; every extension needs a ``url`` without a ``|version``
  and a value or nested extensions, not both (ext-1); primitives named by their type
  (``effectiveDateTime``, ``valueBoolean``, ``birthDate`` ...) must be of it; a Period's start
  must not follow its end (per-1). Contained resources are walked as resources.
* ``check_role`` checks the elements the registry reads from a kept resource: required
  elements, value sets of status codes (fhir.resources does not enforce them), and the shape
  (object or array) of each element before flattening trusts it.
* The optional strict check with fhir.resources R4B (``strict.py``) adds unknown elements and
  full cardinality; it costs about 150 µs a resource, so it runs only on resources we keep.

Every finding carries a FHIR element path such as ``Observation.component[2].valueQuantity``.
"""

from __future__ import annotations

import functools
from typing import Any

from cart_registry.fhir import fhirtypes as ft
from cart_registry.fhir.fhirtypes import (
    CHOICE_PREFIXES,
    COMPLEX_SUFFIXES,
    NAMED_PRIMITIVES,
    PRIMITIVE_SUFFIXES,
    STATUS_CODES,
)

Finding = tuple[str, str, str, str | None]  # (path, reason_code, message, value)

#: elements that are arrays in every R4 type that has them
ALWAYS_ARRAYS = frozenset({"coding", "extension", "modifierExtension", "contained", "given",
                           "prefix", "suffix", "profile", "tag", "security"})
#: DSTU2 kept comments in JSON; R4 has no such element
LEGACY_KEYS = frozenset({"fhir_comments"})


@functools.lru_cache(maxsize=4096)
def _choice_type(key: str) -> str | None:
    """Primitive kind of a choice element name (``valueBoolean`` -> 'boolean'); cached,
    because element names repeat across millions of nodes."""
    for prefix in CHOICE_PREFIXES:
        if key.startswith(prefix) and len(key) > len(prefix) and key[len(prefix)].isupper():
            suffix = key[len(prefix):]
            if suffix in PRIMITIVE_SUFFIXES:
                return PRIMITIVE_SUFFIXES[suffix]
            if suffix in COMPLEX_SUFFIXES:
                return "complex"
    return None


@functools.lru_cache(maxsize=4096)
def _kind_of(key: str) -> str | None:
    return _choice_type(key) or NAMED_PRIMITIVES.get(key)


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def check_primitive(kind: str, value: Any) -> str | None:
    """Why ``value`` is not a valid ``kind``, or None."""
    if kind == "boolean":
        return None if isinstance(value, bool) else "must be true or false"
    if kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else "must be a JSON integer"
    if kind == "decimal":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok else "must be a JSON number"
    if not isinstance(value, str):
        return f"must be a JSON string ({kind})"
    if kind == "date" and not ft.is_date(value):
        return f"not a valid FHIR date: {value!r}"
    if kind == "dateTime" and not ft.is_datetime(value):
        if ft.DATETIME_RE.fullmatch(value + "Z") is not None:
            return f"a dateTime with a time must have a timezone: {value!r}"
        return f"not a valid FHIR dateTime: {value!r}"
    if kind == "instant" and not ft.is_instant(value):
        return f"not a valid FHIR instant: {value!r}"
    if kind == "time" and ft.TIME_RE.fullmatch(value) is None:
        return f"not a valid FHIR time: {value!r}"
    if kind == "base64Binary" and not ft.is_base64(value):
        return f"not valid base64: {_short(value)!r}"
    return None


def _reason_for(kind: str) -> str:
    return "invalid_date" if kind in ("date", "dateTime", "instant", "time") else "invalid_type"


#: objects nested deeper than this are refused: no FHIR element is, and walking a resource
#: of 500 levels (orjson parses up to 1024) would exhaust Python's recursion limit
MAX_DEPTH = 100


class _Walker:
    def __init__(self) -> None:
        self.out: list[Finding] = []
        self.depth = 0

    def add(self, path: str, code: str, message: str, value: Any = None) -> None:
        self.out.append((path, code, message, None if value is None else _short(value)))

    def resource(self, res: dict[str, Any], path: str) -> None:
        rid = res.get("id")
        if rid is not None and (not isinstance(rid, str) or ft.ID_RE.fullmatch(rid) is None):
            why = ("too long" if isinstance(rid, str) and len(rid) > 64
                   else "invalid characters")
            self.add(f"{path}.id", "invalid_id", f"invalid resource id ({why})", rid)
        self.obj(res, path, root=True)

    def obj(self, node: dict[str, Any], path: str, root: bool = False) -> None:
        if self.depth >= MAX_DEPTH:
            self.add(path, "invalid_type", f"nested deeper than {MAX_DEPTH} levels")
            return
        self.depth += 1
        try:
            self._obj(node, path, root)
        finally:
            self.depth -= 1

    def _obj(self, node: dict[str, Any], path: str, root: bool = False) -> None:
        if not node:
            self.add(path, "empty_element", "an element must have a value or children (ele-1)")
            return
        for key, value in node.items():
            if root and key == "resourceType":
                continue
            cpath = f"{path}.{key}"
            if key in LEGACY_KEYS:
                self.add(path, "unknown_element", f"unrecognized property {key!r}")
                continue
            if value is None:
                self.add(cpath, "invalid_type", "null is not allowed in FHIR JSON")
                continue
            if key.startswith("_"):
                self.primitive_ext(key, value, node, cpath)
                continue
            if key in ALWAYS_ARRAYS and not isinstance(value, list):
                self.add(cpath, "invalid_type",
                         f"the property {key} must be a JSON array, not {_jtype(value)}")
                continue
            if key == "contained" and isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, dict) and isinstance(item.get("resourceType"), str):
                        self.resource(item, f"{cpath}[{i}]")
                    else:
                        self.add(f"{cpath}[{i}]", "invalid_type",
                                 "a contained entry must be a resource")
                continue
            kind = _kind_of(key)
            if kind and kind != "complex":
                self.typed(kind, value, cpath)
            elif kind == "complex" and not isinstance(value, dict):
                self.add(cpath, "invalid_type", f"must be a JSON object, not {_jtype(value)}")
                continue
            else:
                self.value(key, value, cpath, node)
            if key in ("extension", "modifierExtension") and isinstance(value, list):
                self.extensions(value, cpath)
            if (key == "period" or key.endswith("Period")) and isinstance(value, dict):
                self.period(value, cpath)

    def typed(self, kind: str, value: Any, path: str) -> None:
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            p = f"{path}[{i}]" if isinstance(value, list) else path
            if item is None:
                continue  # aligned with a _element entry; checked there
            why = check_primitive(kind, item)
            if why:
                self.add(p, _reason_for(kind), why, item)
            elif isinstance(item, str) and not item.strip():
                self.add(p, "empty_element", "a string must not be empty or blank")

    def value(self, key: str, value: Any, path: str, parent: dict[str, Any]) -> None:
        if isinstance(value, dict):
            if key == "resource" and isinstance(value.get("resourceType"), str):
                self.resource(value, path)
            else:
                self.obj(value, path)
        elif isinstance(value, list):
            if not value:
                self.add(path, "empty_element",
                         "an array cannot be empty (leave the property out instead)")
                return
            twin = parent.get("_" + key)
            for i, item in enumerate(value):
                ipath = f"{path}[{i}]"
                if item is None:
                    if not isinstance(twin, list):
                        self.add(ipath, "invalid_type", "null is not allowed in FHIR JSON")
                elif isinstance(item, dict):
                    self.obj(item, ipath)
                elif isinstance(item, list):
                    self.add(ipath, "invalid_type", "arrays cannot be nested")
                elif isinstance(item, str) and not item:
                    self.add(ipath, "empty_element", "a string must not be empty")
        elif isinstance(value, str):
            if not value:
                self.add(path, "empty_element", "a string must not be empty")
        # numbers and booleans: no type known here, nothing to check

    def primitive_ext(self, key: str, value: Any, parent: dict[str, Any], path: str) -> None:
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            ipath = f"{path}[{i}]" if isinstance(value, list) else path
            if item is None:
                continue
            if not isinstance(item, dict):
                self.add(ipath, "invalid_type", "a primitive's extension must be an object")
                continue
            for k in item:
                if k not in ("id", "extension"):
                    self.add(f"{ipath}.{k}", "unknown_element",
                             f"the property {k!r} is invalid on a primitive's extension")
            if "extension" in item:
                ext = item["extension"]
                if isinstance(ext, list):
                    self.value("extension", ext, f"{ipath}.extension", item)
                    self.extensions(ext, f"{ipath}.extension")
                else:
                    self.add(f"{ipath}.extension", "invalid_type", "must be a JSON array")

    def extensions(self, items: list[Any], path: str) -> None:
        for i, ext in enumerate(items):
            if not isinstance(ext, dict):
                continue
            ipath = f"{path}[{i}]"
            url = ext.get("url")
            if not isinstance(url, str) or not url:
                self.add(ipath, "missing_required", "Extension.url is required")
            elif "|" in url:
                self.add(f"{ipath}.url", "invalid_type",
                         "an extension URL must not contain a version", url)
            has_value = any(k.startswith("value") and k[5:6].isupper() for k in ext)
            if has_value and "extension" in ext:
                self.add(ipath, "invariant_failed",
                         "ext-1: an extension has nested extensions or a value, not both")
            elif not has_value and "extension" not in ext:
                self.add(ipath, "invariant_failed",
                         "ext-1: an extension must have nested extensions or a value")

    def period(self, value: dict[str, Any], path: str) -> None:
        start, end = value.get("start"), value.get("end")
        if not (isinstance(start, str) and isinstance(end, str)):
            return
        if not (ft.is_datetime(start) and ft.is_datetime(end)):
            return  # the format error is reported on its own
        if ft.compare_partial(start, end) in (1, None):
            self.add(path, "invariant_failed",
                     "per-1: if present, start SHALL have a lower value than end",
                     f"{start} .. {end}")


def _jtype(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    return "a primitive"


def check_json_shape(res: dict[str, Any], path: str | None = None) -> list[Finding]:
    """Generic FHIR JSON checks of a whole resource (contained resources included)."""
    w = _Walker()
    w.resource(res, path or str(res.get("resourceType") or "Resource"))
    return w.out


# -- the elements we read, per role ----------------------------------------------------------

#: (element, required, shape) the registry reads, per resource type; shape 'object'|'array'
_READ: dict[str, tuple[tuple[str, bool, str], ...]] = {
    "Patient": (("identifier", False, "array"), ("extension", False, "array")),
    "Condition": (("code", True, "object"), ("subject", True, "object")),
    "Procedure": (("subject", True, "object"), ("category", True, "object"),
                  ("extension", False, "array"), ("code", False, "object")),
    "MedicationAdministration": (("subject", True, "object"), ("partOf", False, "array"),
                                 ("dosage", False, "object"), ("category", True, "object")),
    "Observation": (("code", True, "object"), ("subject", True, "object"),
                    ("component", False, "array"), ("category", False, "array"),
                    ("partOf", False, "array"), ("focus", False, "array"),
                    ("extension", False, "array"), ("method", False, "object")),
    "AdverseEvent": (("subject", True, "object"), ("event", True, "object"),
                     ("suspectEntity", False, "array"), ("outcome", False, "object"),
                     ("extension", False, "array")),
}
_REQUIRED_STATUS: dict[str, str] = {
    "Observation": "status", "Procedure": "status", "MedicationAdministration": "status",
    "AdverseEvent": "actuality",
}
_CHOICE_REQUIRED: dict[str, tuple[str, ...]] = {
    "MedicationAdministration": ("effective", "medication"),
}


def check_role(res: dict[str, Any]) -> list[Finding]:
    """Required elements, status value sets and shapes of what flattening reads."""
    rtype = str(res.get("resourceType"))
    out: list[Finding] = []
    for elem, required, shape in _READ.get(rtype, ()):
        value = res.get(elem)
        if value is None:
            if required:
                out.append((f"{rtype}.{elem}", "missing_required",
                            f"{rtype}.{elem}: minimum required = 1, but only found 0", None))
            continue
        if shape == "object" and not isinstance(value, dict):
            out.append((f"{rtype}.{elem}", "invalid_type",
                        f"the property {elem} must be a JSON object, not {_jtype(value)}", None))
        if shape == "array" and not isinstance(value, list):
            out.append((f"{rtype}.{elem}", "invalid_type",
                        f"the property {elem} must be a JSON array, not {_jtype(value)}", None))
    for prefix in _CHOICE_REQUIRED.get(rtype, ()):
        if not any(k.startswith(prefix) and k[len(prefix):len(prefix) + 1].isupper()
                   for k in res):
            out.append((f"{rtype}.{prefix}[x]", "missing_required",
                        f"{rtype}.{prefix}[x]: minimum required = 1, but only found 0", None))
    for elem in ("status", "actuality", "gender"):
        vs = STATUS_CODES.get(f"{rtype}.{elem}")
        if vs is None:
            continue
        value = res.get(elem)
        if value is None:
            if _REQUIRED_STATUS.get(rtype) == elem:
                out.append((f"{rtype}.{elem}", "missing_required",
                            f"{rtype}.{elem}: minimum required = 1, but only found 0", None))
        elif value not in vs:
            out.append((f"{rtype}.{elem}", "not_in_value_set",
                        f"{value!r} is not in the required value set of {rtype}.{elem}",
                        _short(value)))
    return out


# -- a few base-specification invariants, beyond per-1 and ext-1 -----------------------------

def check_invariants(res: dict[str, Any]) -> list[Finding]:
    rtype = str(res.get("resourceType"))
    out: list[Finding] = []
    if rtype == "Observation":
        has_value = any(k.startswith("value") and k[5:6].isupper() for k in res)
        if has_value and "dataAbsentReason" in res:
            out.append(("Observation", "invariant_failed",
                        "obs-6: dataAbsentReason SHALL only be present if value[x] is not", None))
    if rtype == "RiskAssessment":
        for i, pred in enumerate(res.get("prediction") or []):
            p = pred.get("probabilityDecimal") if isinstance(pred, dict) else None
            if isinstance(p, int | float) and not isinstance(p, bool) and p > 100:
                out.append((f"RiskAssessment.prediction[{i}]", "invariant_failed",
                            "ras-2: probability must be <= 100", str(p)))
    return out
