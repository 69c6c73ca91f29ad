"""``load_submission``: a validated submission's Parquet into the registry, in one transaction.

Everything a load changes happens in one DuckDB transaction: the submission's rows in
``store.*``, its history row, the site's current-submission pointer, the audit-log row, the
construct catalog snapshot and the views. A crash (or a failed check) before COMMIT leaves
the registry exactly as it was; DuckDB's write-ahead log makes the COMMIT itself atomic. There
is no multi-step swap outside the transaction.

Gate: a submission with fatal validation findings, or without ``validation.json`` ("not
validated"), is refused unless the caller forces it and says why; the reason goes into the
history and the audit log. Loading the current submission again changes nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import json
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cart_registry.canonical.store import (
    SubmissionRef,
    canonical_select_sql,
    get_submission,
    list_submissions,
    parquet_files,
)
from cart_registry.errors import (
    CartRegistryError,
    ConfigError,
    DataValidationFailed,
    ProjectError,
)
from cart_registry.fsutil import sha256_file
from cart_registry.project import Project, check_site_id
from cart_registry.settings import StudySettings, load_settings
from cart_registry.standard.model import Standard
from cart_registry.warehouse.connection import DEFAULT_LOCK_TIMEOUT, open_registry
from cart_registry.warehouse.layout import (
    CATALOG_TABLE,
    create_canonical_views,
    ensure_layout,
    store_table,
)
from cart_registry.warehouse.views import build_views, views_fingerprint

if TYPE_CHECKING:
    import duckdb

VALIDATION_FILE = "validation.json"


class NotValidated(ProjectError):
    """The submission has no validation.json (exit 2: run validate first)."""

LoadStatus = Literal["loaded", "replaced", "reactivated", "already_current"]


@dataclass(frozen=True)
class ValidationSummary:
    """What ``validation.json`` says about a submission (None of these when it is absent)."""

    status: str
    counts_failed: dict[str, int]
    ruleset_version: str | None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def fatal(self) -> int:
        return int(self.counts_failed.get("fatal", 0))


def validation_path(project: Project, ref: SubmissionRef) -> Path:
    return project.registry_dir / "submissions" / ref.site_id / ref.submission_id / VALIDATION_FILE


def read_validation(project: Project, ref: SubmissionRef) -> ValidationSummary | None:
    path = validation_path(project, ref)
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        counts = {str(k): int(v) for k, v in dict(raw["counts_failed"]).items()}
        status = str(raw["status"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ProjectError(f"{path}: unreadable validation summary ({exc})") from None
    ruleset = raw.get("ruleset_version")
    return ValidationSummary(status, counts, None if ruleset is None else str(ruleset), raw)


@dataclass(frozen=True)
class LoadResult:
    """The outcome of one ``load_submission`` call."""

    site_id: str
    submission_id: str
    status: LoadStatus
    #: the audit action written ('load', 'replace', 'force-load'); None when nothing changed
    action: str | None
    previous_submission_id: str | None
    forced: bool
    reason: str | None
    validation_status: str
    rows: dict[str, int]
    audit_id: int | None
    db_path: str
    seconds: float

    @property
    def changed(self) -> bool:
        return self.status != "already_current"

    def message(self) -> str:
        if self.status == "already_current":
            return f"{self.site_id}: {self.submission_id} is already current; nothing changed"
        verb = {"loaded": "loaded", "replaced": "loaded, replacing",
                "reactivated": "made current again, replacing"}[self.status]
        prev = f" {self.previous_submission_id}" if self.previous_submission_id else ""
        extra = " (forced)" if self.forced else ""
        n = sum(self.rows.values())
        return f"{self.site_id}: {self.submission_id} {verb}{prev}{extra}; {n} rows"

    def to_json(self) -> dict[str, Any]:
        return {
            "site_id": self.site_id,
            "submission_id": self.submission_id,
            "status": self.status,
            "action": self.action,
            "previous_submission_id": self.previous_submission_id,
            "forced": self.forced,
            "reason": self.reason,
            "validation_status": self.validation_status,
            "rows": dict(self.rows),
            "audit_id": self.audit_id,
            "db_path": self.db_path,
            "seconds": round(self.seconds, 3),
            "message": self.message(),
        }


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers): the uid still says who
        return f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def _resolve(project: Project, site_id: str | None, submission_id: str | None) -> SubmissionRef:
    if site_id is not None:
        check_site_id(site_id)
    if submission_id is None:
        if site_id is None:
            raise ConfigError("name a site (--site) or a submission (--submission) to load")
        refs = list_submissions(project, site_id)
        if not refs:
            raise ProjectError(f"no complete submission for site {site_id!r}",
                               hint="run `cart-registry ingest` first")
        return refs[-1]  # the latest received
    if site_id is None:
        matches = [r for r in list_submissions(project) if r.submission_id == submission_id]
        if not matches:
            raise ProjectError(f"no complete submission {submission_id!r}")
        return matches[0]
    return get_submission(project, site_id, submission_id)


def _gate(
    ref: SubmissionRef, summary: ValidationSummary | None, force: bool, reason: str | None
) -> bool:
    """Whether the load needs (and has) an override; raises when it needs one and has none."""
    if summary is None:
        if not force:
            raise NotValidated(
                f"{ref.site_id}: submission {ref.submission_id} is not validated "
                f"(no {VALIDATION_FILE}); not loaded",
                hint="run `cart-registry validate` first, or load anyway with --force --reason",
            )
        return True
    if summary.fatal > 0:
        if not force:
            raise DataValidationFailed(
                f"{ref.site_id}: submission {ref.submission_id} failed validation with "
                f"{summary.fatal} fatal finding(s); not loaded",
                hint="fix and resubmit, or load anyway with --force --reason TEXT",
            )
        return True
    return False


def _insert_rows(
    con: duckdb.DuckDBPyConnection, project: Project, standard: Standard, ref: SubmissionRef
) -> dict[str, int]:
    """Copy the submission's Parquet into ``store``; check the counts against the manifest."""
    import duckdb

    declared = ref.manifest.get("tables") or {}
    rows: dict[str, int] = {}
    for table in standard:
        if not parquet_files(project, table.name, [ref]):
            rows[table.name] = 0
            continue
        st = store_table(table)
        cols = [c.name for c in st.columns if c.name != "submission_id"]
        col_list = ", ".join(f'"{c}"' for c in cols)
        select = canonical_select_sql(project, table, [ref])
        try:
            res = con.execute(
                f"INSERT INTO store.{table.name} ({col_list}, \"submission_id\") "
                f"SELECT {col_list}, ? FROM ({select}) q",
                [ref.submission_id],
            ).fetchone()
        except duckdb.ConstraintException as exc:
            # the Parquet passed conformance at ingest, so this is a damaged or hand-made
            # submission: say which table, and load nothing
            first = str(exc).strip().splitlines()[0]
            raise ProjectError(
                f"{ref.site_id}: submission {ref.submission_id} table {table.name} breaks the "
                f"standard's constraints ({first}); not loaded"
            ) from None
        n = int(res[0]) if res else 0
        want = declared.get(table.name)
        if want is not None and int(want) != n:
            raise ProjectError(
                f"{ref.site_id}: submission {ref.submission_id} table {table.name} has {n} rows "
                f"in Parquet but its manifest says {want}; not loaded"
            )
        rows[table.name] = n
    return rows


