"""The two records every FHIR reader produces: a located resource and a located problem.

A ``Located`` resource remembers where it came from (file, NDJSON line or Bundle entry,
``fullUrl``) so that every later problem can name its place without carrying the file around.
A ``Problem`` is one finding in the shape the ingest issue table wants; ``path`` is always a
FHIR element path (``Observation.component[2].valueQuantity.value``), never a Python location.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(slots=True)
class Located:
    """One resource as read, with its locator."""

    resource: dict[str, Any]
    #: file path relative to the export folder
    file: str
    #: NDJSON 1-based line, Bundle 0-based entry index (0 for a bare resource file)
    row: int
    #: Bundle ``entry.fullUrl`` (None in bulk files)
    full_url: str | None = None
    #: what the selection decided: a profile name ('patient', 'infusion' ...) or None
    role: str | None = None

    @property
    def type(self) -> str:
        rt = self.resource.get("resourceType")
        return rt if isinstance(rt, str) else "?"

    @property
    def id(self) -> str | None:
        rid = self.resource.get("id")
        return rid if isinstance(rid, str) else None

    @property
    def key(self) -> str:
        """``ResourceType/id`` (the id of a transaction entry may only be in its urn:uuid)."""
        rid = self.id
        if rid is None and self.full_url and self.full_url.startswith("urn:uuid:"):
            rid = self.full_url[len("urn:uuid:"):]
        return f"{self.type}/{rid if rid is not None else '?'}"


@dataclass(slots=True)
class Problem:
    """A finding with its place. ``severity='error'`` keeps the resource out (quarantine)."""

    file: str
    row: int | None
    key: str | None
    path: str | None
    reason_code: str
    message: str
    severity: Severity = "error"
    value: str | None = None
    #: extra context kept for tests and reports (not written to the issue table)
    extra: dict[str, Any] = field(default_factory=dict)

    def where(self) -> str:
        loc = self.file if self.row is None else f"{self.file}:{self.row}"
        parts = [loc, self.key or "", self.path or ""]
        return " ".join(p for p in parts if p)

    def __str__(self) -> str:
        return f"{self.where()}: {self.message}"
