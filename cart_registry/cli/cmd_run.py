"""``cart-registry run``: the whole pipeline for every site."""

from __future__ import annotations

import click

from cart_registry.cli.options import AppContext, pass_app, shared_options


@click.command()
@click.argument("exports_dir", type=click.Path(file_okay=False, exists=True))
@click.option("--site", "sites", multiple=True, help="Only these sites (repeatable).")
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Date the reports are stated as of (default: the data cutoff).")
@shared_options
@pass_app
def run(app: AppContext, exports_dir: str, sites: tuple[str, ...], as_of: object) -> None:
    """Ingest, validate, load, export and report every site whose export folder is in
    EXPORTS_DIR (one sub-folder per site id). Exit 1 when a submission failed validation
    or was refused at load.

    \b
    Example:
      cart-registry run sample_exports
    """
    import datetime as dt

    from rich.console import Console

    from cart_registry.pipeline import run_pipeline

    err = Console(stderr=True)
    day = as_of.date() if isinstance(as_of, dt.datetime) else None
    with err.status("starting") as status:
        result = run_pipeline(
            app.project(), exports_dir, sites=list(sites) or None, as_of=day,
            progress=lambda step: status.update(step),
        )
    if app.json:
        app.emit_json(result.to_json())
    else:
        from cart_registry.cli.render import render_run

        render_run(result)
    raise SystemExit(result.exit_code)
