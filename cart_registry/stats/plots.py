"""Publication figures: Kaplan-Meier and cumulative incidence curves with a risk table.

matplotlib is imported inside the functions (it is slow to import and most callers never
plot) and figures are drawn on an explicit Agg canvas, so no global pyplot state or backend
is touched. Files are written to a temporary name in the target folder and moved into place
with ``os.replace``: a crash never leaves a truncated PNG or SVG behind.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._common import DAYS_PER_MONTH, FloatArray, StatsInputError
from .competing import CIFFit
from .km import KMFit, QuantileEstimate, km_median

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Okabe-Ito colour-blind-safe palette (black first for single-curve figures)
PALETTE = ("#000000", "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")

_RC: dict[Any, Any] = {
    "font.family": "sans-serif",
    "font.sans-serif": ["Liberation Sans", "Arial", "Helvetica", "DejaVu Sans"],
    "font.size": 9,
    "axes.labelsize": 10,
    "axes.linewidth": 0.8,
    "xtick.major.width": 0.8,
    "ytick.major.width": 0.8,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 8.5,
    "svg.fonttype": "none",  # keep text as text in SVG so journals can edit labels
}


def _as_mapping(curves: Any, kind: type) -> dict[str, Any]:
    if isinstance(curves, kind):
        return {"": curves}
    if not isinstance(curves, Mapping) or not curves:
        raise StatsInputError(f"curves must be a {kind.__name__} or a non-empty mapping of them")
    for name, fit in curves.items():
        if not isinstance(fit, kind):
            raise StatsInputError(f"curve {name!r} is not a {kind.__name__}")
    return dict(curves)


def _scale(fit: KMFit | CIFFit, unit: str) -> float:
    if fit.time_unit == unit:
        return 1.0
    if fit.time_unit == "days" and unit == "months":
        return DAYS_PER_MONTH
    raise StatsInputError(f"cannot plot a fit in {fit.time_unit!r} on a {unit!r} axis")


def _nice_step(xmax: float) -> float:
    """A tick step giving 5-10 ticks; multiples of 3/6/12 suit months."""
    for step in (1, 2, 3, 6, 12, 24, 36, 60, 120, 240, 365, 730):
        if xmax / step <= 10:
            return float(step)
    return float(10 ** math.ceil(math.log10(xmax / 10)))


_UNIT_ABBR = {"months": "mo", "days": "d", "weeks": "wk", "years": "y"}


def _fmt(x: float | None) -> str:
    return "NR" if x is None else f"{x:.1f}"


def _median_text(med: QuantileEstimate, scale: float, unit: str) -> str:
    """'median 9.4 mo (95% CI 6.1-13.2)', with NR where not reached."""
    est, lo, hi = (None if v is None else v / scale for v in (med.estimate, med.lower, med.upper))
    level = round(100 * (1 - med.alpha))
    return (
        f"median {_fmt(est)} {_UNIT_ABBR.get(unit, unit)} ({level}% CI {_fmt(lo)}\u2013{_fmt(hi)})"
    )


def _at_risk(fit: KMFit | CIFFit, times: FloatArray) -> list[int]:
    """Subjects with time >= t (t on the fit's own scale)."""
    idx = np.searchsorted(fit.time, times, side="left")
    return [int(fit.n_risk[i]) if i < fit.time.size else 0 for i in idx]


def _write(fig: Figure, path: Path, formats: Sequence[str], dpi: int) -> list[Path]:
    path.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        target = path.with_suffix("." + fmt)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fig.savefig(fh, format=fmt, dpi=dpi, bbox_inches="tight", pad_inches=0.05)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        written.append(target)
    return written


def _risk_table(
    fig: Figure, ax: Axes, rows: list[tuple[str, str, list[int]]], ticks: FloatArray, xmax: float
) -> None:
    from matplotlib.transforms import offset_copy

    ax.set_xlim(0, xmax)
    ax.set_ylim(len(rows) - 0.4, -1.0)
    ax.axis("off")
    # row labels sit left of the axis, clear of the (centred) count at t = 0
    label_tf = offset_copy(ax.get_yaxis_transform(), fig=fig, x=-16, units="points")
    for r, (label, color, counts) in enumerate(rows):
        for x, c in zip(ticks, counts, strict=True):
            ax.text(x, r, str(c), ha="center", va="center", fontsize=8.5, color=color)
        ax.text(0, r, label, transform=label_tf, ha="right", va="center", fontsize=8.5, color=color)
    ax.text(
        0,
        -1.1,
        "Number at risk",
        transform=label_tf,
        ha="right",
        va="center",
        fontsize=8.5,
        fontweight="bold",
    )


def _draw(
    curves: dict[str, Any],
    path: str | Path,
    *,
    incidence: bool,
    title: str | None,
    xlabel: str | None,
    ylabel: str,
    unit: str,
    xmax: float | None,
    xstep: float | None,
    ymax: float | None,
    show_ci: bool,
    show_censors: bool,
    show_median: bool,
    risk_table: bool,
    colors: Sequence[str] | None,
    formats: Sequence[str],
    dpi: int,
    width: float,
) -> list[Path]:
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    palette = list(colors) if colors else list(PALETTE if len(curves) > 1 else PALETTE[:1])
    scales = {name: _scale(fit, unit) for name, fit in curves.items()}
    last = max(float(fit.time[-1]) / scales[name] for name, fit in curves.items())
    step = xstep or _nice_step(xmax or last)
    right = xmax if xmax is not None else step * math.ceil(last / step)
    ticks = np.arange(0.0, right + step / 2, step)

    # one risk-table row per distinct cohort (incidence curves of two causes share one)
    rows: list[tuple[str, str, list[int]]] = []
    seen: dict[tuple[int, ...], int] = {}
    with rc_context(_RC):
        n_rows = len(curves)
        table_h = (0.2 * n_rows + 0.3) if risk_table else 0.0
        fig = Figure(figsize=(width, 3.6 + table_h), layout="constrained")
        FigureCanvasAgg(fig)
        if risk_table:
            gs = fig.add_gridspec(2, 1, height_ratios=[3.6, table_h])
            ax, tab = fig.add_subplot(gs[0]), fig.add_subplot(gs[1])
        else:
            ax, tab = fig.add_subplot(), None
        for i, (name, fit) in enumerate(curves.items()):
            color = palette[i % len(palette)]
            sc = scales[name]
            x = np.concatenate(([0.0], fit.time / sc))
            start = 0.0 if incidence else 1.0
            y = np.concatenate(([start], fit.estimate if incidence else fit.surv))
            lo = np.concatenate(([start], fit.lower))
            hi = np.concatenate(([start], fit.upper))
            # R leaves the log-log band NA where S = 1 (and log bands NA where F = 0): draw
            # those stretches as a band of zero width rather than a gap
            flat = y == start
            lo[flat & np.isnan(lo)] = start
            hi[flat & np.isnan(hi)] = start
            label = name
            if isinstance(fit, KMFit):
                med = km_median(fit)
                med_v = None if med.estimate is None else med.estimate / sc
                label = f"{name} (n = {fit.n})" if name else f"n = {fit.n}"
                if show_median:
                    label += "; " + _median_text(med, sc, unit)
                    if med_v is not None:
                        ax.plot(
                            [0, med_v, med_v],
                            [0.5, 0.5, 0],
                            color="0.55",
                            lw=0.7,
                            ls=(0, (4, 3)),
                            zorder=1,
                        )
            ax.step(x, y, where="post", color=color, lw=1.6, label=label or None, zorder=3)
            if show_ci:
                # explicit step polygon: each segment [x_k, x_k+1) takes the band at x_k, so
                # the last segment before a drop to S = 0 (band NA there) is still drawn
                xs, lo_s, hi_s = np.repeat(x, 2)[1:], np.repeat(lo, 2)[:-1], np.repeat(hi, 2)[:-1]
                ax.fill_between(xs, lo_s, hi_s, color=color, alpha=0.13, lw=0, zorder=2)
            if show_censors:
                cens = fit.n_censor > 0
                ax.plot(
                    fit.time[cens] / sc,
                    y[1:][cens],
                    ls="none",
                    marker="|",
                    ms=6,
                    mew=1.0,
                    color=color,
                    zorder=4,
                )
            key = (sc, *fit.time.tolist(), *fit.n_risk.tolist())
            if key in seen:
                # several curves (e.g. two causes) from one cohort: one neutral row
                r = seen[key]
                rows[r] = ("All", "black", rows[r][2])
            else:
                seen[key] = len(rows)
                rows.append((name or "All", color, _at_risk(fit, ticks * sc)))

        ax.set_xlim(0, right)
        ax.set_xticks(ticks)
        ax.set_xticklabels([f"{t:g}" for t in ticks])
        top = ymax if ymax is not None else 1.0
        ax.set_ylim(0, top * 1.02)
        ystep = 0.2 if top > 0.6 else 0.1
        ax.set_yticks(np.arange(0, top + 1e-9, ystep))
        ax.set_ylabel(ylabel)
        ax.set_xlabel(xlabel or f"Time ({unit})")
        ax.spines[["top", "right"]].set_visible(False)
        if title:
            ax.set_title(title, loc="left", fontsize=11, fontweight="bold")
        if any(name for name in curves) or show_median:
            ax.legend(
                loc="upper left" if incidence else "upper right",
                frameon=False,
                handlelength=1.8,
            )
        if tab is not None:
            _risk_table(fig, tab, rows, ticks, right)
        return _write(fig, Path(path), formats, dpi)


def plot_km(
    curves: KMFit | Mapping[str, KMFit],
    path: str | Path,
    *,
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str = "Survival probability",
    unit: str = "months",
    xmax: float | None = None,
    xstep: float | None = None,
    show_ci: bool = True,
    show_censors: bool = True,
    show_median: bool = True,
    risk_table: bool = True,
    colors: Sequence[str] | None = None,
    formats: Sequence[str] = ("png", "svg"),
    dpi: int = 300,
    width: float = 6.0,
) -> list[Path]:
    """Kaplan-Meier curve(s) with CI bands, censor ticks, median lines and numbers at risk.

    ``path``'s suffix is replaced by each of ``formats``; returns the files written. Fits in
    days are drawn in months (30.4375 days) by default.
    """
    return _draw(
        _as_mapping(curves, KMFit),
        path,
        incidence=False,
        title=title,
        xlabel=xlabel,
        ylabel=ylabel,
        unit=unit,
        xmax=xmax,
        xstep=xstep,
        ymax=None,
        show_ci=show_ci,
        show_censors=show_censors,
        show_median=show_median,
        risk_table=risk_table,
        colors=colors,
        formats=formats,
        dpi=dpi,
        width=width,
    )


def plot_cif(
    curves: CIFFit | Mapping[str, CIFFit],
    path: str | Path,
    *,
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str = "Cumulative incidence",
    unit: str = "months",
    xmax: float | None = None,
    xstep: float | None = None,
    ymax: float | None = None,
    show_ci: bool = True,
    show_censors: bool = False,
    risk_table: bool = True,
    colors: Sequence[str] | None = None,
    formats: Sequence[str] = ("png", "svg"),
    dpi: int = 300,
    width: float = 6.0,
) -> list[Path]:
    """Cumulative incidence curve(s), e.g. {"Relapse": ..., "Death in remission": ...}
    from the same cohort, with CI bands and numbers at risk (one row per cohort)."""
    fits = _as_mapping(curves, CIFFit)
    if ymax is None:
        peak = max(float(np.nanmax(np.append(f.upper, f.estimate))) for f in fits.values())
        ymax = min(1.0, math.ceil(peak * 10 - 1e-9) / 10 + 0.05)
    return _draw(
        fits,
        path,
        incidence=True,
        title=title,
        xlabel=xlabel,
        ylabel=ylabel,
        unit=unit,
        xmax=xmax,
        xstep=xstep,
        ymax=ymax,
        show_ci=show_ci,
        show_censors=show_censors,
        show_median=False,
        risk_table=risk_table,
        colors=colors,
        formats=formats,
        dpi=dpi,
        width=width,
    )
