"""Validation history in the registry's DuckDB file, schema ``dq``.

Per run: ``dq.run``; per validated submission: ``dq.submission`` (status and failed-rule
counts); per rule and site: ``dq.result`` (DQD-style counts, for trends); per issue:
``dq.issue`` (fingerprint, change against the previous submission, location); and the site
answers imported from query lists: ``dq.query_response`` (every answer) and ``dq.waiver``
(the ``confirmed_as_is`` ones, with reason, responder and expiry). The warehouse owns the
other schemas of the file. DuckDB allows one writer process, so the file is opened only for
the two short moments that need it (read before the rules run, write after) and closed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from cart_registry.errors import ProjectError

if TYPE_CHECKING:
    import duckdb

    from cart_registry.canonical.store import SubmissionRef

DDL = """
CREATE SCHEMA IF NOT EXISTS dq;
CREATE TABLE IF NOT EXISTS dq.run (
  run_id VARCHAR PRIMARY KEY, started_at TIMESTAMP, finished_at TIMESTAMP, as_of_date DATE,
  audience VARCHAR, tool_version VARCHAR, ruleset_version VARCHAR, exit_code INTEGER
);
CREATE TABLE IF NOT EXISTS dq.submission (
  run_id VARCHAR, site_id VARCHAR, submission_id VARCHAR, previous_submission_id VARCHAR,
  status VARCHAR, failed_fatal INTEGER, failed_error INTEGER, failed_warning INTEGER,
  failed_info INTEGER, n_issues BIGINT, n_new BIGINT, n_persisting BIGINT, n_resolved BIGINT,
  n_waived BIGINT, validated_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS dq.result (
  run_id VARCHAR, site_id VARCHAR, submission_id VARCHAR, rule_id VARCHAR, rule_version INTEGER,
  severity VARCHAR, status VARCHAR, num_violated BIGINT, num_waived BIGINT,
  num_denominator BIGINT, pct_violated DOUBLE, threshold_count BIGINT, threshold_pct DOUBLE,
  not_applicable_reason VARCHAR, error_message VARCHAR, execution_seconds DOUBLE
);
CREATE TABLE IF NOT EXISTS dq.issue (
  run_id VARCHAR, site_id VARCHAR, submission_id VARCHAR, fingerprint VARCHAR, rule_id VARCHAR,
  severity VARCHAR, status_vs_previous VARCHAR, waived BOOLEAN, patient_id VARCHAR,
  target_table VARCHAR, target_column VARCHAR, record_key VARCHAR, source_file VARCHAR,
  source_row BIGINT, source_key VARCHAR, source_field VARCHAR, mapping_rule VARCHAR
);
CREATE TABLE IF NOT EXISTS dq.query_response (
  fingerprint VARCHAR, site_id VARCHAR, rule_id VARCHAR, submission_id VARCHAR,
  resolution VARCHAR, site_response VARCHAR, responder VARCHAR, response_date DATE,
  imported_at TIMESTAMP, source_file VARCHAR
);
CREATE TABLE IF NOT EXISTS dq.waiver (
  fingerprint VARCHAR, site_id VARCHAR, rule_id VARCHAR, submission_id VARCHAR,
  reason VARCHAR, responder VARCHAR, response_date DATE, expires_on DATE,
  imported_at TIMESTAMP, source_file VARCHAR
);
"""

ISSUE_HISTORY_COLUMNS = (
    "site_id", "submission_id", "fingerprint", "rule_id", "severity", "status_vs_previous",
    "waived", "patient_id", "target_table", "target_column", "record_key", "source_file",
    "source_row", "source_key", "source_field", "mapping_rule",
)


@contextlib.contextmanager
def registry_db(path: Path, *, read_only: bool) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the registry file briefly; a lock held by another process is a clear error."""
    import duckdb

    if read_only and not path.is_file():
        con = duckdb.connect(":memory:")  # no history yet: an empty stand-in
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            con = duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            raise ProjectError(
                f"cannot open the registry database {path}: {str(exc).splitlines()[0]}",
                hint="another cart-registry process (e.g. load) holds it; retry when it ends",
            ) from None
    try:
        yield con
    finally:
        con.close()


def _has_dq(con: duckdb.DuckDBPyConnection) -> bool:
    rows = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'dq' "
        "AND table_name IN ('submission', 'issue', 'waiver')"
    ).fetchall()
    return bool(rows and rows[0][0] == 3)


@dataclass
class HistoryState:
    """What the run needs from earlier runs, as small Arrow tables for the workspace."""

    previous: dict[str, str | None] = field(default_factory=dict)
    prev_issues: pa.Table = field(default_factory=lambda: _empty_prev())
    waivers: pa.Table = field(default_factory=lambda: _empty_waivers())


def _empty_prev() -> pa.Table:
    return pa.table({c: pa.array([], pa.string()) for c in (
        "site_id", "submission_id", "fingerprint", "rule_id", "severity", "target_table",
        "target_column", "record_key", "patient_id", "source_file", "source_key", "source_field",
    )} | {"source_row": pa.array([], pa.int64())})


def _empty_waivers() -> pa.Table:
    return pa.table({
        "fingerprint": pa.array([], pa.string()), "site_id": pa.array([], pa.string()),
        "rule_id": pa.array([], pa.string()), "reason": pa.array([], pa.string()),
        "responder": pa.array([], pa.string()), "response_date": pa.array([], pa.date32()),
        "expires_on": pa.array([], pa.date32()), "imported_at": pa.array([], pa.timestamp("us")),
    })


