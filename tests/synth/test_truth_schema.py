"""Truth tables validate against the canonical Pandera schemas.

The truth holds business columns only (ingest fills provenance), so the test adds dummy
provenance columns and validates with the full strict schema of each table.
"""

from __future__ import annotations

import polars as pl
import pytest

from cart_registry.standard import load_standard
from cart_registry.standard.derive import pandera_schema
from cart_registry.synth.truth import Truth

STD = load_standard()


def _with_provenance(table: str, df: pl.DataFrame, patient_site: dict[str, str]) -> pl.DataFrame:
    t = STD.table(table)
    names = {c.name for c in t.columns}
    if "source_file" not in names:
        return df
    n = df.height
    if "patient_id" in df.columns:
        site = [patient_site.get(pid, "site_redcap") for pid in df["patient_id"].to_list()]
    else:
        site = ["registry"] * n
    extra = {
        "site_id": pl.Series(site, dtype=pl.String),
        "submission_id": pl.Series(["sub-1"] * n, dtype=pl.String),
        "source_file": pl.Series(["x.csv"] * n, dtype=pl.String),
        "source_sha256": pl.Series(["0" * 64] * n, dtype=pl.String),
        "source_row": pl.Series(list(range(1, n + 1)), dtype=pl.Int64),
        "source_key": pl.Series([None] * n, dtype=pl.String),
        "mapping_rule": pl.Series(["synth"] * n, dtype=pl.String),
    }
    return df.with_columns(**{k: v for k, v in extra.items() if k in names and k not in df.columns})


@pytest.mark.parametrize("table", [t.name for t in STD])
def test_truth_table_validates(truth0: Truth, table: str) -> None:
    df = truth0.tables[table]
    assert df.height > 0
    assert list(df.columns) == [c.name for c in STD.table(table).business_columns]
    full = _with_provenance(table, df, truth0.patient_site)
    pandera_schema(STD.table(table)).validate(full, lazy=True)


def test_patient_ids_carry_the_site(truth0: Truth) -> None:
    for pid, site in truth0.patient_site.items():
        assert pid.startswith(site + "-")
    assert len(truth0.tables["patient"]) == 135
