"""The row ledger of a submission: where every source row went.

Per source file: a row is *mapped* when at least one canonical row was written from it,
*quarantined* when none was and at least one issue quarantined it, and *ignored* otherwise,
with a reason (its source table is used by no rule, every rule's ``where`` excluded it, or the
reader did not pass it on). Counts are computed from the rows actually written and the issues
actually recorded, and ``Ledger.check()`` then verifies that they add up to the rows read; a
row lost or counted twice is a bug and stops the run.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from cart_registry.canonical.ledger import Ledger, LedgerMismatch
from cart_registry.readers.base import FILE_COL, ROW_COL

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

    from cart_registry.ingest.sources import SubmissionSources

def rows_by_file(frame: pl.DataFrame, file_col: str, row_col: str) -> dict[str, np.ndarray]:
    """file -> row numbers (numpy) of a frame's rows."""
    import polars as pl

    if frame.height == 0:
        return {}
    files = frame.get_column(file_col)
    first = files[0]
    if files.null_count() == 0 and (files == first).all():  # one file: no grouping needed
        return {str(first): frame.get_column(row_col).drop_nulls().cast(pl.Int64).to_numpy()}
    out = {}
    for (path,), part in frame.select(file_col, row_col).partition_by(
            file_col, as_dict=True).items():
        if path is not None:
            out[str(path)] = part.get_column(row_col).drop_nulls().cast(pl.Int64).to_numpy()
    return out


def _mark(n: int, parts: Iterable[dict[str, np.ndarray]], path: str) -> np.ndarray:
    import numpy as np

    # CSV and NDJSON rows count from 1, Bundle entries from 0: one slot more covers both
    flags = np.zeros(n + 1, dtype=bool)
    for p in parts:
        rows = p.get(path)
        if rows is not None and rows.size:
            flags[rows[(rows >= 0) & (rows <= n)]] = True
    return flags


def build_ledger(
    sources: SubmissionSources,
    used: Iterable[tuple[str, pl.DataFrame]],
    written: dict[str, pl.DataFrame],
    issues: pl.DataFrame,
) -> Ledger:
    """``used``: (source table name, FILE/ROW pairs a rule selected); ``written``: canonical
    frames per table (with source_file/source_row); ``issues``: every ingest issue.

    Rows are marked in one boolean array per file (indexed by data row), so the ledger of a
    million-row file is a few vector operations.
    """
    import numpy as np
    import polars as pl

    sha = {f.path: f.sha256 for f in sources.files}
    ledger = Ledger()
    written_rows = {t: rows_by_file(f, "source_file", "source_row") for t, f in written.items()}
    mapped_parts = list(written_rows.values())
    quarantined_parts = [rows_by_file(
        issues.filter(pl.col("action") == "row_quarantined"), "source_file", "source_row")]
    used_list = list(used)
    used_names = {name for name, _ in used_list}
    selected_parts = [rows_by_file(f, FILE_COL, ROW_COL) for _, f in used_list]
    # source tables in reason order: those some rule reads first (their rows were excluded
    # by filters), then those no rule reads
    tables = sorted(sources.tables.items(), key=lambda kv: (kv[0] not in used_names, kv[0]))
    in_parts = [(name, rows_by_file(t.frame, FILE_COL, ROW_COL)) for name, t in tables]

    for path in sorted(sources.rows_read):
        n = sources.rows_read[path]
        entry = ledger.entry(path, sha.get(path, ""))
        entry.rows_read = n
        mapped = _mark(n, mapped_parts, path)
        quarantined = _mark(n, quarantined_parts, path) & ~mapped
        rest = ~mapped & ~quarantined
        lost = rest & _mark(n, selected_parts, path)
        if lost.any():
            r = int(np.flatnonzero(lost)[0])
            raise LedgerMismatch(
                f"{path}: data row {r} was selected by a mapping rule but neither mapped nor "
                f"quarantined ({int(lost.sum())} such rows; this is a bug, please report it)"
            )
        entry.rows_mapped = int(mapped.sum())
        entry.rows_quarantined = int(quarantined.sum())
        for name, part in in_parts:
            mine = rest & _mark(n, [part], path)
            k = int(mine.sum())
            if not k:
                continue
            reason = (f"excluded by the where filters of every rule reading {name}"
                      if name in used_names else
                      f"source table {name} is not used by any mapping rule")
            entry.ignore(reason, k)
            rest &= ~mine
    for path, reasons in sources.rows_ignored.items():
        for reason, k in sorted(reasons.items()):
            ledger.entry(path, sha.get(path, "")).ignore(reason, k)
    for table, by_file in written_rows.items():
        for path, rows in by_file.items():
            if path in ledger.entries and rows.size:
                ledger.entries[path].canonical_rows[table] = int(rows.size)
    return ledger


def ledger_csv(ledger: Ledger) -> str:
    """One line per source file (the ledger as a spreadsheet)."""
    import csv
    import io
    import json

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["source_file", "sha256", "rows_read", "rows_mapped", "rows_quarantined",
                "rows_ignored", "ignored_reasons", "canonical_rows", "balanced"])
    for e in ledger.to_list():
        w.writerow([
            e["source_file"], e["sha256"], e["rows_read"], e["rows_mapped"],
            e["rows_quarantined"], e["rows_ignored"],
            json.dumps(e["ignored_reasons"], sort_keys=True),
            json.dumps(e["canonical_rows"], sort_keys=True),
            e["rows_read"] == e["rows_mapped"] + e["rows_quarantined"] + e["rows_ignored"],
        ])
    return buf.getvalue()
