"""Registry and study settings (``mappings/registry.yaml``).

Study definitions live here and nowhere else: the SQL views read them from a one-row
``settings`` table, and every endpoint output records the settings it was computed with.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cart_registry.errors import ConfigError
from cart_registry.yamlio import read_yaml


class StudySettings(BaseModel):
    """Endpoint definitions that a study may choose differently."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: ADaM STUDYID of the exports
    study_id: str = "CARTREG"
    #: last date of complete data; nothing may be later, and survival is censored here
    data_cutoff_date: dt.date = dt.date(2023, 6, 30)
    #: best response is taken from assessments on day 0..window after the first infusion of a
    #: course, and before the next course, HSCT or non-bridging therapy
    response_window_days: int = Field(default=42, ge=7, le=365)
    #: whether CR with incomplete count recovery counts as CR
    cri_counts_as_cr: bool = True
    #: origin of relapse-free survival: the CR date of the course, or its first infusion
    rfs_origin: Literal["cr_date", "infusion_date"] = "cr_date"
    #: death in remission counts as an RFS event (otherwise it censors)
    death_in_remission_is_rfs_event: bool = True
    #: censor RFS/EFS/OS at a later HSCT in the primary parameters (variants are always built)
    censor_at_hsct: bool = False
    #: "different antigen": target sets differ (default) or are disjoint
    antigen_difference_rule: Literal["sets_differ", "disjoint"] = "sets_differ"
    #: days around the relapse date in which antigen expression counts as "at relapse"
    relapse_phenotype_window_days: int = Field(default=14, ge=0, le=90)
    #: a dual-target construct's relapse is antigen-negative when all targets (or any) are negative
    dual_target_negative_rule: Literal["all", "any"] = "all"
    #: days per month for reporting (days / 30.4375)
    days_per_month: float = 30.4375


class RegistrySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "cart_registry"
    study: StudySettings = StudySettings()
    #: counts of 1..small_cell_max are suppressed in cross-site tables for the coordinating centre
    small_cell_max: int = Field(default=10, ge=0, le=50)


def load_settings(path: Path) -> RegistrySettings:
    """Read ``registry.yaml``; a missing file means all defaults."""
    if not path.is_file():
        return RegistrySettings()
    raw: Any = read_yaml(path) or {}
    try:
        return RegistrySettings.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{path.name}: {loc}: {first['msg']}") from None
