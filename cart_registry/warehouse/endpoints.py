"""``endpoint_table``: every number of the abstract, and the secondary objectives, in one object.

Counts come straight from the ``endpoints.*`` views; survival inputs from ``adam.adtte``, so the
numbers on screen and the exported analysis data sets are the same rows. Medians, their CIs,
the McNemar p-value and the reverse-KM follow-up come from ``cart_registry.stats`` (KM with
the log-log band and R's quantile rule, exact McNemar). Every output carries the settings it
was computed with and their hash.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cart_registry.project import Project
from cart_registry.settings import StudySettings, load_settings
from cart_registry.warehouse.connection import DEFAULT_LOCK_TIMEOUT
from cart_registry.warehouse.query import json_value
from cart_registry.warehouse.readonly import open_readonly
from cart_registry.warehouse.views import settings_hash, settings_record

if TYPE_CHECKING:
    import duckdb

#: survival parameters summarised with a KM median (CIRB gets a cumulative incidence instead)
KM_PARAMS = ("RFSB", "OSB", "RFSBC", "RFSBI", "EFSB", "OSA", "RFSA", "EFSA")
CIF_MONTHS = (6.0, 12.0, 24.0)
PHENOTYPES = (
    ("antigen_negative", "negative"),
    ("antigen_dim", "dim"),
    ("antigen_positive", "positive"),
    ("lineage_switch", "lineage switch"),
)


@dataclass(frozen=True)
class EndpointItem:
    """One line of the abstract-style table."""

    key: str
    label: str
    text: str
    source: str
    value: float | None = None
    n: int | None = None
    denominator: int | None = None
    low: float | None = None
    high: float | None = None
    unit: str | None = None
    method: str | None = None
    section: str = "abstract"

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "section": self.section,
            "label": self.label,
            "text": self.text,
            "value": self.value,
            "n": self.n,
            "denominator": self.denominator,
            "low": self.low,
            "high": self.high,
            "unit": self.unit,
            "source": self.source,
            "method": self.method,
        }


@dataclass(frozen=True)
class SurvivalInput:
    """The rows a survival estimate is fitted on (from ``adam.adtte``)."""

    paramcd: str
    time_days: tuple[float, ...]
    event: tuple[bool, ...]
    event_type: tuple[int, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "paramcd": self.paramcd,
            "time_days": list(self.time_days),
            "event": list(self.event),
            "event_type": list(self.event_type),
        }


@dataclass(frozen=True)
class SurvivalEstimate:
    paramcd: str
    n: int
    events: int
    median_months: float | None
    lower_months: float | None
    upper_months: float | None
    method: str

    def to_json(self) -> dict[str, Any]:
        return {
            "paramcd": self.paramcd,
            "n": self.n,
            "events": self.events,
            "median_months": self.median_months,
            "lower_months": self.lower_months,
            "upper_months": self.upper_months,
            "method": self.method,
        }


@dataclass(frozen=True)
class EndpointTable:
    """Abstract-style items, every endpoint view's rows, survival inputs and estimates."""

    items: tuple[EndpointItem, ...]
    views: dict[str, tuple[dict[str, Any], ...]]
    survival_inputs: dict[str, SurvivalInput]
    survival: tuple[SurvivalEstimate, ...]
    settings: dict[str, Any]
    settings_hash: str
    submissions: tuple[dict[str, Any], ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    def item(self, key: str) -> EndpointItem:
        for it in self.items:
            if it.key == key:
                return it
        raise KeyError(key)

    def view(self, name: str) -> tuple[dict[str, Any], ...]:
        return self.views[name]

    def to_json(self) -> dict[str, Any]:
        return {
            "settings_hash": self.settings_hash,
            "settings": self.settings,
            "submissions": list(self.submissions),
            "items": [i.to_json() for i in self.items],
            "survival": [s.to_json() for s in self.survival],
            "views": {k: [{c: json_value(v) for c, v in r.items()} for r in rows]
                      for k, rows in self.views.items()},
            "survival_inputs": {k: v.to_json() for k, v in self.survival_inputs.items()},
            "notes": list(self.notes),
        }


# --------------------------------------------------------------------------- formatting
def pct(n: int | None, d: int | None) -> float | None:
    return None if n is None or not d else 100.0 * n / d


def fmt_num(x: float | None, nd: int = 1) -> str:
    return "NA" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{nd}f}"


