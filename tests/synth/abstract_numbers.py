"""The abstract's numbers, recomputed from exported records by the README's definitions.

Independent of cart_registry (generator and pipeline): plain Python over the records of
exports_reader, with a minimal Kaplan-Meier (log-log CI) of its own.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from dataclasses import dataclass

from tests.synth.exports_reader import CR_CODES, Pt

DAYS_PER_MONTH = 30.4375
Z = 1.959963984540054


def km_median_ci(times: list[int], events: list[bool]) -> tuple[float, float, float, float]:
    """(median, lower, upper) first-crossing times of 0.5, and the closest approach to 0.5."""
    pairs = sorted(zip(times, events, strict=True))
    n = len(pairs)
    at_risk, s, gw = n, 1.0, 0.0
    med = lo = hi = math.inf
    closest = 1.0
    i = 0
    while i < n:
        t = pairs[i][0]
        d = sum(1 for x in pairs[i:] if x[0] == t and x[1])
        c = sum(1 for x in pairs[i:] if x[0] == t and not x[1])
        if d:
            s *= (at_risk - d) / at_risk
            gw += d / (at_risk * (at_risk - d)) if at_risk > d else 0.0
            v = math.log(s)
            se = math.sqrt(gw)
            lower = math.exp(-math.exp(math.log(-v) - Z * se / v))
            upper = math.exp(-math.exp(math.log(-v) + Z * se / v))
            closest = min(closest, abs(s - 0.5), abs(lower - 0.5), abs(upper - 0.5))
            if s <= 0.5 and med == math.inf:
                med = t
            if lower <= 0.5 and lo == math.inf:
                lo = t
            if upper <= 0.5 and hi == math.inf:
                hi = t
        at_risk -= d + c
        i += d + c
    return med, lo, hi, closest


def exact_mcnemar(b: int, c: int) -> float:
    n = b + c
    k = min(b, c)
    p = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * p)


@dataclass
class Numbers:
    screened: int
    included: int
    more_than_two: int
    exactly_two: int
    n_constructs: int
    age_median: float
    age_min: float
    age_max: float
    interval_median: float
    interval_min: int
    interval_max: int
    differ: int
    cr_a: int
    cr_b: int
    paired: tuple[int, int, int, int]
    mcnemar_p: float
    differ_among_b_cr: int
    same_among_b_noncr: int
    b_noncr: int
    relapsed_after_b_cr: int
    phenotypes: dict[str, int]
    rfs: tuple[float, float, float]
    rfs_closest: float
    os: tuple[float, float, float]
    os_closest: float
    rfs_days: tuple[float, float, float]
    os_days: tuple[float, float, float]


def _courses(p: Pt) -> list[tuple[dt.date, str]]:
    first: dict[str, dt.date] = {}
    for d, c in p.infusions:
        first[c] = min(first.get(c, d), d)
    return sorted((d, c) for c, d in first.items())


def _cr_date(p: Pt, start: dt.date, next_start: dt.date | None) -> dt.date | None:
    stop = start + dt.timedelta(days=42)
    for d in [next_start, *p.hsct, *(s for s, intent in p.therapies if intent != "bridging")]:
        if d is not None and d > start:
            stop = min(stop, d - dt.timedelta(days=1))
    crs = [d for d, spec, resp in p.assessments
           if spec == "bone_marrow" and resp in CR_CODES and start <= d <= stop]
    return min(crs) if crs else None


def _phenotype(p: Pt, rel: tuple[dt.date, str], targets: tuple[str, ...]) -> str:
    date, lineage = rel
    if lineage in ("myeloid", "mixed"):
        return "lineage_switch"
    expr = {ag: st for d, ag, st in p.expression if abs((d - date).days) <= 14}
    if not expr:
        return "not_evaluable"
    statuses = [expr.get(t) for t in targets]
    if all(s == "negative" for s in statuses):
        return "antigen_negative"
    if "negative" not in statuses and "dim" in statuses:
        return "antigen_dim"
    return "antigen_positive"


def compute(pts: dict[str, Pt], targets: dict[str, tuple[str, ...]]) -> Numbers:
    cohort = [p for p in pts.values() if len(_courses(p)) >= 2]
    ages, intervals = [], []
    cr_a = cr_b = differ = 0
    paired = [0, 0, 0, 0]
    differ_b_cr = same_b_no = 0
    relapsed = 0
    phen: dict[str, int] = {}
    rfs_t, rfs_e, os_t, os_e = [], [], [], []
    constructs: set[str] = set()
    for p in cohort:
        courses = _courses(p)
        constructs.update(c for _, c in courses)
        (da, ca), (db, cb) = courses[0], courses[1]
        nxt = courses[2][0] if len(courses) > 2 else None
        assert p.birth is not None and p.last_contact is not None
        ages.append((da - p.birth).days / 365.25)
        intervals.append((db - da).days)
        dif = targets[ca] != targets[cb]
        differ += dif
        a_cr = _cr_date(p, da, db)
        b_cr = _cr_date(p, db, nxt)
        cr_a += a_cr is not None
        cr_b += b_cr is not None
        paired[0 if a_cr and b_cr else 1 if a_cr else 2 if b_cr else 3] += 1
        if b_cr is not None:
            differ_b_cr += dif
            rels = sorted(r for r in p.relapses if r[0] > b_cr and (nxt is None or r[0] < nxt))
            end = p.death or p.last_contact
            if rels:
                relapsed += 1
                ph = _phenotype(p, rels[0], targets[cb])
                phen[ph] = phen.get(ph, 0) + 1
                rfs_t.append((rels[0][0] - b_cr).days)
                rfs_e.append(True)
            else:
                rfs_t.append((end - b_cr).days)
                rfs_e.append(p.death is not None)
        else:
            same_b_no += not dif
        os_t.append(((p.death or p.last_contact) - db).days)
        os_e.append(p.death is not None)
    r_med, r_lo, r_hi, r_close = km_median_ci(rfs_t, rfs_e)
    o_med, o_lo, o_hi, o_close = km_median_ci(os_t, os_e)
    m = DAYS_PER_MONTH
    return Numbers(
        screened=len(pts), included=len(cohort),
        more_than_two=sum(1 for p in cohort if len(_courses(p)) > 2),
        exactly_two=sum(1 for p in cohort if len(_courses(p)) == 2),
        n_constructs=len(constructs),
        age_median=statistics.median(ages), age_min=min(ages), age_max=max(ages),
        interval_median=statistics.median(intervals), interval_min=min(intervals),
        interval_max=max(intervals), differ=differ, cr_a=cr_a, cr_b=cr_b,
        paired=(paired[0], paired[1], paired[2], paired[3]),
        mcnemar_p=exact_mcnemar(paired[1], paired[2]),
        differ_among_b_cr=differ_b_cr, same_among_b_noncr=same_b_no,
        b_noncr=len(cohort) - cr_b, relapsed_after_b_cr=relapsed, phenotypes=phen,
        rfs=(r_med / m, r_lo / m, r_hi / m), rfs_closest=r_close,
        os=(o_med / m, o_lo / m, o_hi / m), os_closest=o_close,
        rfs_days=(r_med, r_lo, r_hi), os_days=(o_med, o_lo, o_hi),
    )
