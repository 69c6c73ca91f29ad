"""The generator's seeded defects (sample_exports/with_defects, answer_key.csv): every defect
that is the ingest's to catch is quarantined or nulled at the row the key names."""

from __future__ import annotations

import csv
from typing import Any

import polars as pl
import pytest

from cart_registry.canonical.issues import ISSUE_TABLE
from cart_registry.ingest import ingest_submission
from tests.mapping.helpers import SAMPLE, make_project, sample_site

SITES = ["site_redcap", "site_edc"]
#: answer-key rules an ingest must catch (the others are validation rules: R01..R21,
#: orphan rows, duplicate patients under different ids)
INGEST_RULES = ("conformance.", "malformed_row")


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, pl.DataFrame, dict[str, Any]]:
    exports = {s: sample_site(s, defects=True) for s in SITES}
    project = make_project(tmp_path_factory.mktemp("defects"))
    results = {s: ingest_submission(project, exports[s], s, received_at="2023-07-01T00:00:00Z")
               for s in SITES}
    issues = pl.concat([
        pl.read_parquet(p) for s in SITES
        for p in (project.data_dir / ISSUE_TABLE / f"site_id={s}").glob("*/part-0.parquet")
    ])
    return project, issues, results


def answer_key() -> list[dict[str, str]]:
    path = SAMPLE / "with_defects" / "answer_key.csv"
    if not path.is_file():
        pytest.skip("answer key not present")
    with path.open(newline="", encoding="utf-8") as fh:
        return [r for r in csv.DictReader(fh) if r["site_id"] in SITES]


def test_ledgers_balance_with_defects(ingested: Any) -> None:
    _, _, results = ingested
    for r in results.values():
        assert r.ok and r.totals["rows_quarantined"] > 0


def test_every_ingest_defect_is_caught_at_its_row(ingested: Any) -> None:
    _, issues, _ = ingested
    key = [d for d in answer_key() if d["rule"].startswith(INGEST_RULES)]
    assert key
    for d in key:
        hits = issues.filter((pl.col("source_file") == d["source_file"])
                             & (pl.col("source_row") == int(d["source_row"])))
        assert hits.height, f"{d['defect_id']} ({d['description']}) not reported"
        if d["canonical_column"] and d["rule"] != "malformed_row":
            assert d["canonical_column"] in hits.get_column("target_column").to_list(), d
        if d["rule"] == "malformed_row":
            assert hits.get_column("reason_code").to_list() == ["ragged_row"]
            assert hits.get_column("raw_row").null_count() == 0


def test_a_subject_listed_twice_is_quarantined_as_duplicate_key(ingested: Any) -> None:
    _, issues, _ = ingested
    dup = issues.filter(pl.col("reason_code") == "duplicate_key")
    assert set(dup.get_column("value")) >= {"site_edc-CHS-015"}
    assert (dup.get_column("action") == "row_quarantined").all()


def test_quarantined_rows_carry_location_and_raw_row(ingested: Any) -> None:
    _, issues, _ = ingested
    q = issues.filter(pl.col("action") == "row_quarantined")
    assert q.get_column("source_row").null_count() == 0
    assert q.get_column("raw_row").null_count() == 0
    redcap = q.filter(pl.col("source_file") == "CARTRegistry_DATA.csv")
    keyed = redcap.filter(pl.col("reason_code") != "ragged_row").get_column("source_key")
    assert keyed.str.starts_with("record=").all()
