"""What the report needs from the warehouse: counts, summaries and ADTTE arrays.

``CohortInputs`` is the hand-off between the warehouse reader (``warehouse.py``, SQL) and the
statistics (``assemble.py``, pure Python). It mirrors the ``endpoints.*`` views: the SQL
decides who is counted (one definition, in the views), the report adds exact intervals,
tests and figures. Time-to-event parameters come as arrays (time, status) from
``adam.adtte``, without identifiers. Optional parts default to empty; the report then says
which section is missing and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .model import TimeToEvent

#: relapse phenotype categories in display order (domain.md 5.2)
PHENOTYPES: tuple[tuple[str, str], ...] = (
    ("antigen_negative", "Antigen negative"),
    ("antigen_dim", "Antigen dim"),
    ("antigen_positive", "Antigen positive"),
    ("lineage_switch", "Lineage switch"),
)
NOT_EVALUABLE = "not_evaluable"


def _nonneg(obj: object, *names: str) -> None:
    for name in names:
        v = getattr(obj, name)
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise ValueError(f"{type(obj).__name__}.{name} must be a count, got {v!r}")


@dataclass(frozen=True)
class MedianRange:
    """Sample median, minimum and maximum of ``n`` values (None when n = 0)."""

    n: int
    median: float | None
    minimum: float | None
    maximum: float | None


@dataclass(frozen=True)
class PairedCounts:
    """A paired 2x2 table: outcome after course A by outcome after course B."""

    both: int
    a_only: int
    b_only: int
    neither: int

    def __post_init__(self) -> None:
        _nonneg(self, "both", "a_only", "b_only", "neither")

    @property
    def n(self) -> int:
        return self.both + self.a_only + self.b_only + self.neither

    @property
    def a(self) -> int:
        return self.both + self.a_only

    @property
    def b(self) -> int:
        return self.both + self.b_only


@dataclass(frozen=True)
class SwitchCounts:
    """CART-B response (CR / no CR) by whether CART-B targeted a different antigen."""

    different_cr: int
    different_no_cr: int
    same_cr: int
    same_no_cr: int

    def __post_init__(self) -> None:
        _nonneg(self, "different_cr", "different_no_cr", "same_cr", "same_no_cr")


@dataclass(frozen=True)
class ToxicityPaired:
    """``endpoints.toxicity_paired``: one toxicity and measure, after A vs after B."""

    tox_type: str
    #: any_grade, grade_3_plus_reported or grade_3_plus_astct
    measure: str
    counts: PairedCounts


@dataclass(frozen=True)
class ToxicityCourse:
    """``endpoints.toxicity_by_course``: courses with a toxicity, per course and basis.

    basis "any" (occurrence whatever the scale), "reported" (one row per site scale; the
    denominator is the courses graded on it) or "astct_recomputed".
    """

    course_label: str
    tox_type: str
    basis: str
    grading_scale: str
    n_courses: int
    n_any_grade: int
    n_grade_3_plus: int
    n_not_recomputable: int | None = None
    n_approximate: int | None = None


@dataclass(frozen=True)
class HsctAfterCR:
    """``endpoints.hsct_after_cart_b_cr``: transplants after a CART-B CR."""

    n_cr: int
    n_hsct: int
    n_hsct_before_relapse: int
    cr_to_hsct_days: MedianRange


@dataclass(frozen=True)
class CohortInputs:
    """Everything the abstract, tables and figures are computed from."""

    n_screened: int
    n_cohort: int
    n_more_than_two: int
    n_distinct_constructs: int
    age_at_a_years: MedianRange
    interval_ab_days: MedianRange
    antigen_rule: str
    #: CART-B targeted a different antigen under the study rule / each reading
    n_different: int
    n_sets_differ: int | None
    n_disjoint: int | None
    cr_paired: PairedCounts
    switch: SwitchCounts
    #: CART-B complete responders, and those with a relapse after the CR
    n_cr_b: int
    n_relapsed_b: int
    #: first relapses after a CART-B CR by phenotype (PHENOTYPES keys and NOT_EVALUABLE)
    phenotype_b: Mapping[str, int]
    n_sites: int | None = None
    time_to_event: tuple[TimeToEvent, ...] = ()
    toxicity_paired: tuple[ToxicityPaired, ...] = ()
    toxicity_course: tuple[ToxicityCourse, ...] = ()
    #: (CART-A targets, CART-B targets, patients), targets joined with "+"
    target_sequences: tuple[tuple[str, str, int], ...] = ()
    #: switchers by the pre-CART-B status of the CART-A target(s)
    switch_reason: Mapping[str, int] = field(default_factory=dict)
    #: (antigen, time point, status, patients); time points pre_a, pre_b, relapse_b
    antigen_status: tuple[tuple[str, str, str, int], ...] = ()
    #: (antigen, status before CART-A, status before CART-B, patients)
    antigen_transitions: tuple[tuple[str, str, str, int], ...] = ()
    #: (course label, best-response category, courses); category "n" is the denominator
    best_response: tuple[tuple[str, str, int], ...] = ()
    #: (therapy class or "hsct", cohort patients who had it between CART-A and CART-B)
    interval_therapy: tuple[tuple[str, int], ...] = ()
    hsct_after_cr_b: HsctAfterCR | None = None
    #: (constructs group "2" / "3+", status at last contact, patients)
    status_by_constructs: tuple[tuple[str, str, int], ...] = ()
    #: sections the reader could not fill, with the reason (shown in the report)
    missing: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _nonneg(self, "n_screened", "n_cohort", "n_more_than_two", "n_distinct_constructs",
                "n_different", "n_cr_b", "n_relapsed_b")
