"""Optional strict structure check with fhir.resources R4B models.

R4B is the closest release fhir.resources ships to R4 (there is no plain R4 package since
7.0; the default models are R5). It rejects unknown elements, wrong cardinality and malformed
primitives, which our own checks do not cover in full. It is slow (about 7k resources/s) and
reports in two phases (field errors hide missing required primitives until fixed), so it runs
only on the resources the registry keeps, and only when a site's ``fhir.strict`` is on.

pydantic locations use the JSON names (aliases), e.g. ``('component', 0, 'valueQuantity')``;
union branches add tags such as ``'str'`` or ``'list[str]'`` that are dropped here.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from cart_registry.fhir.structure import Finding

_TAG_RE = re.compile(r"^(str|int|float|bool|list|dict|none)(\[.*\])?$|[\[\]<>]")
_REASONS = {
    "missing": "missing_required",
    "model_field_validation.missing": "missing_required",
    "extra_forbidden": "unknown_element",
    "string_pattern_mismatch": "invalid_type",
    "list_type": "invalid_type",
    "model_type": "invalid_type",
    "base64_decode": "invalid_type",
}


@functools.lru_cache(maxsize=256)
def _model(rtype: str) -> Any:
    from fhir.resources.R4B import get_fhir_model_class

    try:
        return get_fhir_model_class(rtype)
    except (KeyError, ValueError, ImportError, AttributeError):
        return None


def fhir_path(root: str, loc: tuple[Any, ...]) -> str:
    """``('component', 0, 'valueQuantity')`` -> ``Observation.component[0].valueQuantity``."""
    out = root
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and not _TAG_RE.search(part):
            out += f".{part}"
    return out


def strict_check(res: dict[str, Any]) -> list[Finding]:
    """Findings from the R4B model of the resource's type (empty when it validates)."""
    from pydantic import ValidationError

    rtype = res.get("resourceType")
    if not isinstance(rtype, str):
        return [("Resource", "not_a_resource", "no resourceType", None)]
    model = _model(rtype)
    if model is None:
        return [(rtype, "unknown_resource_type",
                 f"{rtype!r} is not a FHIR R4B resource type", rtype)]
    try:
        model.model_validate(res)
    except ValidationError as exc:
        out: list[Finding] = []
        seen: set[tuple[str, str]] = set()
        for err in exc.errors():
            path = fhir_path(rtype, tuple(err.get("loc", ())))
            code = "invalid_date" if "Date" in str(err.get("msg", "")) else _REASONS.get(
                str(err.get("type")), "invalid_type")
            if (path, code) in seen:
                continue
            seen.add((path, code))
            out.append((path, code, f"R4B: {err.get('msg')}", None))
        return out
    except (ValueError, TypeError) as exc:  # a model validator raising outside pydantic
        return [(rtype, "invalid_type", f"R4B: {exc}", None)]
    return []