def _refresh_catalog(con: duckdb.DuckDBPyConnection, project: Project) -> str | None:
    """Snapshot ``mappings/constructs.yaml`` into the store (kept as is when absent)."""
    if not project.construct_catalog_file.is_file():
        return None
    from cart_registry.canonical.catalog import construct_catalog_arrow

    arrow = construct_catalog_arrow(project)
    con.register("__construct_catalog", arrow)
    try:
        con.execute(f"DELETE FROM {CATALOG_TABLE}")
        con.execute(f"INSERT INTO {CATALOG_TABLE} BY NAME SELECT * FROM __construct_catalog")
    finally:
        con.unregister("__construct_catalog")
    return sha256_file(project.construct_catalog_file)


def _parquet_hashes(project: Project, standard: Standard, ref: SubmissionRef) -> dict[str, str]:
    out: dict[str, str] = {}
    for table in standard:
        for p in parquet_files(project, table.name, [ref]):
            out[table.name] = sha256_file(p)
    return out


def _now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _apply(
    con: duckdb.DuckDBPyConnection,
    project: Project,
    ref: SubmissionRef,
    summary: ValidationSummary | None,
    *,
    force: bool,
    reason: str | None,
    settings: StudySettings,
    standard: Standard,
) -> tuple[LoadStatus, str | None, str | None, dict[str, int], int | None, bool]:
    """The body of the load transaction."""
    from cart_registry import __version__

    ensure_layout(con, standard)
    row = con.execute(
        "SELECT submission_id FROM admin.current_submission WHERE site_id = ?", [ref.site_id]
    ).fetchone()
    previous = str(row[0]) if row else None
    if previous == ref.submission_id:
        return "already_current", None, previous, {}, None, False
    # the gate runs once we know a change is asked for: reloading the current submission
    # (even a forced one) is a no-op, not a refusal
    forced = _gate(ref, summary, force, reason)

    known = con.execute(
        "SELECT row_counts_json FROM admin.submission WHERE submission_id = ?",
        [ref.submission_id],
    ).fetchone()
    now = _now_utc()
    user = _who()
    validation_status = summary.status if summary else "not_validated"
    parquet = _parquet_hashes(project, standard, ref)
    sources = ref.source_files()
    if known is None:
        rows = _insert_rows(con, project, standard, ref)
        con.execute(
            "INSERT INTO admin.submission VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                ref.submission_id, ref.site_id, ref.manifest.get("received_at"),
                json.dumps(ref.manifest, sort_keys=True, default=str),
                json.dumps(sources), json.dumps(parquet, sort_keys=True),
                json.dumps(rows, sort_keys=True), validation_status,
                json.dumps(summary.raw, sort_keys=True) if summary else None,
                now, forced, reason, user,
            ],
        )
        status: LoadStatus = "replaced" if previous else "loaded"
    else:
        # loaded before and replaced since: its rows are still in the store
        rows = {str(k): int(v) for k, v in json.loads(str(known[0])).items()}
        status = "reactivated"
    con.execute("DELETE FROM admin.current_submission WHERE site_id = ?", [ref.site_id])
    con.execute("INSERT INTO admin.current_submission VALUES (?, ?, ?)",
                [ref.site_id, ref.submission_id, now])
    catalog_sha = _refresh_catalog(con, project)
    action = "force-load" if forced else ("replace" if previous else "load")
    nxt = con.execute("SELECT coalesce(max(audit_id), 0) + 1 FROM admin.audit_log").fetchone()
    audit_id = int(nxt[0]) if nxt else 1
    hashes = {"source_files": sources, "parquet": parquet, "construct_catalog": catalog_sha}
    con.execute(
        "INSERT INTO admin.audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            audit_id, now, user, socket.gethostname(), __version__, action, ref.site_id,
            ref.submission_id, previous, reason, validation_status,
            json.dumps(hashes, sort_keys=True),
        ],
    )
    _refresh_views(con, settings, standard)
    return status, action, previous, rows, audit_id, forced


