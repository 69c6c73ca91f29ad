"""Survival statistics for the registry: R-compatible, numpy-first, JSON-safe.

Importing this package loads numpy only; lifelines (Cox), scipy (chi-square p-values) and
matplotlib (figures) are imported inside the functions that need them.

Conventions (see docs/statistics.md of the research notes): times are fitted in days and
converted at output time with ``DAYS_PER_MONTH`` = 30.4375; the default KM CI is log-log
(SAS / lifelines), with R's "log" and the "plain" band available; quantiles follow R
``quantile.survfit``; "not estimable" is ``None``, never inf or NaN.
"""

from ._common import CONF_TYPES, DAYS_PER_MONTH, ConfType, StatsInputError, json_safe
from .compare import (
    FisherResult,
    LogRankResult,
    McNemarResult,
    fisher_exact,
    logrank_test,
    mcnemar_exact,
    paired_counts,
)
from .competing import CIFAt, CIFFit, cif_at, cumulative_incidence
from .cox import CoxResult, CoxTerm, cox_ph
from .followup import LandmarkData, landmark, median_followup, median_followup_survivors
from .gray import GrayTest, gray_test
from .km import (
    KMFit,
    QuantileEstimate,
    SurvivalAt,
    confidence_band,
    days_to_months,
    kaplan_meier,
    km_median,
    km_quantiles,
    rescale_fit,
    survival_at,
    to_months,
    with_conf_type,
)
from .plots import plot_cif, plot_km
from .tidy import tidy_cif, tidy_km, tidy_result, to_json

__all__ = [
    "CONF_TYPES",
    "DAYS_PER_MONTH",
    "CIFAt",
    "CIFFit",
    "ConfType",
    "CoxResult",
    "CoxTerm",
    "FisherResult",
    "GrayTest",
    "KMFit",
    "LandmarkData",
    "LogRankResult",
    "McNemarResult",
    "QuantileEstimate",
    "StatsInputError",
    "SurvivalAt",
    "cif_at",
    "confidence_band",
    "cox_ph",
    "cumulative_incidence",
    "days_to_months",
    "fisher_exact",
    "gray_test",
    "json_safe",
    "kaplan_meier",
    "km_median",
    "km_quantiles",
    "landmark",
    "logrank_test",
    "mcnemar_exact",
    "median_followup",
    "median_followup_survivors",
    "paired_counts",
    "plot_cif",
    "plot_km",
    "rescale_fit",
    "survival_at",
    "tidy_cif",
    "tidy_km",
    "tidy_result",
    "to_json",
    "to_months",
    "with_conf_type",
]
