"""``cart-registry load | sql | endpoints | export``: thin commands over the warehouse library.

DuckDB, Arrow and polars are imported by the library functions, inside each command, so
``cart-registry --help`` stays light.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cart_registry.cli.options import AppContext, pass_app, shared_options

_LOCK = click.option(
    "--lock-timeout", type=click.FloatRange(min=0), default=30.0, show_default=True,
    help="Seconds to wait while another process holds the registry.",
)


@click.command()
@click.option("--site", "site_id", help="Site to load (default: every site with a submission).")
@click.option("--submission", "submission_id", help="Submission id (default: the latest).")
@click.option("--force", is_flag=True, help="Load despite fatal findings or no validation.")
@click.option("--reason", help="Why a forced load is justified (recorded in the audit log).")
@_LOCK
@shared_options
@pass_app
def load(app: AppContext, site_id: str | None, submission_id: str | None, force: bool,
         reason: str | None, lock_timeout: float) -> None:
    """Load validated submissions into the DuckDB registry, one transaction each.

    A site's new submission replaces its current one atomically; the old one stays in the
    history (admin.submission) and every change is written to admin.audit_log. Loading the
    current submission again changes nothing. Exit 1 when a submission failed validation.

    \b
    Example:
      cart-registry load --site site_redcap
      cart-registry load --site site_edc --force --reason "fatal R09 waived by PI, ticket 12"
    """
    from cart_registry.errors import CartRegistryError, DataValidationFailed, ExitCode
    from cart_registry.warehouse.loading import load_sites, load_submission

    project = app.project()
    if site_id or submission_id:
        results = [load_submission(project, site_id, submission_id, force=force, reason=reason,
                                   lock_timeout=lock_timeout)]
        refused: list[CartRegistryError] = []
    else:
        results, refused = load_sites(project, force=force, reason=reason,
                                      lock_timeout=lock_timeout)
    if app.json:
        app.emit_json({"results": [r.to_json() for r in results],
                       "refused": [str(e) for e in refused]})
    else:
        for r in results:
            click.echo(r.message())
        for e in refused:
            click.secho(f"refused: {e}", fg="red", err=True)
    if refused:
        worst = ExitCode.DATA_FAILED if any(isinstance(e, DataValidationFailed)
                                            for e in refused) else ExitCode.USAGE_OR_INTERNAL
        sys.exit(int(worst))


@click.command()
@click.argument("statement")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True, help="Output form.")
@click.option("--max-rows", type=click.IntRange(min=1), default=None,
              help="Print at most this many rows (the table form defaults to 200).")
@_LOCK
@shared_options
@pass_app
def sql(app: AppContext, statement: str, fmt: str, max_rows: int | None,
        lock_timeout: float) -> None:
    """Run one read-only SQL statement over the registry.

    The registry is attached read-only, and the derived, endpoints and adam views are
    rebuilt with the current settings; a statement that writes is refused.

    \b
    Example:
      cart-registry sql "SELECT * FROM endpoints.cr_paired"
      cart-registry sql "SELECT * FROM adam.adtte WHERE PARAMCD = 'RFSB'" --format csv
    """
    from cart_registry.warehouse.query import run_sql

    if app.json:
        fmt = "json"
    limit = max_rows if max_rows is not None else (200 if fmt == "table" else None)
    result = run_sql(app.project(), statement, max_rows=limit, lock_timeout=lock_timeout)
    if fmt == "json":
        app.emit_json(result.to_json())
    elif fmt == "csv":
        click.echo(result.to_csv(), nl=False)
    else:
        from cart_registry.warehouse.render import print_query

        print_query(result)


@click.command()
@click.option("--section", type=click.Choice(["abstract", "all"]), default="all",
              show_default=True, help="Only the abstract's numbers, or every endpoint.")
@click.option("--views-doc", is_flag=True,
              help="Print the Markdown reference of every view (docs/endpoints.md) instead.")
@_LOCK
@shared_options
@pass_app
def endpoints(app: AppContext, section: str, views_doc: bool, lock_timeout: float) -> None:
    """Print the study endpoints: every number of the abstract and the secondary objectives.

    Counts come from the endpoints views; medians (KM, log-log 95% CI, R's quantile rule),
    the exact McNemar P and cumulative incidence from the stats module. The output records
    the settings used and their hash. --json adds every endpoint view's rows and the
    survival inputs.

    \b
    Example:
      cart-registry endpoints
      cart-registry endpoints --json > endpoints.json
    """
    if views_doc:
        from cart_registry.warehouse.docs import views_markdown
        from cart_registry.warehouse.views import view_definitions

        click.echo(views_markdown(view_definitions(app.project().standard())), nl=False)
        return
    from cart_registry.warehouse.endpoints import endpoint_table

    table = endpoint_table(app.project(), lock_timeout=lock_timeout)
    if app.json:
        app.emit_json(table.to_json())
        return
    from cart_registry.warehouse.render import print_endpoints

    print_endpoints(table, only_abstract=section == "abstract")


@click.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (default: registry/exports in the project).")
@click.option("--format", "formats", multiple=True, default=("csv", "parquet", "xpt"),
              type=click.Choice(["csv", "parquet", "xpt"]), show_default=True,
              help="File formats of ADSL and ADTTE (repeatable).")
@click.option("--no-canonical", is_flag=True, help="Do not export the canonical tables.")
@_LOCK
@shared_options
@pass_app
def export(app: AppContext, out_dir: Path | None, formats: tuple[str, ...], no_canonical: bool,
           lock_timeout: float) -> None:
    """Export ADaM-style ADSL and ADTTE (CSV, Parquet, SAS XPT v5) and the canonical tables.

    AVAL = ADT - STARTDT in days (no +1); CNSR 0 event, 1 last contact, 2 HSCT, 3 CAR T;
    EVENTTYP (CIRB, sponsor-defined) 1 relapse, 2 competing death. CSV text cells starting
    with = + - @ get a leading apostrophe. define.json records settings and conventions.

    \b
    Example:
      cart-registry export --out analysis/ --format csv --format parquet
    """
    from cart_registry.exports.adam import export_adam

    result = export_adam(app.project(), out_dir, formats=tuple(formats),
                         canonical=not no_canonical, lock_timeout=lock_timeout)
    if app.json:
        app.emit_json(result.to_json())
        return
    for f in result.files:
        click.echo(f"{f.format:8} {f.rows:7d} rows  {f.path}")
    if result.xpt_skipped and "xpt" in formats:
        click.secho(f"note: {result.xpt_skipped}", fg="yellow", err=True)
    click.echo(f"settings {result.settings_hash}; define.json in {result.out_dir}")
