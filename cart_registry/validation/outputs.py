"""Files a validation run writes: report.json, report.html, queries_<site>.csv, ledger.csv.

The folder is built under a temporary name and swapped into place (``fsutil.atomic_dir``), so
a reader never sees half a report. Query lists are UTF-8 with a BOM (Excel reads it as UTF-8)
and every text cell a spreadsheet would evaluate (starting with = + - @, tab or CR) is prefixed
with an apostrophe (OWASP CSV injection), because site staff open these files in Excel.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cart_registry.fsutil import atomic_dir
from cart_registry.validation.summaries import QUERY_COLUMNS

if TYPE_CHECKING:
    import pyarrow as pa

    from cart_registry.validation.report import ValidationReport

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: Any) -> Any:
    """Make a cell inert in a spreadsheet (apostrophe prefix); numbers are left alone."""
    if isinstance(cell, str) and cell.startswith(_FORMULA_START):
        return "'" + cell
    return cell


def write_csv(path: Path, columns: tuple[str, ...] | list[str], rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(columns)
        for row in rows:
            w.writerow(["" if row.get(c) is None else neutralise(row.get(c)) for c in columns])


def write_queries(folder: Path, queries: pa.Table, site_ids: list[str]) -> list[str]:
    """One query list per site (an empty list still says "nothing to answer")."""
    written = []
    rows = queries.to_pylist()
    for site in site_ids:
        name = f"queries_{site}.csv"
        write_csv(folder / name, QUERY_COLUMNS, [r for r in rows if r["site_id"] == site])
        written.append(name)
    return written


def write_outputs(report: ValidationReport, out_dir: Path, queries: pa.Table) -> list[str]:
    from cart_registry.validation.html import render_html

    files = ["report.json", "report.html", "ledger.csv"]
    with atomic_dir(out_dir) as tmp:
        (tmp / "report.json").write_text(report.to_json() + "\n", encoding="utf-8")
        (tmp / "report.html").write_text(render_html(report), encoding="utf-8")
        ledger_cols = ["site_id", "submission_id", "source_file", "sha256", "rows_read",
                       "rows_mapped", "rows_quarantined", "rows_ignored", "balanced"]
        write_csv(tmp / "ledger.csv", ledger_cols, list(report.ledger))
        files += write_queries(tmp, queries, [s["site_id"] for s in report.sites])
    return files
