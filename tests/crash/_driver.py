"""Code the crash tests run in a child process that they then kill with SIGKILL.

Children are forked from a multiprocessing *forkserver* that imported this module (and so
DuckDB, Arrow, polars, pandera and the registry) once: a child starts in milliseconds and
the kill points land inside the operation, not inside Python's start-up. The child tells the
parent it has started, runs one ``load`` or ``ingest``, and reports how long it took.
"""

from __future__ import annotations

import time
from multiprocessing.connection import Connection
from pathlib import Path

import duckdb  # noqa: F401 - imported here so that forked children find them loaded
import pandera.polars  # noqa: F401
import polars  # noqa: F401
import pyarrow.parquet  # noqa: F401

from cart_registry.ingest import ingest_submission
from cart_registry.project import Project
from cart_registry.warehouse.loading import load_submission


def run(op: str, args: tuple[str, ...], conn: Connection) -> None:
    project = Project.find(args[0])
    conn.send("started")
    t0 = time.perf_counter()
    if op == "load":
        res = load_submission(project, args[1], args[2], lock_timeout=30)
        conn.send(("done", res.status, time.perf_counter() - t0))
    elif op == "deid":
        from cart_registry.deid.api import deidentify_export
        from tests.deid.support import site_key

        out = deidentify_export(project, Path(args[1]), args[2], Path(args[3]), site_key())
        conn.send(("done", out.out_dir, time.perf_counter() - t0))
    else:
        ing = ingest_submission(project, Path(args[1]), args[2], received_at=args[3])
        conn.send(("done", ing.submission_id, time.perf_counter() - t0))
