"""The sample REDCap and other-EDC sites ingest with every row accounted for, and give the
generator's truth back."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from cart_registry.canonical.store import list_submissions
from cart_registry.ingest import IngestResult, ingest_submission
from cart_registry.project import Project
from tests.mapping.helpers import make_project, sample_site

SITES = ["site_redcap", "site_edc"]
RECEIVED = "2023-07-01T00:00:00Z"
#: natural keys to compare canonical rows with the truth (surrogate ids differ by design)
NATURAL = {
    "patient": ["patient_id"], "cart_infusion": ["patient_id", "infusion_date"],
    "lymphodepletion": ["patient_id", "start_date"],
    "toxicity_event": ["patient_id", "tox_type", "onset_date"],
    "disease_assessment": ["patient_id", "assessment_date", "specimen"],
    "antigen_expression": ["patient_id", "sample_date", "timepoint", "antigen"],
    "relapse": ["patient_id", "relapse_date"], "hsct": ["patient_id", "hsct_date"],
    "antileukemic_therapy": ["patient_id", "therapy_class", "start_date"],
    "death": ["patient_id"], "follow_up": ["patient_id"],
}
SURROGATE = {"infusion_id", "tox_id", "assessment_id", "expr_id", "relapse_id", "hsct_id",
             "therapy_id", "ld_id"}


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, dict[str, IngestResult]]:
    exports = {s: sample_site(s) for s in SITES}
    project = make_project(tmp_path_factory.mktemp("sample"))
    return project, {s: ingest_submission(project, exports[s], s, received_at=RECEIVED)
                     for s in SITES}


def table(project: Project, site: str, name: str) -> pl.DataFrame:
    files = list((project.data_dir / name / f"site_id={site}").glob("*/part-0.parquet"))
    assert len(files) == 1, files
    return pl.read_parquet(files[0])


def data_rows(path: Path, encoding: str, delimiter: str) -> int:
    """Data rows of a CSV counted independently (non-blank records after the header)."""
    with path.open(newline="", encoding=encoding) as fh:
        return sum(1 for r in csv.reader(fh, delimiter=delimiter) if r) - 1


@pytest.mark.parametrize("site", SITES)
def test_every_row_is_accounted_for(ingested: Any, site: str) -> None:
    project, results = ingested
    result = results[site]
    enc, delim = ("utf-8", ",") if site == "site_redcap" else ("latin-1", ";")
    folder = sample_site(site)
    assert result.ok
    for e in result.ledger:
        assert e["rows_read"] == e["rows_mapped"] + e["rows_quarantined"] + e["rows_ignored"]
        assert e["rows_read"] == data_rows(folder / e["source_file"], enc, delim)
    assert result.totals["rows_quarantined"] == 0 and result.issues == 0
    # the ledger is in the manifest and beside it, as JSON and CSV
    mdir = Path(result.manifest_path).parent
    manifest = json.loads(Path(result.manifest_path).read_text())
    assert manifest["ledger"] == result.ledger
    assert json.loads((mdir / "ledger.json").read_text())["entries"] == result.ledger
    assert (mdir / "ledger.csv").read_text().count("\n") == len(result.ledger) + 1
    for key in ("received_at", "tool_version", "mapping_digest", "source_files", "row_counts",
                "lineage", "mapping_version"):
        assert key in manifest
    assert manifest["received_at"] == RECEIVED
    assert all(len(f["sha256"]) == 64 and f["size_bytes"] > 0 for f in manifest["source_files"])
    assert [r.submission_id for r in list_submissions(project, site)] == [result.submission_id]


def test_edc_code_list_file_is_ignored_with_a_reason(ingested: Any) -> None:
    _, results = ingested
    entry = {e["source_file"]: e for e in results["site_edc"].ledger}["codelists.csv"]
    assert entry["rows_ignored"] == entry["rows_read"] > 0
    assert list(entry["ignored_reasons"]) == ["source table codelists is not used by any mapping rule"]


@pytest.mark.parametrize("site", SITES)
def test_canonical_values_equal_the_generators_truth(ingested: Any, site: str) -> None:
    truth_mod = pytest.importorskip("cart_registry.synth.truth")
    manifest = json.loads((sample_site(site).parent / "synth-manifest.json").read_text())
    truth = truth_mod.generate_truth(manifest.get("preset", "abstract"), manifest.get("seed", 0))
    project, _ = ingested
    for name, keys in NATURAL.items():
        want = truth.tables[name].filter(pl.col("patient_id").str.starts_with(f"{site}-"))
        got = table(project, site, name).select(want.columns)
        assert got.height == want.height, name
        cols = [c for c in want.columns if c not in SURROGATE]
        joined = want.select(cols).join(got.select(cols), on=keys, how="full", coalesce=True,
                                        suffix="_got", nulls_equal=True)
        assert joined.height == want.height, f"{name}: natural keys differ"
        for c in cols:
            if c in keys:
                continue
            a, b = joined.get_column(c), joined.get_column(f"{c}_got")
            if a.dtype == pl.Float64:
                ok = ((a - b).abs() <= 1e-9 * a.abs().clip(lower_bound=1)) | (a.is_null() & b.is_null())
            else:
                ok = (a == b) | (a.is_null() & b.is_null())
            assert ok.fill_null(False).all(), (name, c, joined.filter(~ok.fill_null(False)).head(3))


@pytest.mark.parametrize("site", SITES)
def test_references_between_tables_resolve(ingested: Any, site: str) -> None:
    project, _ = ingested
    infusions = set(table(project, site, "cart_infusion").get_column("infusion_id"))
    patients = set(table(project, site, "patient").get_column("patient_id"))
    ld = table(project, site, "lymphodepletion")
    assert set(ld.get_column("infusion_id")) <= infusions
    tox = table(project, site, "toxicity_event").get_column("infusion_id").drop_nulls()
    assert set(tox) <= infusions
    if site == "site_edc":
        assert tox.len() > 0  # the EDC links episodes to infusions
    for name in NATURAL:
        assert set(table(project, site, name).get_column("patient_id")) <= patients


def test_provenance_and_lineage(ingested: Any) -> None:
    project, results = ingested
    tox = table(project, "site_redcap", "toxicity_event")
    row = tox.row(0, named=True)
    assert row["mapping_rule"] == "site_redcap/toxicity_event.yaml#toxicity"
    assert row["source_file"] == "CARTRegistry_DATA.csv" and row["source_row"] >= 1
    assert row["source_key"].startswith("record=") and "|instrument=toxicity|instance=" in row["source_key"]
    manifest = json.loads(Path(results["site_edc"].manifest_path).read_text())
    temp = [x for x in manifest["lineage"] if x["table"] == "toxicity_event" and x["column"] == "temp_max_c"]
    assert temp == [{"table": "toxicity_event", "column": "temp_max_c",
                     "rule": "site_edc/toxicity_event.yaml#toxicities.temp_max_c",
                     "table_rule": "site_edc/toxicity_event.yaml#toxicities",
                     "source": "toxicities", "source_fields": ["TMAX_F"],
                     "ops": ["convert_units"]}]


def test_reingest_is_deterministic(ingested: Any) -> None:
    project, results = ingested
    before = table(project, "site_edc", "toxicity_event")
    again = ingest_submission(project, sample_site("site_edc"), "site_edc", received_at=RECEIVED)
    assert again.submission_id == results["site_edc"].submission_id
    assert table(project, "site_edc", "toxicity_event").equals(before)
