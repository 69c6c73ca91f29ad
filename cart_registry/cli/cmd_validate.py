"""``cart-registry validate``, ``rules list`` and ``queries import``: thin wrappers over
``cart_registry.validation``. Heavy imports happen inside the commands."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from cart_registry.cli.options import AppContext, pass_app, shared_options


@click.command()
@click.option("--site", "sites", multiple=True, help="Only this site (repeatable; default: all).")
@click.option(
    "--audience", type=click.Choice(["site", "coordinating_center"]), default="site",
    show_default=True,
    help="site: own values shown; coordinating_center: pseudonyms, masked values, small "
    "counts suppressed.",
)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Report folder (default: registry/reports/validation).")
@click.option("--sql-only", is_flag=True, help="Print the SQL a run would execute; run nothing.")
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Date the run is pinned to (waiver expiry); default today.")
@click.option("--no-history", is_flag=True, help="Do not record the run in the dq history.")
@shared_options
@pass_app
def validate(
    app: AppContext, sites: tuple[str, ...], audience: str, out_dir: Path | None,
    sql_only: bool, as_of: dt.datetime | None, no_history: bool,
) -> None:
    """Validate the latest submission of each site against the rule catalog and write
    report.json, report.html, queries_<site>.csv and ledger.csv.

    Exit code 1 when a fatal or error rule exceeds its threshold.

    \b
    Example:
      cart-registry validate --site site_redcap --as-of 2023-07-15
      cart-registry validate --audience coordinating_center --out cc_report
    """
    from cart_registry.errors import CartRegistryError, DataValidationFailed
    from cart_registry.validation.api import sql_listing, validate_submissions

    project = app.project()
    day = as_of.date() if as_of else None
    if sql_only:
        click.echo(sql_listing(project, audience=audience, as_of=day), nl=False)
        return
    report = validate_submissions(
        project, sites=sites or None, audience=audience, as_of=day,  # type: ignore[arg-type]
        out_dir=out_dir or project.reports_dir / "validation", write_history=not no_history,
    )
    if app.json:
        click.echo(report.to_json())
    else:
        click.echo("\n".join(report.summary_lines()))
    if report.exit_code == 1:
        raise DataValidationFailed(
            f"{len(report.blocking_failures)} fatal/error rule(s) over threshold; "
            "see the report and the query lists"
        )
    if report.exit_code == 2:
        raise CartRegistryError(f"{len(report.errored)} rule evaluation(s) raised an error")


@click.group()
def rules() -> None:
    """The validation rule catalog.

    \b
    Example:
      cart-registry rules list --severity error
    """


@rules.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]),
              default="table", show_default=True, help="Output form.")
@click.option("--severity", type=click.Choice(["fatal", "error", "warning", "info"]),
              help="Only rules of this severity.")
@shared_options
@pass_app
def rules_list(app: AppContext, fmt: str, severity: str | None) -> None:
    """List every rule: id, severity, kind, Kahn category / subcategory / context.

    \b
    Example:
      cart-registry rules list --format markdown > docs/validation-rules.md
    """
    from cart_registry.validation.catalog import load_catalog
    from cart_registry.validation.docs import catalog_json, catalog_markdown, catalog_table

    catalog = load_catalog(app.project().standard())
    if app.json or fmt == "json":
        click.echo(catalog_json(catalog, severity), nl=False)
    elif fmt == "markdown":
        click.echo(catalog_markdown(catalog), nl=False)
    else:
        click.echo(catalog_table(catalog, severity), nl=False)


@click.group()
def queries() -> None:
    """Site answers to query lists.

    \b
    Example:
      cart-registry queries import queries_site_redcap.csv
    """


@queries.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--expires-days", type=click.IntRange(1, 3650), default=365, show_default=True,
              help="Waiver lifetime when the row gives no waiver_expires_on.")
@shared_options
@pass_app
def queries_import(app: AppContext, file: Path, expires_days: int) -> None:
    """Record a site's answered query list; confirmed_as_is answers become waivers that the
    next validation honours.

    \b
    Example:
      cart-registry queries import answered/queries_site_redcap.csv --expires-days 180
    """
    from cart_registry.validation.queries import import_queries

    result = import_queries(app.project(), file, expires_days=expires_days)
    if app.json:
        app.emit_json(result.to_dict())
    else:
        by = ", ".join(f"{k} {v}" for k, v in sorted(result.by_resolution.items())) or "none"
        click.echo(f"{result.answered} of {result.rows} rows answered ({by}); "
                   f"{result.waivers} waiver(s) recorded")
