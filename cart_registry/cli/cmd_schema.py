"""``cart-registry schema``: print the canonical standard."""

from __future__ import annotations

import click

from cart_registry.cli.options import AppContext, pass_app, shared_options


@click.command()
@click.option(
    "--format", "fmt", type=click.Choice(["markdown", "json", "csv", "ddl", "jsonschema"]),
    default="markdown", show_default=True, help="Output form of the standard.",
)
@click.option("--table", "tables", multiple=True, help="Only these tables (repeatable).")
@shared_options
@pass_app
def schema(app: AppContext, fmt: str, tables: tuple[str, ...]) -> None:
    """Print the canonical standard: every table and column with type, value set, unit,
    PHI class, critical flag and code binding.

    \b
    Example:
      cart-registry schema --format json --table patient
    """
    from cart_registry.standard.render import render_standard

    if app.json:
        fmt = "json"
    click.echo(render_standard(app.project().standard(), fmt, tables), nl=False)
