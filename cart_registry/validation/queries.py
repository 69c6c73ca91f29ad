"""Import a site's answered query list: responses go to history, ``confirmed_as_is`` to waivers.

The query list (``queries_<site>.csv``) round-trips: the site fills ``site_response``,
``resolution`` (corrected / confirmed_as_is / not_available / disagree, the REDCap Data
Resolution Workflow states), ``responder`` and ``response_date``. A ``confirmed_as_is``
answer with a reason becomes a waiver of that issue fingerprint until it expires (CIBMTR
"override with reason", HRSA "explainable error"); the next run reports the issue as waived
and leaves it out of the rule's count.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cart_registry.errors import InputError
from cart_registry.fsutil import sha256_file
from cart_registry.project import Project
from cart_registry.validation.summaries import RESOLUTIONS

REQUIRED = ("issue_fingerprint", "site_id", "rule_id", "resolution")
DEFAULT_EXPIRY_DAYS = 365


@dataclass(frozen=True)
class QueryImportResult:
    file: str
    rows: int
    answered: int
    by_resolution: dict[str, int]
    waivers: int
    waiver_fingerprints: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "rows": self.rows, "answered": self.answered,
                "by_resolution": self.by_resolution, "waivers": self.waivers}


def _undo_neutralise(cell: str) -> str:
    # the export prefixed formula-like cells with an apostrophe; take it off again
    if len(cell) > 1 and cell[0] == "'" and cell[1] in "=+-@\t\r":
        return cell[1:]
    return cell


def _date(value: str, what: str, line: int) -> dt.date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise InputError(f"line {line}: {what} {value!r} is not a date (use YYYY-MM-DD)") from None


def read_answers(path: Path) -> list[tuple[int, dict[str, str]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(f"{path.name}: not a query list, missing column(s) {missing}")
    return [
        (i, {k: _undo_neutralise(v or "") for k, v in row.items() if k is not None})
        for i, row in enumerate(reader, start=2)
    ]


def import_queries(
    project: Project,
    path: Path,
    *,
    expires_days: int = DEFAULT_EXPIRY_DAYS,
    today: dt.date | None = None,
) -> QueryImportResult:
    """Record every answered row; make waivers of the ``confirmed_as_is`` ones."""
    import pyarrow as pa

    from cart_registry.validation.history import save_responses

    today = today or dt.date.today()
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    responses: list[dict[str, Any]] = []
    waivers: list[dict[str, Any]] = []
    rows = read_answers(path)
    for line, row in rows:
        resolution = row.get("resolution", "").strip()
        if not resolution:
            continue  # not answered yet
        if resolution not in RESOLUTIONS:
            raise InputError(
                f"{path.name} line {line}: resolution {resolution!r} is not one of "
                f"{list(RESOLUTIONS)}"
            )
        answered = _date(row.get("response_date", ""), "response_date", line) or today
        base = {
            "fingerprint": row["issue_fingerprint"].strip(), "site_id": row["site_id"].strip(),
            "rule_id": row["rule_id"].strip(),
            "submission_id": row.get("submission_id", "").strip() or None,
            "responder": row.get("responder", "").strip() or None,
            "response_date": answered, "imported_at": now, "source_file": path.name,
        }
        reason = row.get("site_response", "").strip()
        responses.append(dict(base, resolution=resolution, site_response=reason or None))
        if resolution == "confirmed_as_is":
            if not reason or not base["responder"]:
                raise InputError(
                    f"{path.name} line {line}: confirmed_as_is needs the reason "
                    "(site_response) and the responder"
                )
            expires = _date(row.get("waiver_expires_on", ""), "waiver_expires_on", line)
            waivers.append(dict(base, reason=reason,
                                expires_on=expires or answered + dt.timedelta(days=expires_days)))
    schema_r = pa.schema([
        ("fingerprint", pa.string()), ("site_id", pa.string()), ("rule_id", pa.string()),
        ("submission_id", pa.string()), ("resolution", pa.string()),
        ("site_response", pa.string()), ("responder", pa.string()),
        ("response_date", pa.date32()), ("imported_at", pa.timestamp("us")),
        ("source_file", pa.string()),
    ])
    schema_w = pa.schema([
        ("fingerprint", pa.string()), ("site_id", pa.string()), ("rule_id", pa.string()),
        ("submission_id", pa.string()), ("reason", pa.string()), ("responder", pa.string()),
        ("response_date", pa.date32()), ("expires_on", pa.date32()),
        ("imported_at", pa.timestamp("us")), ("source_file", pa.string()),
    ])
    save_responses(
        project.db_path,
        pa.Table.from_pylist(responses, schema=schema_r),
        pa.Table.from_pylist(waivers, schema=schema_w),
        source_sha256=sha256_file(path),
    )
    counts: dict[str, int] = {}
    for r in responses:
        counts[r["resolution"]] = counts.get(r["resolution"], 0) + 1
    return QueryImportResult(
        file=str(path), rows=len(rows), answered=len(responses), by_resolution=counts,
        waivers=len(waivers), waiver_fingerprints=tuple(w["fingerprint"] for w in waivers),
    )