def fmt_count(n: int | None, d: int | None = None) -> str:
    if n is None:
        return "NA"
    if d is None:
        return str(n)
    return f"{n}/{d} ({fmt_num(pct(n, d))}%)"


def fmt_p(p: float | None) -> str:
    """P in the journal style of the abstract: no leading zero, two significant digits."""
    if p is None:
        return "NA"
    if p < 0.001:
        return "P < .001"
    text = f"{p:.2g}" if p < 0.1 else f"{p:.2f}"
    return "P = " + (text[1:] if text.startswith("0") else text)


def _days(x: Any) -> str:
    return "NA" if x is None else f"{float(x):g}"


# --------------------------------------------------------------------------- reading
def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[dict[str, Any], ...]:
    cur = con.execute(sql)
    cols = [d[0] for d in cur.description or ()]
    return tuple(dict(zip(cols, r, strict=True)) for r in cur.fetchall())


def endpoint_view_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "SELECT view_name FROM duckdb_views() WHERE database_name = current_database() "
        "AND schema_name = 'endpoints' ORDER BY view_name"
    ).fetchall()
    return [f"endpoints.{r[0]}" for r in rows]


def _survival_inputs(con: duckdb.DuckDBPyConnection) -> dict[str, SurvivalInput]:
    rows = con.execute(
        "SELECT PARAMCD, AVAL, CNSR = 0, coalesce(EVENTTYP, CASE WHEN CNSR = 0 THEN 1 ELSE 0 END) "
        # ordered by value, never by patient: the arrays must not be linkable to a subject
        "FROM adam.adtte WHERE AVAL >= 0 ORDER BY ALL"
    ).fetchall()
    grouped: dict[str, list[tuple[float, bool, int]]] = {}
    for p, t, e, et in rows:
        grouped.setdefault(str(p), []).append((float(t), bool(e), int(et)))
    return {
        p: SurvivalInput(p, tuple(r[0] for r in v), tuple(r[1] for r in v), tuple(r[2] for r in v))
        for p, v in grouped.items()
    }


# --------------------------------------------------------------------------- statistics
def _km_estimates(inputs: dict[str, SurvivalInput]) -> list[SurvivalEstimate]:
    from cart_registry.stats import kaplan_meier, km_median, to_months

    out = []
    for p in KM_PARAMS:
        si = inputs.get(p)
        if si is None or not si.time_days:
            continue
        fit = to_months(kaplan_meier(si.time_days, si.event, conf_type="log-log"))
        med = km_median(fit)
        out.append(SurvivalEstimate(
            paramcd=p, n=fit.n, events=fit.events, median_months=med.estimate,
            lower_months=med.lower, upper_months=med.upper,
            method=f"Kaplan-Meier, {fit.conf_type} 95% CI, {med.method}",
        ))
    return out


def _survival_items(est: list[SurvivalEstimate]) -> list[EndpointItem]:
    labels = {
        "RFSB": "Median RFS after CART-B CR",
        "OSB": "Median OS from CART-B",
        "RFSBC": "Median RFS after CART-B CR, censored at HSCT/CAR T",
        "RFSBI": "Median RFS from CART-B infusion (CR patients)",
        "EFSB": "Median EFS from CART-B",
        "OSA": "Median OS from CART-A",
        "RFSA": "Median RFS after CART-A CR",
        "EFSA": "Median EFS from CART-A",
    }
    items = []
    for e in est:
        text = (f"{fmt_num(e.median_months)} mo (95% CI {fmt_num(e.lower_months)}–"
                f"{fmt_num(e.upper_months)}); {e.events} events/{e.n}")
        items.append(EndpointItem(
            key=f"median_{e.paramcd.lower()}", label=labels[e.paramcd], text=text,
            source="adam.adtte", value=e.median_months, n=e.events, denominator=e.n,
            low=e.lower_months, high=e.upper_months, unit="months", method=e.method,
            section="abstract" if e.paramcd in ("RFSB", "OSB") else "survival",
        ))
    return items


