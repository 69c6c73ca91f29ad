"""The adversarial harness: a registry with one site already loaded, and ``attempt`` which runs
one hostile input through the CLI and classifies what happened.

Every input must end in one of two ways: refused with a one-line ``CartRegistryError`` (exit
2, ``error: ...``), or accepted with every row accounted for in the ledger (loaded or
quarantined). A traceback, an "internal error", a hang or a lost row fails the test. After each
input, the site loaded before (its Parquet, manifest and DuckDB rows) must be unchanged.
The tally is printed at the end of the run.
"""

from __future__ import annotations

import hashlib
import json
import signal
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from click.testing import CliRunner

from cart_registry.project import Project

TALLY: Counter[str] = Counter()
#: seconds one input may take before it counts as a hang
HANG_SECONDS = 60


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TALLY["tried"] or TALLY["examples"]:
        terminalreporter.write_line(
            f"adversarial inputs: {TALLY['tried']} tried ({TALLY['refused']} refused with a "
            f"one-line error, {TALLY['accepted']} accepted), {TALLY['tracebacks']} tracebacks, "
            f"{TALLY['rows_lost']} rows lost, {TALLY['baseline_changed']} baseline changes; "
            f"{TALLY['examples']} generated property examples")


@dataclass
class Outcome:
    kind: str  # 'refused' | 'accepted'
    message: str
    body: dict[str, Any]


class _Hang(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _Hang()


def snapshot(project: Project, site: str, *, database: bool = True) -> dict[str, Any]:
    """Everything the registry holds for one site: files by hash, DuckDB rows by checksum
    (``database=False``: the files only, for commands that never open the database)."""
    import duckdb

    files = {}
    reg = project.registry_dir
    for p in sorted(reg.rglob("*")):
        rel = p.relative_to(reg).as_posix()
        if p.is_file() and (f"site_id={site}/" in rel or rel.startswith(f"submissions/{site}/")):
            files[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    rows: dict[str, Any] = {}
    if database and project.db_path.is_file():
        con = duckdb.connect(str(project.db_path), read_only=True)
        try:
            tables = con.execute("SELECT table_schema, table_name FROM information_schema.tables "
                                 "WHERE table_schema IN ('store', 'admin') AND table_type = "
                                 "'BASE TABLE' ORDER BY 1, 2").fetchall()
            for schema, name in tables:
                cols = [c[0] for c in con.execute(
                    f"SELECT column_name FROM information_schema.columns WHERE table_schema = "
                    f"'{schema}' AND table_name = '{name}'").fetchall()]
                where = "WHERE site_id = ?" if "site_id" in cols else ""
                args = [site] if where else []
                rows[f"{schema}.{name}"] = con.execute(
                    f"SELECT count(*), coalesce(sum(hash(t)), 0) FROM {schema}.{name} t {where}",
                    args).fetchone()
        finally:
            con.close()
    return {"files": files, "rows": rows}


class Harness:
    """Runs hostile inputs against one project and keeps the tally."""

    def __init__(self, project: Project, baseline_site: str) -> None:
        self.project = project
        self.site = baseline_site
        self.before = snapshot(project, baseline_site)
        assert self.before["files"] and self.before["rows"]

    def attempt(self, args: list[str], *, expect_rows: int | None = None,
                check_baseline: bool = True, project: Project | None = None,
                env: dict[str, str] | None = None) -> Outcome:
        """Run ``cart-registry <args> --json`` on the project; classify and check it."""
        TALLY["tried"] += 1
        runner = CliRunner()
        old = signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(HANG_SECONDS)
        t0 = time.perf_counter()
        try:
            res = runner.invoke(
                __import__("cart_registry.cli.main", fromlist=["cli"]).cli,
                ["--project-dir", str((project or self.project).root), *args, "--json"],
                env=env,
            )
        except _Hang:
            TALLY["tracebacks"] += 1
            pytest.fail(f"hung for {HANG_SECONDS} s: {args}")
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old)
        out = res.output
        if "Traceback" in out or "internal error" in out or (
                res.exception is not None and not isinstance(res.exception, SystemExit)):
            TALLY["tracebacks"] += 1
            pytest.fail(f"not a clear error: {args}: {out[-2000:]!r} {res.exception!r}")
        if check_baseline:
            # ingest and deidentify never open the database: their files are compared every
            # time, the database rows after every command that opens it and at the end
            self.check_baseline(database=args[0] not in ("ingest", "deidentify"))
        if res.exit_code == 2:
            line = out.strip()
            assert line.startswith("error: ") and "\n" not in line, line
            TALLY["refused"] += 1
            return Outcome("refused", line, {})
        assert res.exit_code in (0, 1), (res.exit_code, out)
        body = json.loads(out)
        TALLY["accepted"] += 1
        if "ledger" in body:
            self.check_ledger(body, expect_rows)
        TALLY["seconds"] += int(time.perf_counter() - t0)
        return Outcome("accepted", "", body)

    def check_ledger(self, body: dict[str, Any], expect_rows: int | None) -> None:
        lost = 0
        for e in body["ledger"]:
            lost += abs(e["rows_read"] - e["rows_mapped"] - e["rows_quarantined"]
                        - e["rows_ignored"])
        if expect_rows is not None:
            lost += abs(body["totals"]["rows_read"] - expect_rows)
        TALLY["rows_lost"] += lost
        assert lost == 0, (body["totals"], expect_rows)

    def check_baseline(self, *, database: bool = True) -> None:
        after = snapshot(self.project, self.site, database=database)
        want = self.before if database else {"files": self.before["files"], "rows": {}}
        if after != want:
            TALLY["baseline_changed"] += 1
            pytest.fail("the registry's earlier submission changed")


@pytest.fixture(scope="session")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """A project holding site_edc's sample submission, ingested and loaded."""
    from cart_registry.ingest import ingest_submission
    from cart_registry.warehouse.loading import load_submission
    from tests.deid.support import SAMPLE, TINY_SITE, TINY_TABLES, make_project

    root = tmp_path_factory.mktemp("adversarial")
    project = make_project(root / "project", policy="none")
    tiny = project.mappings_dir / "site_tiny"
    tiny.mkdir()
    (tiny / "site.yaml").write_text(TINY_SITE.replace("per_patient_shift", "none"))
    for table, text in TINY_TABLES.items():
        (tiny / f"{table}.yaml").write_text(text)
    ingest_submission(project, SAMPLE / "site_edc", "site_edc",
                      received_at="2023-07-01T00:00:00Z")
    load_submission(project, "site_edc", force=True, reason="adversarial baseline")
    h = Harness(project, "site_edc")
    yield h
    h.check_baseline()


def count_csv_rows(data: bytes, delimiter: str = ",") -> int:
    """Data rows of a CSV (non-blank records after the header), counted independently."""
    import csv
    import io
    import sys

    old = csv.field_size_limit(sys.maxsize)  # restored: the readers rely on the default
    try:
        text = data.decode("utf-8")
        return max(0, sum(1 for r in csv.reader(io.StringIO(text, newline=""),
                                                delimiter=delimiter) if r) - 1)
    finally:
        csv.field_size_limit(old)