def _refresh_views(
    con: duckdb.DuckDBPyConnection, settings: StudySettings, standard: Standard
) -> None:
    """(Re)build the stored views, unless they were built from exactly this SQL and settings.

    Views do not depend on the rows, so a load that changes only data keeps them; building
    ~40 nested views in the file costs most of a small load.
    """
    fingerprint = views_fingerprint(settings, standard)
    row = con.execute(
        "SELECT value FROM admin.registry_info WHERE key = 'views_fingerprint'"
    ).fetchone()
    if row and row[0] == fingerprint:
        return
    create_canonical_views(con, standard)
    build_views(con, settings, standard=standard)
    con.execute(
        "INSERT OR REPLACE INTO admin.registry_info VALUES ('views_fingerprint', ?)",
        [fingerprint],
    )


def load_submission(
    project: Project,
    site_id: str | None,
    submission_id: str | None = None,
    *,
    force: bool = False,
    reason: str | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    settings: StudySettings | None = None,
) -> LoadResult:
    """Make a site's submission (default: its latest) the current one, in one transaction.

    Raises ``ProjectError`` when the submission is not validated or the registry is locked,
    ``DataValidationFailed`` when it has fatal findings (both unless ``force`` with a
    ``reason``), and ``ConfigError`` for ``force`` without a reason.
    """
    import duckdb

    if force and not (reason and reason.strip()):
        raise ConfigError("--force needs --reason TEXT (it is recorded in the audit log)")
    reason = reason.strip() if reason else None
    start = time.perf_counter()
    ref = _resolve(project, site_id, submission_id)
    summary = read_validation(project, ref)
    study = settings or load_settings(project.settings_file).study
    standard = project.standard()
    with open_registry(project.db_path, lock_timeout=lock_timeout) as con:
        con.execute("BEGIN TRANSACTION")
        try:
            status, action, previous, rows, audit_id, forced = _apply(
                con, project, ref, summary, force=force, reason=reason, settings=study,
                standard=standard,
            )
            con.execute("ROLLBACK" if status == "already_current" else "COMMIT")
        except BaseException:
            # a failed COMMIT has already ended the transaction; keep the original error
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            raise
    return LoadResult(
        site_id=ref.site_id,
        submission_id=ref.submission_id,
        status=status,
        action=action,
        previous_submission_id=previous,
        forced=forced,
        reason=reason if status != "already_current" else None,
        validation_status=summary.status if summary else "not_validated",
        rows=rows,
        audit_id=audit_id,
        db_path=str(project.db_path),
        seconds=time.perf_counter() - start,
    )


def sites_with_submissions(project: Project) -> list[str]:
    return sorted({r.site_id for r in list_submissions(project)})


def load_sites(
    project: Project,
    site_ids: Sequence[str] | None = None,
    *,
    force: bool = False,
    reason: str | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> tuple[list[LoadResult], list[CartRegistryError]]:
    """Load the latest submission of each site; refusals are collected, not raised.

    Returns the results and the refusals (not validated, or fatal findings): a refused site
    does not stop the others, since each site loads in its own transaction.
    """
    sites = list(site_ids) if site_ids else sites_with_submissions(project)
    if not sites:
        raise ProjectError("no complete submission to load", hint="run `cart-registry ingest`")
    results: list[LoadResult] = []
    refused: list[CartRegistryError] = []
    for site in sites:
        try:
            results.append(load_submission(project, site, force=force, reason=reason,
                                           lock_timeout=lock_timeout))
        except (DataValidationFailed, NotValidated) as exc:
            refused.append(exc)
    return results, refused
