"""The study endpoint report: ``endpoints.html`` / ``.md`` / ``.json`` and KM figures.

Layers, each usable alone:

* ``model``: ``EndpointReportData`` and its parts (frozen dataclasses; aggregates only);
* ``inputs`` + ``assemble``: per-patient arrays from the warehouse -> statistics -> model;
* ``warehouse``: ``collect_report_data`` reads the DuckDB views;
* ``render_json`` / ``render_md`` / ``render_html`` / ``figures``: model -> files;
* ``writer`` / ``api``: ``write_endpoint_report(project)`` does it all.

Importing this package is cheap (dataclasses only); numpy, scipy, matplotlib, jinja2 and
DuckDB are imported by the functions that use them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .model import (
    AbstractRow,
    EndpointReportData,
    Frac,
    Interval,
    Num,
    PValue,
    ReportMeta,
    ReportTable,
    TimeToEvent,
)

if TYPE_CHECKING:
    from .api import collect_report_data, write_endpoint_report
    from .writer import ReportResult

__all__ = [
    "AbstractRow",
    "EndpointReportData",
    "Frac",
    "Interval",
    "Num",
    "PValue",
    "ReportMeta",
    "ReportResult",
    "ReportTable",
    "TimeToEvent",
    "collect_report_data",
    "write_endpoint_report",
]

_LAZY = {
    "collect_report_data": "api",
    "write_endpoint_report": "api",
    "ReportResult": "writer",
}


def __getattr__(name: str) -> Any:
    # the entry points pull in the stats package (numpy); load them only when asked for
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