def _cir_items(inputs: dict[str, SurvivalInput], days_per_month: float) -> list[EndpointItem]:
    from cart_registry.stats import cif_at, cumulative_incidence

    si = inputs.get("CIRB")
    if si is None or not si.time_days:
        return []
    fit = cumulative_incidence(si.time_days, si.event_type, cause_of_interest=1)
    at = cif_at(fit, [m * days_per_month for m in CIF_MONTHS])
    items = []
    for m, est, lo, hi in zip(CIF_MONTHS, at.estimate, at.lower, at.upper, strict=True):
        v = None if est is None else 100 * est
        text = "NA" if est is None else (
            f"{fmt_num(v)}% (95% CI {fmt_num(None if lo is None else 100 * lo)}–"
            f"{fmt_num(None if hi is None else 100 * hi)})")
        items.append(EndpointItem(
            key=f"cir_b_{int(m)}m", label=f"Cumulative incidence of relapse at {m:g} mo after "
            "CART-B CR (death competing)", text=text, source="adam.adtte (CIRB)", value=v,
            low=None if lo is None else 100 * lo, high=None if hi is None else 100 * hi,
            unit="%", method="Aalen-Johansen, Aalen variance, log-log CI", section="survival",
        ))
    return items


def _followup_item(inputs: dict[str, SurvivalInput], days_per_month: float) -> EndpointItem | None:
    from cart_registry.stats import median_followup

    si = inputs.get("OSB")
    if si is None or not si.time_days:
        return None
    q = median_followup(si.time_days, si.event)

    def conv(d: float | None) -> float | None:
        return None if d is None else d / days_per_month

    return EndpointItem(
        key="median_followup_b", label="Median follow-up from CART-B (reverse KM)",
        text=f"{fmt_num(conv(q.estimate))} mo (95% CI {fmt_num(conv(q.lower))}–"
             f"{fmt_num(conv(q.upper))})",
        source="adam.adtte (OSB)", value=conv(q.estimate), low=conv(q.lower),
        high=conv(q.upper), unit="months", method=q.method, section="follow_up",
    )


# --------------------------------------------------------------------------- items
def _one(views: dict[str, tuple[dict[str, Any], ...]], name: str) -> dict[str, Any]:
    rows = views.get(name, ())
    return rows[0] if rows else {}


def _by(views: dict[str, tuple[dict[str, Any], ...]], name: str, **match: Any) -> dict[str, Any]:
    for r in views.get(name, ()):
        if all(r.get(k) == v for k, v in match.items()):
            return r
    return {}


