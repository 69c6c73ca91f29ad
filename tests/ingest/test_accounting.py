"""The row ledger from reader output given as SourceTables (the FHIR reader's shape)."""

from __future__ import annotations

import polars as pl
import pytest

from cart_registry.canonical.ledger import LedgerMismatch
from cart_registry.ingest.accounting import build_ledger
from cart_registry.ingest.sources import SubmissionSources
from cart_registry.mapping.apply import empty_issues
from cart_registry.readers.base import FILE_COL, KEY_COL, ROW_COL, SourceFileInfo, SourceTable


def table(name: str, rows: list[int], file: str = "b.json", n: int = 5) -> SourceTable:
    frame = pl.DataFrame({"x": ["v"] * len(rows), ROW_COL: rows, KEY_COL: [None] * len(rows),
                          FILE_COL: [file] * len(rows)},
                         schema={"x": pl.String, ROW_COL: pl.Int64, KEY_COL: pl.String,
                                 FILE_COL: pl.String})
    return SourceTable(name, frame, [SourceFileInfo(file, "0" * 64, 10)], rows_read={file: n},
                       rows_ignored={file: {"resource type not used": 1}} if name == "obs" else {})


def written(rows: list[int], file: str = "b.json") -> pl.DataFrame:
    return pl.DataFrame({"source_file": [file] * len(rows), "source_row": rows})


def test_zero_based_entries_several_tables_one_file() -> None:
    # a Bundle of 5 entries (0..4): patient 0, observations 1-3, entry 4 dropped by the reader
    sources = SubmissionSources.from_tables([table("pat", [0]), table("obs", [1, 2, 3])])
    obs_used = sources.tables["obs"].frame.filter(pl.col(ROW_COL) < 3).select(FILE_COL, ROW_COL)
    issues = empty_issues().vstack(pl.DataFrame({
        **{c: [None] for c in empty_issues().columns}, "source_file": ["b.json"],
        "source_row": [2], "action": ["row_quarantined"], "reason_code": ["x"],
    }, schema=empty_issues().schema))
    ledger = build_ledger(sources, [("obs", obs_used), ("pat", sources.tables["pat"].frame)],
                          {"patient": written([0]), "disease_assessment": written([1])}, issues)
    ledger.check()
    e = ledger.entries["b.json"]
    assert (e.rows_read, e.rows_mapped, e.rows_quarantined, e.rows_ignored) == (5, 2, 1, 2)
    assert e.ignored_reasons == {"excluded by the where filters of every rule reading obs": 1,
                                 "resource type not used": 1}


def test_rows_read_must_agree_between_tables_of_one_file() -> None:
    from cart_registry.errors import ProjectError

    with pytest.raises(ProjectError, match="disagree"):
        SubmissionSources.from_tables([table("a", [1], n=3), table("b", [2], n=4)])


def test_a_selected_row_that_vanished_is_a_bug() -> None:
    sources = SubmissionSources.from_tables([table("pat", [1, 2])])
    with pytest.raises(LedgerMismatch, match="data row 2 was selected"):
        build_ledger(sources, [("pat", sources.tables["pat"].frame)], {"patient": written([1])},
                     empty_issues())
