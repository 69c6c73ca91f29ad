"""Publication figures for the report: KM curves for RFS and OS, cumulative incidence of
relapse with death competing. Drawn by ``cart_registry.stats.plot_km`` / ``plot_cif`` (CI
bands, censor marks, numbers at risk) as PNG and SVG beside the report.

The SVG is also what the HTML embeds. Two things would make it differ between identical
runs, and both are pinned so that the same data give byte-identical files: matplotlib's
random SVG id salt (fixed with ``svg.hashsalt``) and the creation date it writes into the
SVG metadata (removed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from cart_registry.fsutil import write_bytes_atomic

from .model import EndpointReportData, TimeToEvent

_DATE_RE = re.compile(rb"\s*<dc:date>[^<]*</dc:date>")


@dataclass(frozen=True)
class FigureAsset:
    """A figure written beside the report, with the SVG bytes for embedding."""

    key: str
    title: str
    caption: str
    png_name: str
    svg_name: str
    svg: bytes


def _tidy_svg(path: Path) -> bytes:
    data = _DATE_RE.sub(b"", path.read_bytes())
    write_bytes_atomic(path, data)
    return data


def _km_figure(
    tte: TimeToEvent, out_dir: Path, stem: str, ylabel: str, dpm: float
) -> list[Path]:
    from cart_registry.stats import kaplan_meier, plot_km, rescale_fit

    # fitted in days, drawn in the study's months (the fit says "months", so no rescaling
    # happens inside plot_km)
    fit = rescale_fit(kaplan_meier(tte.time_days, tte.status), dpm, "months")
    return plot_km(
        fit,
        out_dir / stem,
        ylabel=ylabel,
        xlabel=f"Months from {tte.origin}",
        xstep=6.0,
    )


def _cif_figure(tte: TimeToEvent, out_dir: Path, stem: str, dpm: float) -> list[Path]:
    from cart_registry.stats import cumulative_incidence, plot_cif

    causes = [(1, tte.event_label)]
    if tte.competing_label:
        causes.append((2, tte.competing_label))
    curves = {}
    for cause, label in causes:
        fit = cumulative_incidence(tte.time_days, tte.status, cause_of_interest=cause)
        curves[label.capitalize()] = replace(fit, time=fit.time / dpm, time_unit="months")
    return plot_cif(curves, out_dir / stem, xlabel=f"Months from {tte.origin}", xstep=6.0)


#: (paramcd, file stem, title, y label); the order is the order in the report
FIGURES: tuple[tuple[str, str, str, str], ...] = (
    ("RFSB", "endpoints_rfs_b", "Relapse-free survival after CART-B CR", "Relapse-free survival"),
    ("OSB", "endpoints_os_b", "Overall survival from CART-B infusion", "Overall survival"),
    ("CIRB", "endpoints_cir_b", "Cumulative incidence of relapse after CART-B CR", ""),
)


def _caption(tte: TimeToEvent) -> str:
    if tte.kind == "km":
        return (
            f"Kaplan-Meier estimate (n = {tte.n}, {tte.events} events: {tte.event_label}) "
            "with pointwise 95% log-log confidence band; tick marks are censored "
            "observations; dashed line: median. Numbers at risk below the axis."
        )
    return (
        f"Aalen-Johansen cumulative incidence (n = {tte.n}): {tte.event_label} "
        f"({tte.events} events) with {tte.competing_label or 'no competing event'} "
        f"({tte.competing_events} events) as the competing event; 95% log-log band (Aalen "
        "variance). Numbers at risk below the axis."
    )


def write_figures(data: EndpointReportData, out_dir: Path) -> list[FigureAsset]:
    """Draw every figure whose parameter is present and has at least one observation."""
    from matplotlib import rc_context

    from .assemble import days_per_month

    dpm = days_per_month(data.settings)
    assets = []
    with rc_context({"svg.hashsalt": "cart_registry-report"}):
        for paramcd, stem, title, ylabel in FIGURES:
            tte = data.tte(paramcd)
            if tte is None or tte.n == 0:
                continue
            if tte.kind == "km":
                paths = _km_figure(tte, out_dir, stem, ylabel, dpm)
            else:
                paths = _cif_figure(tte, out_dir, stem, dpm)
            svg_path = next(p for p in paths if p.suffix == ".svg")
            png_path = next(p for p in paths if p.suffix == ".png")
            assets.append(
                FigureAsset(
                    key=paramcd.lower(),
                    title=title,
                    caption=_caption(tte),
                    png_name=png_path.name,
                    svg_name=svg_path.name,
                    svg=_tidy_svg(svg_path),
                )
            )
    return assets
