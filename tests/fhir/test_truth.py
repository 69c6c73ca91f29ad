"""The FHIR sample site ingests into the same canonical rows as the generator's truth.

Both forms (one Bundle per patient, and Bulk NDJSON) go through ``ingest_fhir_submission``
(the shared ingest: mapping, conformance, ledger, Parquet). Surrogate ids differ by design
(the ingest derives them from resource ids), so rows are compared on business columns, with
foreign keys to an infusion replaced by that infusion's natural key (patient and date).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from cart_registry.project import Project

SURROGATE = {"infusion_id", "ld_id", "tox_id", "assessment_id", "expr_id", "relapse_id",
             "hsct_id", "therapy_id"}
TABLES = ("patient", "cart_infusion", "lymphodepletion", "hsct", "antileukemic_therapy",
          "disease_assessment", "antigen_expression", "relapse", "toxicity_event", "death",
          "follow_up")


def _norm(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) else float(f"{value:.12g}")
    if isinstance(value, list):
        return tuple(value)
    return value


def _comparable(tables: dict[str, pl.DataFrame]) -> dict[str, list[tuple[Any, ...]]]:
    inf = tables["cart_infusion"]
    date_of = dict(zip(inf["infusion_id"].to_list(), inf["infusion_date"].to_list(),
                       strict=True))
    out = {}
    for name in TABLES:
        frame = tables[name]
        rows = []
        for r in frame.to_dicts():
            if "infusion_id" in r and name != "cart_infusion":
                r["infusion_id"] = date_of.get(r["infusion_id"])
            rows.append(tuple((k, _norm(v)) for k, v in sorted(r.items())
                              if k not in SURROGATE or k == "infusion_id" and name != "cart_infusion"))
        out[name] = sorted(rows, key=repr)
    return out


def _truth_tables() -> dict[str, pl.DataFrame]:
    from cart_registry.synth.truth import generate_truth

    truth = generate_truth("abstract", 0)
    pids = [p.patient_id for p in truth.plans if p.site_id == "site_fhir"]
    return {name: truth.tables[name].filter(pl.col("patient_id").is_in(pids)) for name in TABLES}


def _ingested_tables(project: Project, submission_id: str) -> dict[str, pl.DataFrame]:
    from cart_registry.canonical.store import partition_dir

    std = project.standard()
    out = {}
    for name in TABLES:
        path = partition_dir(project.data_dir, name, "site_fhir", submission_id) / "part-0.parquet"
        cols = [c.name for c in std.table(name).business_columns]
        out[name] = pl.read_parquet(path).select(cols) if path.is_file() else pl.DataFrame()
    return out


@pytest.mark.parametrize("form", ["bundles", "bulk"])
def test_fhir_site_matches_truth(form: str, site_fhir_export: Path, fhir_project: Path) -> None:
    from cart_registry.fhir import ingest_fhir_submission

    project = Project.find(fhir_project)
    result = ingest_fhir_submission(project, site_fhir_export / form, "site_fhir",
                                    received_at="2023-07-15T00:00:00Z")
    assert result.ok, result.ledger
    assert result.issues_by_reason == {}, result.issues_by_reason
    got = _comparable(_ingested_tables(project, result.submission_id))
    want = _comparable(_truth_tables())
    for name in TABLES:
        assert len(got[name]) == len(want[name]), name
        missing = [r for r in want[name] if r not in got[name]]
        extra = [r for r in got[name] if r not in want[name]]
        assert not missing and not extra, (name, missing[:2], extra[:2])


def test_both_forms_give_the_same_source_tables(site_fhir_export: Path) -> None:
    from cart_registry.fhir.export import read_export

    bulk = read_export(site_fhir_export / "bulk")
    bundles = read_export(site_fhir_export / "bundles")
    assert bulk.engines and set(bulk.engines.values()) == {"duckdb"}
    strip = ("_source_row", "_source_file")
    for name, rows in bulk.rows.items():
        a = sorted((tuple((k, v) for k, v in r.items() if k not in strip) for r in rows), key=repr)
        b = sorted((tuple((k, v) for k, v in r.items() if k not in strip)
                    for r in bundles.rows[name]), key=repr)
        assert a == b, name
    assert bulk.ignored_by_type() == bundles.ignored_by_type()
