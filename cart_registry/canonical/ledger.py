"""The row ledger: every source row is mapped, quarantined or ignored with a reason.

``rows_read == rows_mapped + rows_quarantined + rows_ignored`` for every source file. A
mismatch is a bug in the pipeline, not a data problem, so it stops the run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from cart_registry.errors import CartRegistryError


class LedgerMismatch(CartRegistryError):
    """Rows were lost or double-counted: an internal error, never a data error."""


@dataclass
class LedgerEntry:
    source_file: str
    sha256: str
    rows_read: int = 0
    #: rows that produced at least one canonical row
    rows_mapped: int = 0
    #: rows kept out of the canonical tables, each with a reason in the ingest issues
    rows_quarantined: int = 0
    #: rows no mapping uses (e.g. a REDCap row of an instrument the registry does not map,
    #: a FHIR resource type the registry does not use), counted per reason
    rows_ignored: int = 0
    ignored_reasons: dict[str, int] = field(default_factory=dict)
    #: canonical rows produced from this file, per table (one source row may feed several)
    canonical_rows: dict[str, int] = field(default_factory=dict)

    def ignore(self, reason: str, n: int) -> None:
        if n:
            self.rows_ignored += n
            self.ignored_reasons[reason] = self.ignored_reasons.get(reason, 0) + n

    @property
    def balanced(self) -> bool:
        return self.rows_read == self.rows_mapped + self.rows_quarantined + self.rows_ignored

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Ledger:
    entries: dict[str, LedgerEntry] = field(default_factory=dict)

    def entry(self, source_file: str, sha256: str) -> LedgerEntry:
        if source_file not in self.entries:
            self.entries[source_file] = LedgerEntry(source_file=source_file, sha256=sha256)
        return self.entries[source_file]

    def check(self) -> None:
        for e in self.entries.values():
            if not e.balanced:
                raise LedgerMismatch(
                    f"row ledger does not balance for {e.source_file}: read {e.rows_read} != "
                    f"mapped {e.rows_mapped} + quarantined {e.rows_quarantined} + "
                    f"ignored {e.rows_ignored} (this is a bug; please report it)"
                )

    def totals(self) -> dict[str, int]:
        keys = ("rows_read", "rows_mapped", "rows_quarantined", "rows_ignored")
        return {k: sum(getattr(e, k) for e in self.entries.values()) for k in keys}

    def to_list(self) -> list[dict[str, Any]]:
        return [self.entries[k].to_dict() for k in sorted(self.entries)]
