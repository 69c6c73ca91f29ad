"""The endpoint report's data model: everything a renderer may show, and nothing else.

Renderers (HTML, Markdown, JSON) and the figure code take an ``EndpointReportData`` and
never touch the warehouse, so they can be tested on small hand-made objects. The objects
hold aggregate numbers only: counts, estimates, intervals and p-values, plus the
time-to-event arrays the figures are drawn from (times and status codes, never a patient
identifier). Free text from site data never reaches this model; labels are written by us.

Everything is a frozen dataclass, and NA is ``None`` (never NaN or inf), so the JSON
renderer can refuse NaN outright.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, TypeAlias

#: time-to-event parameter kinds: a Kaplan-Meier endpoint (status 1 event / 0 censored) or a
#: competing-risks one (status 0 censored / 1 event of interest / 2 competing event)
TTEKind = Literal["km", "competing"]


def _finite_or_none(x: float | None, what: str) -> None:
    if x is not None and not math.isfinite(x):
        raise ValueError(f"{what} must be finite or None, got {x!r}")


@dataclass(frozen=True)
class Interval:
    """A confidence interval (either end None when not estimable)."""

    lower: float | None
    upper: float | None
    level: float = 0.95
    method: str = ""

    def __post_init__(self) -> None:
        _finite_or_none(self.lower, "interval lower")
        _finite_or_none(self.upper, "interval upper")


@dataclass(frozen=True)
class AbstractRow:
    """One number of the abstract-style table.

    ``value`` is the headline estimate in ``unit``: a percentage for proportions (n/N), a
    median for times and ages, a count for counts. ``value_range`` is (min, max) for a
    "median (range)" row. ``p`` is the row's test, described by ``p_method``.
    """

    key: str
    section: str
    label: str
    n: int | None = None
    N: int | None = None
    value: float | None = None
    unit: str | None = None
    ci: Interval | None = None
    value_range: tuple[float, float] | None = None
    p: float | None = None
    p_method: str | None = None
    method: str = ""
    note: str | None = None

    def __post_init__(self) -> None:
        _finite_or_none(self.value, f"{self.key}: value")
        _finite_or_none(self.p, f"{self.key}: p")
        if self.n is not None and self.N is not None and not 0 <= self.n <= self.N:
            raise ValueError(f"{self.key}: n={self.n} is not within 0..N={self.N}")
        if self.value_range is not None:
            for v in self.value_range:
                _finite_or_none(v, f"{self.key}: range")

    @property
    def percent(self) -> float | None:
        """n/N as a percentage (None unless both are given and N > 0)."""
        if self.n is None or not self.N:
            return None
        return 100.0 * self.n / self.N


# -- table cells --------------------------------------------------------------------------


@dataclass(frozen=True)
class Frac:
    """A count out of a denominator, shown as "n/N (x.x%)"."""

    n: int
    N: int

    @property
    def percent(self) -> float | None:
        return 100.0 * self.n / self.N if self.N else None


@dataclass(frozen=True)
class PValue:
    """A p-value with the test that produced it (None = not computed)."""

    p: float | None
    method: str = ""

    def __post_init__(self) -> None:
        _finite_or_none(self.p, "p")


@dataclass(frozen=True)
class Num:
    """A number shown with a fixed number of decimals."""

    value: float | None
    digits: int = 1

    def __post_init__(self) -> None:
        _finite_or_none(self.value, "number")


Cell: TypeAlias = str | int | Frac | PValue | Num | None


@dataclass(frozen=True)
class ReportTable:
    """A titled table of cells; ``group`` places it in a report section."""

    key: str
    group: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    note: str | None = None

    def __post_init__(self) -> None:
        for r in self.rows:
            if len(r) != len(self.columns):
                raise ValueError(
                    f"table {self.key}: row has {len(r)} cells for {len(self.columns)} columns"
                )


# -- time to event ------------------------------------------------------------------------


@dataclass(frozen=True)
class TimeToEvent:
    """One ADTTE-style parameter as arrays: time in days from the origin and a status code.

    ``kind="km"``: status 1 = event, 0 = censored. ``kind="competing"``: 0 = censored,
    1 = the event of interest, 2 = the competing event.
    """

    paramcd: str
    label: str
    origin: str
    kind: TTEKind
    time_days: tuple[float, ...]
    status: tuple[int, ...]
    event_label: str = "event"
    competing_label: str | None = None

    def __post_init__(self) -> None:
        if len(self.time_days) != len(self.status):
            raise ValueError(f"{self.paramcd}: time and status differ in length")
        allowed = {0, 1} if self.kind == "km" else {0, 1, 2}
        bad = set(self.status) - allowed
        if bad:
            raise ValueError(f"{self.paramcd}: status codes {sorted(bad)} not in {sorted(allowed)}")
        if any(not math.isfinite(t) or t < 0 for t in self.time_days):
            raise ValueError(f"{self.paramcd}: times must be finite and >= 0")

    @property
    def n(self) -> int:
        return len(self.time_days)

    @property
    def events(self) -> int:
        return sum(1 for s in self.status if s == 1)

    @property
    def competing_events(self) -> int:
        return sum(1 for s in self.status if s == 2)


# -- the report ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportMeta:
    """Where the numbers came from and under which definitions.

    ``as_of`` is supplied by the caller (default: the data cutoff), never read from the
    clock, so the same registry gives a byte-identical report.
    """

    title: str
    tool_version: str
    as_of: str
    data_cutoff: date | None
    registry_name: str
    source: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class EndpointReportData:
    """Everything the endpoint report shows."""

    meta: ReportMeta
    settings: Mapping[str, Any]
    abstract: tuple[AbstractRow, ...]
    time_to_event: tuple[TimeToEvent, ...] = ()
    tables: tuple[ReportTable, ...] = ()
    #: sections or numbers that could not be produced, with the reason
    missing: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        keys = [r.key for r in self.abstract]
        dup = {k for k in keys if keys.count(k) > 1}
        if dup:
            raise ValueError(f"duplicate abstract row keys: {sorted(dup)}")

    def row(self, key: str) -> AbstractRow:
        for r in self.abstract:
            if r.key == key:
                return r
        raise KeyError(key)

    def tte(self, paramcd: str) -> TimeToEvent | None:
        return next((t for t in self.time_to_event if t.paramcd == paramcd), None)

    def tables_in(self, group: str) -> tuple[ReportTable, ...]:
        return tuple(t for t in self.tables if t.group == group)
