"""Survival rows of the abstract table, from ADTTE-style time-to-event arrays.

All fits are in days and reported in months of ``days_per_month`` days (the study setting;
default 30.4375 = 365.25 / 12, the stats module's ``DAYS_PER_MONTH``). KM and Aalen-Johansen
estimates are equivariant under rescaling of time, so nothing is lost. Medians follow R ``quantile.survfit`` with the log-log band; survival and
cumulative incidence at fixed times follow R ``summary(fit, times=)`` / cmprsk
``timepoints`` (None beyond the last follow-up time: never extrapolated).
"""

from __future__ import annotations

from collections.abc import Sequence

from cart_registry.stats import (
    DAYS_PER_MONTH,
    cif_at,
    cumulative_incidence,
    kaplan_meier,
    km_median,
    median_followup,
    rescale_fit,
    survival_at,
)

from .model import AbstractRow, Interval, TimeToEvent

SURVIVAL = "Survival"
LANDMARKS_MONTHS: tuple[float, ...] = (6.0, 12.0, 24.0)
CIF_MONTHS: tuple[float, ...] = (12.0,)

KM_METHOD = (
    "Kaplan-Meier; 95% CI log-log (Greenwood), median CI by band inversion "
    "(Brookmeyer-Crowley) with R quantile.survfit rules"
)
KM_AT_METHOD = "Kaplan-Meier estimate with log-log 95% CI (Greenwood), R summary.survfit"
CIF_METHOD = (
    "Aalen-Johansen cumulative incidence; Aalen variance (R cmprsk::cuminc), log-log 95% CI"
)
FU_METHOD = (
    "reverse Kaplan-Meier median (Schemper & Smith 1996): deaths censor follow-up; "
    "log-log 95% CI"
)


def _pct(x: float | None) -> float | None:
    return None if x is None else 100.0 * x


def _months(x: float | None, dpm: float) -> float | None:
    return None if x is None else x / dpm


def _km_method(dpm: float) -> str:
    return f"{KM_METHOD}; months = days / {dpm:g}"


def km_rows(
    tte: TimeToEvent,
    key: str,
    name: str,
    landmarks: Sequence[float] = LANDMARKS_MONTHS,
    *,
    days_per_month: float = DAYS_PER_MONTH,
) -> list[AbstractRow]:
    """Median (95% CI) and S(t) at the landmark months for a KM parameter."""
    if tte.kind != "km":
        raise ValueError(f"{tte.paramcd} is not a Kaplan-Meier parameter")
    origin = f"{tte.paramcd}, from {tte.origin}; event: {tte.event_label}"
    if tte.n == 0:
        return [AbstractRow(f"median_{key}", SURVIVAL, f"Median {name}", n=0, N=0,
                            unit="months", method=_km_method(days_per_month), note="no patients")]
    fit = rescale_fit(kaplan_meier(tte.time_days, tte.status), days_per_month, "months")
    med = km_median(fit)
    rows = [
        AbstractRow(
            key=f"median_{key}",
            section=SURVIVAL,
            label=f"Median {name}",
            n=tte.events,
            N=tte.n,
            value=med.estimate,
            unit="months",
            ci=Interval(med.lower, med.upper, 1 - med.alpha, "log-log, band inversion"),
            method=_km_method(days_per_month),
            note=f"{origin}; n = events"
            + ("; median not reached" if med.estimate is None else ""),
        )
    ]
    at = survival_at(fit, list(landmarks))
    for t, nr, s, lo, hi in zip(at.time, at.n_risk, at.surv, at.lower, at.upper, strict=True):
        rows.append(
            AbstractRow(
                key=f"{key}_at_{t:g}m",
                section=SURVIVAL,
                label=f"{name} at {t:g} months",
                N=tte.n,
                value=_pct(s),
                unit="%",
                ci=Interval(_pct(lo), _pct(hi), 1 - at.alpha, "log-log (Greenwood)"),
                method=KM_AT_METHOD,
                note=f"{tte.paramcd}; "
                + (f"{nr} at risk" if s is not None else "beyond the last follow-up time"),
            )
        )
    return rows


def cif_rows(
    tte: TimeToEvent,
    key: str,
    name: str,
    times: Sequence[float] = CIF_MONTHS,
    *,
    days_per_month: float = DAYS_PER_MONTH,
) -> list[AbstractRow]:
    """Cumulative incidence of the event of interest (and of the competing event) at times."""
    if tte.kind != "competing":
        raise ValueError(f"{tte.paramcd} is not a competing-risks parameter")
    if tte.n == 0:
        return []
    days = [t * days_per_month for t in times]
    rows = []
    causes = [(1, key, name)]
    if tte.competing_label:
        causes.append((2, f"{key}_competing", tte.competing_label))
    for cause, k, label in causes:
        fit = cumulative_incidence(tte.time_days, tte.status, cause_of_interest=cause)
        at = cif_at(fit, days)
        other = tte.competing_label if cause == 1 else tte.event_label
        for t, est, lo, hi in zip(times, at.estimate, at.lower, at.upper, strict=True):
            rows.append(
                AbstractRow(
                    key=f"{k}_at_{t:g}m",
                    section=SURVIVAL,
                    label=f"Cumulative incidence of {label.lower()} at {t:g} months",
                    n=fit.events,
                    N=tte.n,
                    value=_pct(est),
                    unit="%",
                    ci=Interval(_pct(lo), _pct(hi), 1 - at.alpha, "log-log (Aalen variance)"),
                    method=CIF_METHOD,
                    note=(
                        f"{tte.paramcd}, from {tte.origin}; competing event: {other}; "
                        "n = events of this cause"
                    ),
                )
            )
    return rows


def followup_row(
    tte: TimeToEvent, key: str, name: str, *, days_per_month: float = DAYS_PER_MONTH
) -> AbstractRow:
    """Median follow-up by reverse KM, on an overall-survival parameter."""
    if tte.n == 0:
        return AbstractRow(key, SURVIVAL, name, N=0, unit="months", method=FU_METHOD)
    med = median_followup(tte.time_days, tte.status)
    return AbstractRow(
        key=key,
        section=SURVIVAL,
        label=name,
        N=tte.n,
        value=_months(med.estimate, days_per_month),
        unit="months",
        ci=Interval(
            _months(med.lower, days_per_month),
            _months(med.upper, days_per_month),
            1 - med.alpha,
            "log-log",
        ),
        method=FU_METHOD,
        note=f"{tte.paramcd}, from {tte.origin}",
    )