def _count_items(views: dict[str, tuple[dict[str, Any], ...]]) -> list[EndpointItem]:
    from cart_registry.stats import mcnemar_exact

    items: list[EndpointItem] = []
    cc = _one(views, "endpoints.cohort_counts")
    for key, label in (("screened", "Screened"),
                       ("cohort", "Received >= 2 unique constructs"),
                       ("more_than_two", "Received > 2 unique constructs"),
                       ("distinct_constructs", "Distinct constructs in the cohort")):
        items.append(EndpointItem(key=key, label=label, text=fmt_count(cc.get(key)),
                                  source="endpoints.cohort_counts", n=cc.get(key)))
    age = _one(views, "endpoints.age_at_cart_a")
    items.append(EndpointItem(
        key="age_cart_a", label="Age at CART-A, years: median (range)",
        text=f"{fmt_num(age.get('median_years'))} ({fmt_num(age.get('min_years'))}–"
             f"{fmt_num(age.get('max_years'))})",
        source="endpoints.age_at_cart_a", value=age.get("median_years"), n=age.get("n"),
        low=age.get("min_years"), high=age.get("max_years"), unit="years"))
    iv = _one(views, "endpoints.interval_a_b")
    items.append(EndpointItem(
        key="interval_a_b", label="CART-A to CART-B, days: median (range)",
        text=f"{_days(iv.get('median_days'))} ({_days(iv.get('min_days'))}–"
             f"{_days(iv.get('max_days'))})",
        source="endpoints.interval_a_b", value=iv.get("median_days"), n=iv.get("n"),
        low=iv.get("min_days"), high=iv.get("max_days"), unit="days"))
    sw = _one(views, "endpoints.antigen_switch")
    n_coh = sw.get("n_cohort")
    items.append(EndpointItem(
        key="different_antigen", label=f"CART-B targeted a different antigen ({sw.get('rule')})",
        text=fmt_count(sw.get("n_different"), n_coh), source="endpoints.antigen_switch",
        n=sw.get("n_different"), denominator=n_coh, value=pct(sw.get("n_different"), n_coh)))
    items.append(EndpointItem(
        key="disjoint_antigen", label="CART-B shared no antigen with CART-A (disjoint)",
        text=fmt_count(sw.get("n_disjoint"), n_coh), source="endpoints.antigen_switch",
        n=sw.get("n_disjoint"), denominator=n_coh, value=pct(sw.get("n_disjoint"), n_coh)))
    for course in ("A", "B"):
        r = _by(views, "endpoints.response_by_course", course_label=course)
        items.append(EndpointItem(
            key=f"cr_{course.lower()}", label=f"CR after CART-{course}",
            text=fmt_count(r.get("n_cr"), r.get("n")), source="endpoints.response_by_course",
            n=r.get("n_cr"), denominator=r.get("n"), value=pct(r.get("n_cr"), r.get("n"))))
    pr = _one(views, "endpoints.cr_paired")
    items.append(EndpointItem(
        key="cr_paired", label="CR after A and B: both / A only / B only / neither",
        text=" / ".join(str(pr.get(k, "NA")) for k in ("both", "a_only", "b_only", "neither")),
        source="endpoints.cr_paired", n=pr.get("n")))
    if pr.get("n"):
        mc = mcnemar_exact(int(pr["a_only"]), int(pr["b_only"]))
        items.append(EndpointItem(
            key="cr_mcnemar_p", label="CR after A versus B (paired)", text=fmt_p(mc.p_value),
            source="endpoints.cr_paired", value=mc.p_value, method=mc.method))
    cr = _by(views, "endpoints.cr_by_switch", cart_b_response="cr")
    items.append(EndpointItem(
        key="cr_b_different_antigen", label="CART-B responders with a different antigen",
        text=fmt_count(cr.get("n_different_antigen"), cr.get("n")),
        source="endpoints.cr_by_switch", n=cr.get("n_different_antigen"),
        denominator=cr.get("n"), value=pct(cr.get("n_different_antigen"), cr.get("n"))))
    nc = _by(views, "endpoints.cr_by_switch", cart_b_response="not_cr")
    items.append(EndpointItem(
        key="not_cr_b_same_antigen", label="CART-B non-responders with the same antigen",
        text=fmt_count(nc.get("n_same_antigen"), nc.get("n")), source="endpoints.cr_by_switch",
        n=nc.get("n_same_antigen"), denominator=nc.get("n"),
        value=pct(nc.get("n_same_antigen"), nc.get("n"))))
    rl = _by(views, "endpoints.relapse_after_cr", course_label="B")
    items.append(EndpointItem(
        key="relapse_after_b_cr", label="Relapsed after CART-B CR",
        text=fmt_count(rl.get("n_relapsed"), rl.get("n_cr")), source="endpoints.relapse_after_cr",
        n=rl.get("n_relapsed"), denominator=rl.get("n_cr"),
        value=pct(rl.get("n_relapsed"), rl.get("n_cr"))))
    ev = next((r.get("n_evaluable") for r in views.get("endpoints.relapse_phenotype", ())
               if r.get("course_label") == "B"), None)
    ev = None if ev is None else int(ev)
    items.append(EndpointItem(
        key="phenotype_evaluable", label="Relapses after CART-B CR with an evaluable phenotype",
        text=fmt_count(ev), source="endpoints.relapse_phenotype", n=ev))
    for ph, name in PHENOTYPES:
        r = _by(views, "endpoints.relapse_phenotype", course_label="B", phenotype=ph)
        n = int(r.get("n") or 0)
        items.append(EndpointItem(
            key=f"phenotype_{ph}", label=f"Relapse phenotype: {name}",
            text=f"{n} ({fmt_num(pct(n, ev))}%)", source="endpoints.relapse_phenotype",
            n=n, denominator=ev, value=pct(n, ev)))
    return items


