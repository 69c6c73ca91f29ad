"""``cart-registry report``: the study endpoint report (HTML, Markdown, JSON, figures)."""

from __future__ import annotations

from pathlib import Path

import click

from cart_registry.cli.options import AppContext, pass_app, shared_options


@click.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the report files (default: registry/reports in the project).",
)
@click.option(
    "--as-of",
    "as_of",
    default=None,
    metavar="DATE",
    help="Date (or date-time) to stamp the report with, ISO format (default: the data "
    "cutoff, so identical data give identical files).",
)
@shared_options
@pass_app
def report(app: AppContext, out_dir: Path | None, as_of: str | None) -> None:
    """Write the endpoint report from the warehouse views: endpoints.html (self-contained),
    endpoints.md, endpoints.json, and Kaplan-Meier / cumulative-incidence figures as PNG and
    SVG beside them.

    The report holds counts and estimates only (no patient identifiers): the abstract table
    with n/N, exact 95% CIs, P values and methods, survival figures, toxicity and antigen
    tables, and the study settings the views were built with.

    \b
    Example:
      cart-registry report --out build/report
      cart-registry report --as-of 2023-07-15 --json
    """
    from cart_registry.report.api import write_endpoint_report

    result = write_endpoint_report(app.project(), out_dir, as_of=as_of)
    if app.json:
        app.emit_json(result.to_json())
        return
    click.echo(f"report written to {result.out_dir}")
    for path in result.files:
        click.echo(f"  {path.name}")
    for item in result.missing:
        click.secho(f"  not shown: {item}", fg="yellow", err=True)
