"""``IngestResult``: what one ingest did, as an object that renders itself."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class IngestResult:
    site_id: str
    submission_id: str
    export_dir: str
    received_at: str
    manifest_path: str
    mapping_version: str
    mapping_digest: str
    #: canonical rows written per table (the ``site`` row included)
    tables: dict[str, int]
    #: ingest issues per reason code and per action
    issues_by_reason: dict[str, int]
    issues_by_action: dict[str, int]
    #: one entry per source file (``LedgerEntry.to_dict()``)
    ledger: list[dict[str, Any]]
    totals: dict[str, int]
    seconds: float
    encodings: dict[str, str] = field(default_factory=dict)

    @property
    def issues(self) -> int:
        return sum(self.issues_by_reason.values())

    @property
    def rows_quarantined(self) -> int:
        return self.totals.get("rows_quarantined", 0)

    @property
    def ok(self) -> bool:
        """The submission was written and every source row is accounted for."""
        return all(
            e["rows_read"] == e["rows_mapped"] + e["rows_quarantined"] + e["rows_ignored"]
            for e in self.ledger
        )

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["issues"] = self.issues
        out["ok"] = self.ok
        return out

    def to_markdown(self) -> str:
        lines = [
            f"## Ingest {self.submission_id} ({self.site_id})",
            "",
            f"- received {self.received_at}; mapping {self.mapping_version} "
            f"({self.mapping_digest[:12]}); {self.seconds:.2f} s",
            f"- rows read {self.totals.get('rows_read', 0)}, mapped "
            f"{self.totals.get('rows_mapped', 0)}, quarantined "
            f"{self.totals.get('rows_quarantined', 0)}, ignored {self.totals.get('rows_ignored', 0)}",
            "",
            "| table | rows |",
            "|---|---|",
            *[f"| {t} | {n} |" for t, n in sorted(self.tables.items())],
        ]
        if self.issues_by_reason:
            lines += ["", "| issue | count |", "|---|---|"]
            lines += [f"| {r} | {n} |" for r, n in sorted(self.issues_by_reason.items())]
        return "\n".join(lines) + "\n"