def _secondary_items(views: dict[str, tuple[dict[str, Any], ...]]) -> list[EndpointItem]:
    from cart_registry.stats import mcnemar_exact

    items: list[EndpointItem] = []
    for tox in ("crs", "icans"):
        for course in ("A", "B"):
            any_ = _by(views, "endpoints.toxicity_by_course", course_label=course, tox_type=tox,
                       basis="any")
            g3 = _by(views, "endpoints.toxicity_by_course", course_label=course, tox_type=tox,
                     basis="astct_recomputed")
            d = any_.get("n_courses")
            items.append(EndpointItem(
                key=f"{tox}_{course.lower()}", label=f"{tox.upper()} after CART-{course}: any "
                "grade; grade >= 3 (recomputed ASTCT)",
                text=f"{fmt_count(any_.get('n_any_grade'), d)}; "
                     f"{fmt_count(g3.get('n_grade_3_plus'), g3.get('n_courses'))}",
                source="endpoints.toxicity_by_course", n=any_.get("n_any_grade"), denominator=d,
                value=pct(any_.get("n_any_grade"), d), section="toxicity"))
        pr = _by(views, "endpoints.toxicity_paired", tox_type=tox, measure="any_grade")
        if pr.get("n_pairs"):
            mc = mcnemar_exact(int(pr["a_only"]), int(pr["b_only"]))
            items.append(EndpointItem(
                key=f"{tox}_paired_p", label=f"{tox.upper()} any grade, CART-A versus CART-B "
                "(both / A only / B only / neither)",
                text=f"{pr['both']} / {pr['a_only']} / {pr['b_only']} / {pr['neither']}; "
                     f"{fmt_p(mc.p_value)}",
                source="endpoints.toxicity_paired", value=mc.p_value, n=pr.get("n_pairs"),
                method=mc.method, section="toxicity"))
    h = _one(views, "endpoints.hsct_after_cart_b_cr")
    items.append(EndpointItem(
        key="hsct_after_b_cr", label="HSCT after CART-B CR (CR → HSCT days, median)",
        text=f"{fmt_count(h.get('n_hsct'), h.get('n_cr'))}; {_days(h.get('median_cr_to_hsct_days'))} d",
        source="endpoints.hsct_after_cart_b_cr", n=h.get("n_hsct"), denominator=h.get("n_cr"),
        value=pct(h.get("n_hsct"), h.get("n_cr")), section="secondary"))
    for grp in ("2", "3+"):
        rows = [r for r in views.get("endpoints.status_by_constructs", ())
                if r.get("constructs") == grp]
        total = sum(int(r["n"]) for r in rows)
        parts = ", ".join(f"{r['status']} {r['n']}" for r in sorted(rows, key=lambda r: r["status"]))
        items.append(EndpointItem(
            key=f"status_{'2' if grp == '2' else '3plus'}_constructs",
            label=f"Status at last contact, {grp} constructs", text=f"n={total}: {parts}",
            source="endpoints.status_by_constructs", n=total, section="secondary"))
    return items


def _collect(con: duckdb.DuckDBPyConnection, study: StudySettings) -> EndpointTable:
    views = {name: _rows(con, f"SELECT * FROM {name}") for name in endpoint_view_names(con)}
    inputs = _survival_inputs(con)
    subs = _rows(con, "SELECT c.site_id, c.submission_id, c.current_since_utc, "
                      "s.validation_status, s.forced FROM admin.current_submission c "
                      "JOIN admin.submission s USING (submission_id) ORDER BY c.site_id") \
        if _has_admin(con) else ()
    notes: list[str] = []
    items = _count_items(views)
    estimates = _km_estimates(inputs)
    items += _survival_items(estimates)
    items += _cir_items(inputs, study.days_per_month)
    fu = _followup_item(inputs, study.days_per_month)
    if fu is not None:
        items.append(fu)
    items += _secondary_items(views)
    neg = sum(int(r.get("negative_times") or 0) for r in views.get("endpoints.survival_summary", ()))
    if neg:
        notes.append(f"{neg} time-to-event row(s) end before their origin and were left out of "
                     "the survival estimates; see the validation report")
    return EndpointTable(
        items=tuple(items),
        views=views,
        survival_inputs=inputs,
        survival=tuple(estimates),
        settings=settings_record(study),
        settings_hash=settings_hash(study),
        submissions=tuple({k: json_value(v) for k, v in r.items()} for r in subs),
        notes=tuple(notes),
    )


def _has_admin(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute(
        "SELECT count(*) FROM duckdb_views() WHERE database_name = current_database() "
        "AND schema_name = 'admin' AND view_name IN ('current_submission', 'submission')"
    ).fetchone()
    return bool(row and row[0] == 2)


def endpoint_table_from_connection(
    con: duckdb.DuckDBPyConnection, settings: StudySettings
) -> EndpointTable:
    """The endpoint table from a connection whose views are already built (tests, bench)."""
    return _collect(con, settings)


def endpoint_table(
    project: Project,
    *,
    settings: StudySettings | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> EndpointTable:
    """Every endpoint over the registry's current submissions, with the current settings."""
    study = settings or load_settings(project.settings_file).study
    with open_readonly(project, settings=study, lock_timeout=lock_timeout,
                       materialize=True) as con:
        return _collect(con, study)
