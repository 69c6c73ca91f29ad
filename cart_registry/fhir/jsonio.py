"""JSON text to Python values, with the line and column of the first fault.

orjson is fast and strict (RFC 8259: no comments, no trailing commas, no NaN), which is what
FHIR JSON requires. Its error is a ``json.JSONDecodeError`` subclass, so it carries the line,
column and character offset we report. Duplicate keys are not detected here (orjson keeps the
last one); ``strict`` validation of single files reparses with the standard library to find
them, because that costs a second parse that the bulk path cannot afford.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class JsonFault:
    """Why a text is not JSON, and where (1-based line and column inside that text)."""

    message: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"not valid JSON at line {self.line}, column {self.column}: {self.message}"


def parse(data: bytes | str) -> tuple[Any, JsonFault | None]:
    """``(value, None)`` or ``(None, fault)``; never raises on bad input."""
    try:
        return orjson.loads(data), None
    except orjson.JSONDecodeError as exc:
        msg = exc.msg if isinstance(exc.msg, str) else str(exc)
        return None, JsonFault(msg, exc.lineno, exc.colno)
    except (TypeError, ValueError, RecursionError) as exc:  # e.g. nesting deeper than orjson allows
        return None, JsonFault(str(exc) or type(exc).__name__, 1, 1)


def duplicate_keys(data: bytes | str) -> list[str]:
    """Keys that occur twice in one object (FHIR JSON forbids them), as ``a.b.key`` paths."""
    found: list[str] = []

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                found.append(k)
            seen.add(k)
        return dict(pairs)

    try:
        json.loads(data, object_pairs_hook=hook)
    except (ValueError, RecursionError):
        return []
    return found
