"""Helpers of the crash tests: a registry with an old and a new submission of one site,
warm child processes to kill, and the check that a registry holds one whole submission."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cart_registry.project import Project
from tests.deid.support import SAMPLE, make_project

SITE = "site_edc"
OLD_AT, NEW_AT = "2023-07-01T00:00:00Z", "2023-08-01T00:00:00Z"


def new_export(dest: Path) -> Path:
    """The EDC sample with one more patient (and their follow-up): a different submission."""
    shutil.copytree(SAMPLE / SITE, dest)
    for name in ("patients.csv", "followup.csv"):
        path = dest / name
        lines = path.read_bytes().split(b"\r\n")
        extra = lines[1].replace(b"CHS-001", b"CHS-999", 1)
        path.write_bytes(b"\r\n".join([*lines[:2], extra, *lines[2:]]))
    return dest


def mark_validated(project: Project, site: str, submission_id: str) -> None:
    """A passing validation.json (validation itself is tested in tests/validation)."""
    path = project.registry_dir / "submissions" / site / submission_id / "validation.json"
    path.write_text(json.dumps({"status": "passed", "ruleset_version": "crash-test",
                                "counts_failed": {"fatal": 0, "error": 0, "warning": 0,
                                                  "info": 0}}))


@dataclass
class Registry:
    project: Project
    old: str
    new: str
    #: submission id -> table -> rows (from each manifest)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    baseline: Path | None = None


def build(root: Path) -> Registry:
    """A project with OLD loaded (the registry file saved aside) and NEW ingested."""
    from cart_registry.ingest import ingest_submission
    from cart_registry.warehouse.loading import load_submission

    project = make_project(root / "project", policy="none", sites=())
    old = ingest_submission(project, SAMPLE / SITE, SITE, received_at=OLD_AT)
    new = ingest_submission(project, new_export(root / "new-export"), SITE, received_at=NEW_AT)
    reg = Registry(project, old.submission_id, new.submission_id)
    for res in (old, new):
        mark_validated(project, SITE, res.submission_id)
        reg.counts[res.submission_id] = dict(res.tables)
    assert reg.counts[reg.old] != reg.counts[reg.new]
    load_submission(project, SITE, reg.old)
    reg.baseline = root / "baseline.duckdb"
    shutil.copy(project.db_path, reg.baseline)
    return reg


def restore(reg: Registry) -> None:
    """Put the registry back to 'OLD loaded' (the file as it was, no write-ahead log)."""
    assert reg.baseline is not None
    wal = reg.project.db_path.with_name(reg.project.db_path.name + ".wal")
    wal.unlink(missing_ok=True)
    shutil.copy(reg.baseline, reg.project.db_path)


def state(reg: Registry, *, history: bool = True) -> str:
    """'old' or 'new' when the site's current submission is whole; fails on any mix.

    ``history``: also check that history and audit rows agree with a single old -> new load.
    """
    import duckdb

    con = duckdb.connect(str(reg.project.db_path), read_only=True)
    try:
        row = con.execute("SELECT submission_id FROM admin.current_submission WHERE site_id = ?",
                          [SITE]).fetchone()
        assert row is not None, "no current submission"
        current = str(row[0])
        assert current in (reg.old, reg.new), current
        loaded = {str(r[0]) for r in con.execute(
            "SELECT submission_id FROM admin.submission WHERE site_id = ?", [SITE]).fetchall()}
        audits = con.execute("SELECT count(*) FROM admin.audit_log WHERE site_id = ?",
                             [SITE]).fetchone()
        for table, want in reg.counts[current].items():
            got = con.execute(f"SELECT count(*) FROM store.{table} WHERE submission_id = ?",
                              [current]).fetchone()
            assert got is not None and got[0] == want, (table, got, want)
            # what the analyses read (canonical views) is exactly the current submission
            seen = con.execute(f"SELECT count(*) FROM canonical.{table} WHERE site_id = ?",
                               [SITE]).fetchone()
            assert seen is not None and seen[0] == want, (table, seen, want)
            other = reg.new if current == reg.old else reg.old
            n_other = con.execute(f"SELECT count(*) FROM store.{table} WHERE submission_id = ?",
                                  [other]).fetchone()
            # the other submission is either not in the store at all or in it whole
            assert n_other is not None and n_other[0] in (0, reg.counts[other][table]), table
        if history:  # history and audit agree with what is current
            assert (reg.new in loaded) == (current == reg.new)
            assert audits is not None and audits[0] == (2 if current == reg.new else 1)
    finally:
        con.close()
    return "new" if current == reg.new else "old"


_CONTEXT: Any = None


def _context() -> Any:
    """A forkserver that has imported the registry once (children start in milliseconds)."""
    global _CONTEXT
    if _CONTEXT is None:
        import multiprocessing

        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["tests.crash._driver"])
        _CONTEXT = ctx
    return _CONTEXT


class Driver:
    """One ``load`` or ``ingest`` in a child process, to be killed or awaited."""

    def __init__(self, op: str, *args: str) -> None:
        from tests.crash import _driver

        ctx = _context()
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_driver.run, args=(op, args, child), daemon=True)

    def start(self) -> float:
        """Start the child; returns the time it began the operation."""
        self.proc.start()
        assert self.conn.poll(60), "the child did not start"
        assert self.conn.recv() == "started"
        return time.perf_counter()

    def finish(self) -> tuple[str, float]:
        """Wait for the operation: (what it returned, seconds)."""
        assert self.conn.poll(120), "the child did not finish"
        msg = self.conn.recv()
        self.proc.join(60)
        assert self.proc.exitcode == 0 and msg[0] == "done", (msg, self.proc.exitcode)
        return str(msg[1]), float(msg[2])

    def kill_after(self, delay: float, start: float) -> bool:
        """SIGKILL ``delay`` s after ``start``; True when it was still running."""
        left = delay - (time.perf_counter() - start)
        if left > 0:
            self.proc.join(left)
        alive = self.proc.is_alive()
        if alive:
            os.kill(self.proc.pid or 0, signal.SIGKILL)
        self.proc.join(60)
        self.conn.close()
        return alive


def spread(duration: float, n: int, reach: float = 1.15) -> list[float]:
    """``n`` kill points over the operation (measured once) and a little past it: a killed
    run may be slower than the measured one, and the last points check a finished run."""
    return [duration * reach * (i + 0.5) / n for i in range(n)]


def any_temp(root: Path) -> list[str]:
    """Files or folders a writer leaves behind when it stops half-way."""
    names = []
    for p in root.rglob("*"):
        n = p.name
        if n.endswith(".tmp") or n.startswith((".stage-", ".ingest-", ".transcode-",
                                                ".deid-work-")) or ".old" in n:
            names.append(str(p.relative_to(root)))
    return names