def load_history(
    db_path: Path, refs: list[SubmissionRef], earlier: dict[str, list[str]], as_of: dt.date
) -> HistoryState:
    """Previous validated submission per site, its issues, and the waivers active on ``as_of``.

    ``earlier[site]`` lists the site's submissions received before the validated one, oldest
    first; the previous submission is the latest of them that has been validated.
    """
    state = HistoryState(previous={r.site_id: None for r in refs})
    with registry_db(db_path, read_only=True) as con:
        if not _has_dq(con):
            return state
        validated = {
            (s, sub): run for s, sub, run in con.execute(
                "SELECT site_id, submission_id, arg_max(run_id, validated_at) "
                "FROM dq.submission GROUP BY ALL"
            ).fetchall()
        }
        pairs = []
        for r in refs:
            for sub in reversed(earlier.get(r.site_id, [])):
                if (r.site_id, sub) in validated:
                    state.previous[r.site_id] = sub
                    pairs.append((r.site_id, sub, validated[(r.site_id, sub)]))
                    break
        if pairs:
            con.register("__prev", pa.table({
                "site_id": [p[0] for p in pairs], "submission_id": [p[1] for p in pairs],
                "run_id": [p[2] for p in pairs],
            }))
            state.prev_issues = con.sql(
                "SELECT i.site_id, i.submission_id, i.fingerprint, i.rule_id, i.severity, "
                "i.target_table, i.target_column, i.record_key, i.patient_id, i.source_file, "
                "i.source_key, i.source_field, i.source_row FROM dq.issue i "
                "JOIN __prev p USING (site_id, submission_id, run_id)"
            ).to_arrow_table()
        state.waivers = con.sql(
            "SELECT fingerprint, site_id, rule_id, reason, responder, response_date, expires_on, "
            f"imported_at FROM dq.waiver WHERE expires_on IS NULL OR expires_on >= DATE '{as_of}'"
        ).to_arrow_table()
    return state


def save_run(
    db_path: Path,
    run: dict[str, Any],
    submissions: list[dict[str, Any]],
    results: pa.Table,
    issues: pa.Table,
) -> None:
    """Append one run atomically (one transaction)."""
    with registry_db(db_path, read_only=False) as con:
        con.execute(DDL)
        con.register("__sub", pa.Table.from_pylist(submissions))
        con.register("__res", results)
        con.register("__iss", issues)
        con.execute("BEGIN")
        try:
            con.execute(
                "INSERT INTO dq.run VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [run["run_id"], run["started_at"], run["finished_at"], run["as_of_date"],
                 run["audience"], run["tool_version"], run["ruleset_version"], run["exit_code"]],
            )
            con.execute("INSERT INTO dq.submission BY NAME SELECT * FROM __sub")
            con.execute(
                f"INSERT INTO dq.result BY NAME SELECT '{run['run_id']}' AS run_id, * FROM __res"
            )
            cols = ", ".join(ISSUE_HISTORY_COLUMNS)
            con.execute(
                f"INSERT INTO dq.issue BY NAME SELECT '{run['run_id']}' AS run_id, {cols} FROM __iss"
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise


def save_responses(db_path: Path, responses: pa.Table, waivers: pa.Table, *,
                   source_sha256: str | None = None) -> None:
    with registry_db(db_path, read_only=False) as con:
        con.execute(DDL)
        con.register("__resp", responses)
        con.register("__waiv", waivers)
        con.execute("BEGIN")
        try:
            con.execute("INSERT INTO dq.query_response BY NAME SELECT * FROM __resp")
            con.execute("INSERT INTO dq.waiver BY NAME SELECT * FROM __waiv")
            _audit_waivers(con, waivers, source_sha256)
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise


def _audit_waivers(con: duckdb.DuckDBPyConnection, waivers: pa.Table,
                   source_sha256: str | None) -> None:
    """One row per waiver in the warehouse's append-only ``admin.audit_log`` (same
    transaction): a waiver changes what counts as a failure, so it is audited like a load."""
    import getpass
    import json
    import os
    import socket

    import duckdb

    from cart_registry import __version__
    from cart_registry.warehouse.layout import ADMIN_DDL

    if waivers.num_rows == 0:
        return
    con.execute(ADMIN_DDL)
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"
    row = con.execute("SELECT coalesce(max(audit_id), 0) FROM admin.audit_log").fetchone()
    first = int(row[0]) + 1 if row else 1
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    for i, w in enumerate(waivers.to_pylist()):
        inputs = {"query_file": {"path": w.get("source_file"), "sha256": source_sha256},
                  "fingerprint": w.get("fingerprint"), "rule_id": w.get("rule_id"),
                  "responder": w.get("responder"), "expires_on": str(w.get("expires_on"))}
        try:
            con.execute(
                "INSERT INTO admin.audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [first + i, now, user, socket.gethostname(), __version__, "waiver",
                 w.get("site_id") or "", w.get("submission_id") or "", None, w.get("reason"),
                 "waiver", json.dumps(inputs, sort_keys=True)],
            )
        except duckdb.ConstraintException:
            raise ProjectError(
                "the registry's admin.audit_log predates waiver auditing; waivers not recorded",
                hint="rebuild the registry (move registry.duckdb aside and load again)",
            ) from None
