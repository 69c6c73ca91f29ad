"""``admin.audit_log`` records who, when, what, why and the input hashes of every load,
replacement, forced load and waiver; it only grows, and no code path updates or deletes it."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from pathlib import Path

import duckdb
import pytest

from tests.crash.support import SITE, Registry, mark_validated
from tests.deid.support import REPO, SAMPLE


def _log(reg: Registry) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(reg.project.db_path), read_only=True)
    try:
        return con.execute("SELECT * FROM admin.audit_log ORDER BY audit_id").fetchall()
    finally:
        con.close()


def test_every_change_is_audited_and_the_log_only_grows(registry: Registry, tmp_path: Path
                                                        ) -> None:
    from cart_registry.ingest import ingest_submission
    from cart_registry.validation.queries import import_queries
    from cart_registry.warehouse.loading import load_submission

    reg = registry
    seen = _log(reg)
    assert [r[5] for r in seen] == ["load"]

    def grows(action: str) -> tuple[object, ...]:
        nonlocal seen
        now = _log(reg)
        assert now[: len(seen)] == seen  # earlier rows unchanged
        assert len(now) == len(seen) + 1 and now[-1][5] == action, now[-1]
        seen = now
        return now[-1]

    row = None
    load_submission(reg.project, SITE, reg.new)
    row = grows("replace")
    hashes = json.loads(str(row[11]))
    assert {f["path"] for f in hashes["source_files"]} >= {"patients.csv", "infusions.csv"}
    assert all(len(str(f["sha256"])) == 64 for f in hashes["source_files"])
    assert row[7] == reg.new and row[8] == reg.old and row[2]  # what, previous, who

    redcap = ingest_submission(reg.project, SAMPLE / "site_redcap", "site_redcap",
                               received_at="2023-09-01T00:00:00Z")
    load_submission(reg.project, "site_redcap", force=True, reason="PI approved, ticket 42")
    row = grows("force-load")
    assert row[9] == "PI approved, ticket 42" and row[10] == "not_validated"
    mark_validated(reg.project, "site_redcap", redcap.submission_id)

    answers = tmp_path / "queries_site_edc.csv"
    with answers.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["issue_fingerprint", "site_id", "rule_id", "submission_id", "resolution",
                    "site_response", "responder", "response_date"])
        w.writerow(["f" * 64, SITE, "R10", reg.new, "confirmed_as_is",
                    "contact confirmed by phone", "data manager", "2023-08-02"])
        w.writerow(["e" * 64, SITE, "R11", reg.new, "corrected", "", "dm", "2023-08-02"])
    import_queries(reg.project, answers)
    row = grows("waiver")  # one row per waiver; the 'corrected' answer is not a waiver
    inputs = json.loads(str(row[11]))
    assert row[9] == "contact confirmed by phone" and row[6] == SITE
    assert inputs["query_file"]["sha256"] == hashlib.sha256(answers.read_bytes()).hexdigest()
    assert inputs["fingerprint"] == "f" * 64 and inputs["responder"] == "data manager"

    load_submission(reg.project, SITE, reg.new)  # already current: nothing to audit
    assert _log(reg) == seen
    load_submission(reg.project, SITE, reg.old)
    grows("replace")


@pytest.mark.parametrize("kind", ["py", "sql"])
def test_no_code_updates_or_deletes_the_audit_log(kind: str) -> None:
    pattern = re.compile(
        r"(UPDATE\s+(\w+\.)?audit_log|DELETE\s+FROM\s+(\w+\.)?audit_log|TRUNCATE\s+(\w+\.)?"
        r"audit_log|DROP\s+TABLE\s+(IF\s+EXISTS\s+)?(\w+\.)?audit_log|INSERT\s+OR\s+REPLACE\s+"
        r"INTO\s+(\w+\.)?audit_log|ON\s+CONFLICT[^;]*audit_log)", re.IGNORECASE)
    files = sorted((REPO / "cart_registry").rglob(f"*.{kind}"))
    assert files
    hits = [str(p.relative_to(REPO)) for p in files if pattern.search(p.read_text())]
    assert hits == []
