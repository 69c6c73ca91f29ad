"""Access to the R reference values kept beside the checkout (never copied into the repo).

The files live in ``../shared/reference/survival/`` relative to the repository root; tests
that need them skip with a clear reason when a fresh clone does not have them.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
REF_DIR = REPO_ROOT / ".." / "shared" / "reference" / "survival"

#: every dataset and CI type in r_quantiles.csv / r_survival.csv (the tests check the CSVs
#: hold exactly these, so none can be silently left out)
DATASETS = (
    "aml_all",
    "aml_maintained",
    "aml_nonmaintained",
    "lung_all",
    "lung_male",
    "lung_female",
    "veteran_all",
    "ovarian_all",
    "exact_half_20",
    "ties_mixed",
    "bmt_all_group",
)
CONF_TYPES = ("log", "log-log", "plain")


def ref_path(name: str) -> Path:
    path = REF_DIR / name
    if not path.exists():
        pytest.skip(f"R reference file ../shared/reference/survival/{name} is not present")
    return path


def na_float(text: str) -> float:
    """R's CSV cell as float; "NA" becomes NaN."""
    return math.nan if text in ("NA", "") else float(text)


def read_rows(name: str) -> list[dict[str, str]]:
    with ref_path(name).open(newline="") as fh:
        return list(csv.DictReader(fh))


def read_columns(name: str) -> dict[str, np.ndarray]:
    """A numeric CSV as float columns."""
    rows = read_rows(name)
    return {k: np.array([na_float(r[k]) for r in rows]) for k in rows[0]}


def same_na(expected: float, got: float | None) -> bool:
    """True when both are NA (NaN in R's CSV, None from us)."""
    return math.isnan(expected) and got is None
