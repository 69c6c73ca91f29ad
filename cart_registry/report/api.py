"""Library entry points: ``collect_report_data`` and ``write_endpoint_report``.

``as_of`` is the date the report is stamped with. It defaults to the data cutoff rather than
the clock, so the same registry always gives byte-identical files (golden tests, diffs
between runs); pass the generation time explicitly when you want it recorded.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cart_registry.errors import ConfigError
from cart_registry.project import Project

from .assemble import assemble_report_data
from .model import EndpointReportData
from .writer import ReportResult, write_report_files

if TYPE_CHECKING:
    import duckdb

AsOf = dt.date | dt.datetime | str | None


def resolve_as_of(as_of: AsOf, data_cutoff: dt.date | None) -> str:
    """ISO text for the report stamp; None means the data cutoff (or 'not stated')."""
    if as_of is None:
        return data_cutoff.isoformat() if data_cutoff else "not stated"
    if isinstance(as_of, dt.datetime | dt.date):
        return as_of.isoformat()
    try:
        return dt.datetime.fromisoformat(as_of).isoformat() if "T" in as_of else (
            dt.date.fromisoformat(as_of).isoformat()
        )
    except ValueError:
        raise ConfigError(f"as-of {as_of!r} is not an ISO date or date-time") from None


def _collect(
    con: duckdb.DuckDBPyConnection, *, as_of: AsOf, registry_name: str, source: str
) -> EndpointReportData:
    from .warehouse import read_cohort_inputs, read_settings

    settings, digest = read_settings(con)
    inputs = read_cohort_inputs(con)
    cutoff_raw = settings.get("data_cutoff_date")
    cutoff = dt.date.fromisoformat(str(cutoff_raw)) if cutoff_raw else None
    return assemble_report_data(
        inputs,
        settings,
        as_of=resolve_as_of(as_of, cutoff),
        data_cutoff=cutoff,
        registry_name=registry_name,
        source=source,
        notes=(
            f"Study settings hash {digest} (as built into the warehouse views).",
            "Counts from the endpoints.* views; time-to-event rows from adam.adtte "
            "(RFSB, OSB, CIRB); statistics computed by cart_registry.stats.",
        ),
    )


def _project_source(project: Project) -> str:
    try:
        return str(project.db_path.relative_to(project.root))
    except ValueError:  # --db outside the project: the file name is enough to identify it
        return project.db_path.name


def collect_report_data(
    source: Project | duckdb.DuckDBPyConnection,
    *,
    as_of: AsOf = None,
    registry_name: str | None = None,
) -> EndpointReportData:
    """Everything the endpoint report shows, read from the warehouse.

    ``source``: a ``Project`` (its registry attached read-only by the warehouse's
    ``open_readonly``, which builds the views for the project's current settings), or an
    open DuckDB connection whose default catalog already holds the views.
    """
    resolve_as_of(as_of, None)  # refuse a malformed stamp before opening anything
    if isinstance(source, Project):
        from cart_registry.settings import load_settings
        from cart_registry.warehouse.readonly import open_readonly

        name = registry_name or load_settings(source.settings_file).name
        # materialize: the derived and ADaM layers are computed once, not per query
        with open_readonly(source, materialize=True) as con:
            return _collect(con, as_of=as_of, registry_name=name, source=_project_source(source))
    return _collect(
        source, as_of=as_of, registry_name=registry_name or "cart_registry",
        source="DuckDB connection",
    )


def write_endpoint_report(
    project: Project, out_dir: str | Path | None = None, *, as_of: AsOf = None
) -> ReportResult:
    """Read the warehouse of ``project`` and write endpoints.html/.md/.json and the figures
    into ``out_dir`` (default: the project's ``registry/reports``)."""
    data = collect_report_data(project, as_of=as_of)
    target = Path(out_dir) if out_dir is not None else project.reports_dir
    return write_report_files(data, target)


def report_from_connection(
    con: duckdb.DuckDBPyConnection, out_dir: str | Path, *, as_of: AsOf = None, **kw: Any
) -> ReportResult:
    """Same as ``write_endpoint_report`` for an open connection (tests, notebooks)."""
    return write_report_files(collect_report_data(con, as_of=as_of, **kw), Path(out_dir))
