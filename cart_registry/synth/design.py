"""The abstract preset's cohort design: who responds, relapses and dies, and when.

Everything the abstract reports is decided here, on the 61 included patients, before any
record is written: the paired CR table (36/18/4/3), the antigen switches (35 of 40 CART-B CRs
and 13 of 21 non-CRs), relapse phenotypes (3/7/10/1, 8 not evaluable), order statistics of age
and interval, and the survival times. The survival times are pinned by statistics.md §6: a KM
curve and its bands depend only on the order of events and censorings, so a monotone
piecewise-linear time warp sends the three anchor events (where the lower band, the curve and
the upper band first reach 0.5) to the target days without moving them in the order.

Time origins follow the issue: OS from the CART-B first infusion, RFS from the CART-B CR date
(the first CR assessment in the course window), death in remission an RFS event.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cart_registry.synth.km import median_ci
from cart_registry.synth.prng import Stream

# -------------------------------------------------------------------------- targets
#: days chosen to round right with 30.4, 30.4375 and 30.44 days per month (statistics.md §6)
OS_TARGETS = (396, 457, 691)  # 13.0 / 15.0 / 22.7 months: lower, median, upper
RFS_TARGETS = (186, 286, 402)  # 6.1 / 9.4 / 13.2 months
AGE_DAYS = (1205, 4602, 11104)  # 3.3 / 12.6 / 30.4 years (days / 365.25)
INTERVAL_DAYS = (53, 302, 1183)
#: a value further than this from 0.5 cannot be moved across it by rounding differences
PLATEAU_MARGIN = 1e-6

N_INCLUDED = 61
N_MORE_THAN_TWO = 13
PAIRED = {"both": 36, "a_only": 18, "b_only": 4, "neither": 3}
DIFFER_AMONG_B_CR = 35
DIFFER_AMONG_B_NONCR = 13
PHENOTYPES = {
    "antigen_negative": 3, "antigen_dim": 7, "antigen_positive": 10, "lineage_switch": 1,
    "not_evaluable": 8,
}
#: CART-B CR patients: relapse 29 (20 then die), die in remission 2, censored 9 (1 early)
N_REL_DEAD, N_REL_ALIVE, N_DEATH_IN_REMISSION, N_CENSORED_LATE, N_LTFU = 20, 9, 2, 8, 1
#: CART-B non-responders: 17 die, 4 alive
N_NR_DEAD, N_NR_ALIVE = 17, 4

# RFS times outside this zone are fixed by OS; only relapses inside it are warped
RFS_ZONE = (150, 590)
#: OS times below this are left alone by the warp (early deaths and the early censoring)
OS_LOW_KNOT = 200
OS_MAX = 1500


@dataclass
class IncludedDesign:
    """One included patient as the abstract sees it (all days are integers)."""

    index: int
    a_cr: bool
    b_cr: bool
    differ: bool
    #: DR, LTFU, CENS, REL_DEAD, REL_ALIVE, NR_DEAD, NR_ALIVE
    category: str
    os_days: int = 0
    dead: bool = False
    #: CART-B CR day (days from the CART-B first infusion to the first CR assessment)
    b_cr_day: int | None = None
    #: RFS days from the CR date (relapse, death in remission or censoring)
    rfs_days: int | None = None
    phenotype: str | None = None
    age_days: int = 0
    interval_days: int = 0
    n_courses: int = 2
    extra: dict[str, object] = field(default_factory=dict)


class DesignError(RuntimeError):
    """A candidate failed a check; the caller retries with the next attempt number."""


def _warp(x: float, knots: list[tuple[float, float]]) -> float:
    """Monotone piecewise-linear map through ``knots`` (identity outside them)."""
    if x <= knots[0][0] or x >= knots[-1][0]:
        return x
    for (x0, y0), (x1, y1) in zip(knots, knots[1:], strict=False):
        if x0 <= x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    raise AssertionError("unreachable")


def _check_pinned(times: list[int], events: list[bool], targets: tuple[int, int, int]) -> None:
    m = median_ci(times, events)
    if (m.lower, m.median, m.upper) != targets:
        raise DesignError(f"anchors {m.lower}/{m.median}/{m.upper} != {targets}")
    if m.margin < PLATEAU_MARGIN:
        raise DesignError("a step lies on 0.5")


def _pin(
    times: list[float], events: list[bool], targets: tuple[int, int, int],
    lo_knot: float, hi_knot: float, movable: list[bool],
) -> list[float]:
    """Warp the movable times so the anchors land on the targets."""
    m = median_ci(times, events)
    if m.lower is None or m.median is None or m.upper is None:
        raise DesignError("median or a band never reaches 0.5")
    anchors = (m.lower, m.median, m.upper)
    if not (lo_knot < anchors[0] < anchors[1] < anchors[2] < hi_knot):
        raise DesignError(f"anchors {anchors} outside ({lo_knot}, {hi_knot})")
    if not (lo_knot < targets[0] and targets[2] < hi_knot):
        raise DesignError("targets outside the warp zone")
    knots = [(lo_knot, lo_knot), *zip(anchors, targets, strict=True), (hi_knot, hi_knot)]
    out = []
    for t, mv in zip(times, movable, strict=True):
        if mv:
            out.append(_warp(t, knots))
        else:
            if lo_knot < t < hi_knot:
                raise DesignError("a fixed time lies inside the warp zone")
            out.append(t)
    return out


def design_included(seed: int, attempt: int) -> list[IncludedDesign]:
    """One candidate cohort; raises DesignError when a check fails."""
    rs = Stream(seed, "abstract-design", attempt)

    # ---- paired response table and antigen switches
    pairs = (
        [(True, True)] * PAIRED["both"] + [(True, False)] * PAIRED["a_only"]
        + [(False, True)] * PAIRED["b_only"] + [(False, False)] * PAIRED["neither"]
    )
    rs.shuffle(pairs)
    pts = [IncludedDesign(i, a, b, False, "") for i, (a, b) in enumerate(pairs)]
    b_cr = [p for p in pts if p.b_cr]
    b_no = [p for p in pts if not p.b_cr]
    for p in rs.sample(b_cr, DIFFER_AMONG_B_CR):
        p.differ = True
    for p in rs.sample(b_no, DIFFER_AMONG_B_NONCR):
        p.differ = True

    # ---- outcome categories
    cats = (
        ["REL_DEAD"] * N_REL_DEAD + ["REL_ALIVE"] * N_REL_ALIVE
        + ["DR"] * N_DEATH_IN_REMISSION + ["CENS"] * N_CENSORED_LATE + ["LTFU"] * N_LTFU
    )
    for p, c in zip(rs.shuffle(list(b_cr)), cats, strict=True):
        p.category = c
    for p, c in zip(rs.shuffle(list(b_no)), ["NR_DEAD"] * N_NR_DEAD + ["NR_ALIVE"] * N_NR_ALIVE,
                    strict=True):
        p.category = c
    rel = [p for p in pts if p.category.startswith("REL")]
    phen = [k for k, n in PHENOTYPES.items() for _ in range(n)]
    for p, ph in zip(rs.shuffle(list(rel)), phen, strict=True):
        p.phenotype = ph

    # ---- OS: raw shapes, then pin
    raw: list[float] = []
    for p in pts:
        c = p.category
        if c == "DR":
            t = rs.uniform(80, 175)
        elif c == "LTFU":
            t = rs.uniform(85, 140)
        elif c == "CENS":
            t = rs.uniform(700, 1450)
        elif c == "REL_DEAD":
            t = 30 + rs.uniform(60, 520) + rs.uniform(40, 380)
        elif c == "REL_ALIVE":
            t = rs.uniform(480, 1450)
        elif c == "NR_DEAD":
            t = rs.log_uniform(45, 900)
        else:  # NR_ALIVE
            t = rs.uniform(420, 1400)
        p.dead = c in ("DR", "REL_DEAD", "NR_DEAD")
        raw.append(t)
    events = [p.dead for p in pts]
    movable = [True] * len(pts)
    # the early deaths and the early censoring stay below the low knot (identity there)
    warped = _pin(raw, events, OS_TARGETS, OS_LOW_KNOT, OS_MAX, movable)
    os_days = [int(round(t)) for t in warped]
    _check_pinned(os_days, events, OS_TARGETS)
    for p, t in zip(pts, os_days, strict=True):
        p.os_days = t
        if p.category == "CENS" and t < RFS_ZONE[1] + 40:
            raise DesignError("late censoring fell into the RFS zone")
        if not p.dead and p.category != "LTFU" and not 300 <= t <= OS_MAX - 20:
            raise DesignError("censored OS time outside the calendar window")
        if p.category in ("DR", "LTFU") and t >= RFS_ZONE[0] + 24:
            raise DesignError("early event moved")

    # ---- RFS from the CART-B CR date
    for p in b_cr:
        p.b_cr_day = rs.randint(24, 33)
    fixed_t: list[float] = []
    fixed_e: list[bool] = []
    for p in b_cr:
        if p.category in ("DR", "LTFU", "CENS"):
            assert p.b_cr_day is not None
            p.rfs_days = p.os_days - p.b_cr_day
            fixed_t.append(p.rfs_days)
            fixed_e.append(p.category == "DR")
    n_rel = len(rel)
    rel_raw = [
        rs.uniform(40, 300) if k < n_rel // 2 else rs.uniform(300, 900) for k in range(n_rel)
    ]
    times = fixed_t + rel_raw
    ev = fixed_e + [True] * n_rel
    mov = [False] * len(fixed_t) + [True] * n_rel
    rfs = _pin(times, ev, RFS_TARGETS, RFS_ZONE[0], RFS_ZONE[1], mov)
    rel_times = sorted(int(round(t)) for t in rfs[len(fixed_t):])
    _check_pinned([int(t) for t in fixed_t] + rel_times, ev, RFS_TARGETS)

    # ---- give the relapse times to relapsed patients, largest first, each to a random patient
    # whose death/last contact leaves room (nested eligibility makes greedy assignment exact)
    def bound(p: IncludedDesign) -> int:
        assert p.b_cr_day is not None
        return p.os_days - p.b_cr_day - (14 if p.dead else 30)

    free = list(rel)
    for t in reversed(rel_times):
        ok = [p for p in free if bound(p) >= t]
        if not ok or t < 35:
            raise DesignError("relapse times do not fit the survival times")
        p = rs.choice(ok)
        p.rfs_days = t
        free.remove(p)

    # ---- ages at CART-A and CART-A -> CART-B intervals (exact order statistics)
    lo, med, hi = AGE_DAYS
    ages = [lo, med, hi] + [rs.randint(lo + 1, med - 1) for _ in range(29)]
    ages += [
        rs.randint(med + 1, 6574) if k < 21 else rs.randint(6575, hi - 1) for k in range(29)
    ]
    rs.shuffle(ages)
    for p, a in zip(pts, ages, strict=True):
        p.age_days = a

    lo, med, hi = INTERVAL_DAYS
    a_no = [p for p in pts if not p.a_cr]
    a_yes = [p for p in pts if p.a_cr]
    a_no_iv = [lo] + [rs.randint(lo + 1, 180) for _ in range(len(a_no) - 1)]
    n_below = 30 - len(a_no)
    a_yes_iv = [med, hi] + [rs.randint(120, med - 1) for _ in range(n_below)]
    a_yes_iv += [
        rs.randint(med + 1, 700) if k < 20 else rs.randint(700, hi - 1)
        for k in range(len(a_yes) - 2 - n_below)
    ]
    for group, ivs in ((a_no, a_no_iv), (a_yes, a_yes_iv)):
        rs.shuffle(ivs)
        for p, iv in zip(group, ivs, strict=True):
            p.interval_days = iv
    return pts


def design_included_pinned(seed: int, max_attempts: int = 2000) -> tuple[list[IncludedDesign], int]:
    """The first candidate (by attempt number) that passes every check."""
    last = ""
    for attempt in range(max_attempts):
        try:
            return design_included(seed, attempt), attempt
        except DesignError as exc:
            last = str(exc)
    raise RuntimeError(f"no cohort design found in {max_attempts} attempts (last: {last})")
