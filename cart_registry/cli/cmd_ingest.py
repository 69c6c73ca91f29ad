"""``cart-registry ingest``: map one site export folder to a canonical submission."""

from __future__ import annotations

from pathlib import Path

import click

from cart_registry.cli.options import AppContext, pass_app, path_arg, shared_options


@click.command()
@path_arg("export_dir", exists=True, file_okay=False)
@click.option("--site", "site_id", required=True, help="Site id (a folder of mappings/).")
@click.option("--received-at", default=None, metavar="ISO",
              help="Receipt time recorded in the manifest (default: now, UTC).")
@click.option("--strict", is_flag=True,
              help="Exit 1 when any row was quarantined (the submission is still written).")
@shared_options
@pass_app
def ingest(app: AppContext, export_dir: Path, site_id: str, received_at: str | None,
           strict: bool) -> None:
    """Map a site's export folder to canonical Parquet: read every cell as text, apply the
    site mapping, check each table against the standard, quarantine rows that fail (with
    the reason and source location), account for every row in a ledger and write the
    submission atomically.

    \b
    Example:
      cart-registry ingest sample_exports/site_edc --site site_edc
    """
    from cart_registry.errors import ExitCode
    from cart_registry.ingest import ingest_submission

    result = ingest_submission(app.project(), export_dir, site_id, received_at=received_at)
    if app.json:
        app.emit_json(result.to_json())
    else:
        _print_summary(result)
    if strict and result.rows_quarantined:
        raise click.exceptions.Exit(int(ExitCode.DATA_FAILED))


def _print_summary(result: object) -> None:
    from rich.console import Console
    from rich.table import Table

    from cart_registry.ingest import IngestResult

    assert isinstance(result, IngestResult)
    console = Console()
    t = result.totals
    console.print(
        f"[bold]{result.submission_id}[/bold] ({result.site_id}): read {t['rows_read']} rows, "
        f"mapped {t['rows_mapped']}, quarantined {t['rows_quarantined']}, "
        f"ignored {t['rows_ignored']} in {result.seconds:.2f} s",
        soft_wrap=True,
    )
    table = Table("table", "rows", title="canonical rows written")
    for name, n in sorted(result.tables.items()):
        table.add_row(name, str(n))
    console.print(table)
    if result.issues_by_reason:
        issues = Table("reason", "count", title="ingest issues")
        for reason, n in result.issues_by_reason.items():
            issues.add_row(reason, str(n))
        console.print(issues)
    console.print(f"manifest: {result.manifest_path}", soft_wrap=True)
