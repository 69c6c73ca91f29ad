"""``endpoints.json``: the report's numbers, machine-readable.

Raw numbers (not the rounded display strings) with their units, intervals and methods, plus
the display text for convenience. ``allow_nan=False``: an inf or NaN that slipped through
raises instead of writing invalid JSON. Only aggregates are written; the time-to-event
arrays are summarised (n, events), not dumped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from cart_registry.stats import json_safe

from . import fmt
from .model import AbstractRow, Cell, EndpointReportData, Frac, Num, PValue, ReportTable

SCHEMA_VERSION = 1


def _row(r: AbstractRow) -> dict[str, Any]:
    return {
        "key": r.key,
        "section": r.section,
        "label": r.label,
        "n": r.n,
        "N": r.N,
        "percent": r.percent,
        "value": r.value,
        "unit": r.unit,
        "ci": None
        if r.ci is None
        else {"lower": r.ci.lower, "upper": r.ci.upper, "level": r.ci.level, "method": r.ci.method},
        "range": None if r.value_range is None else list(r.value_range),
        "p": r.p,
        "p_method": r.p_method,
        "method": r.method,
        "note": r.note,
        "display": {
            "n_over_n": fmt.row_n_over_n(r),
            "estimate": fmt.row_estimate(r),
            "ci": fmt.fmt_interval(r.ci, r.unit),
            "p": fmt.fmt_p(r.p) if r.p is not None else None,
        },
    }


def _cell(c: Cell) -> Any:
    if isinstance(c, Frac):
        return {"n": c.n, "N": c.N, "percent": c.percent}
    if isinstance(c, PValue):
        return {"p": c.p, "method": c.method}
    if isinstance(c, Num):
        return c.value
    return c


def _table(t: ReportTable) -> dict[str, Any]:
    return {
        "key": t.key,
        "group": t.group,
        "title": t.title,
        "columns": list(t.columns),
        "rows": [[_cell(c) for c in row] for row in t.rows],
        "note": t.note,
    }


def report_dict(data: EndpointReportData, figures: Sequence[Any] = ()) -> dict[str, Any]:
    """The JSON document as a dict (figures: objects with ``key``, ``png`` and ``svg``)."""
    m = data.meta
    doc = {
        "report": "endpoints",
        "schema_version": SCHEMA_VERSION,
        "meta": {
            "title": m.title,
            "tool": "cart_registry",
            "tool_version": m.tool_version,
            "as_of": m.as_of,
            "data_cutoff": m.data_cutoff,
            "registry": m.registry_name,
            "source": m.source,
            "notes": list(m.notes),
            "days_per_month": data.settings.get("days_per_month", 30.4375),
        },
        "settings": dict(data.settings),
        "abstract": [_row(r) for r in data.abstract],
        "time_to_event": [
            {
                "paramcd": t.paramcd,
                "label": t.label,
                "origin": t.origin,
                "kind": t.kind,
                "n": t.n,
                "events": t.events,
                "competing_events": t.competing_events if t.kind == "competing" else None,
                "event": t.event_label,
                "competing_event": t.competing_label,
            }
            for t in data.time_to_event
        ],
        "tables": [_table(t) for t in data.tables],
        "figures": [
            {"key": f.key, "title": f.title, "png": f.png_name, "svg": f.svg_name}
            for f in figures
        ],
        "missing": list(data.missing),
    }
    return dict(json_safe(doc))


def render_json(data: EndpointReportData, figures: Sequence[Any] = ()) -> str:
    return (
        json.dumps(report_dict(data, figures), indent=2, ensure_ascii=False, allow_nan=False)
        + "\n"
    )
