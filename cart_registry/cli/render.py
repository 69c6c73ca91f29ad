"""Human-readable summaries of result objects for the terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cart_registry.pipeline import RunResult


def render_run(result: RunResult) -> None:
    from rich.console import Console
    from rich.table import Table

    out = Console()
    table = Table(title="cart-registry run")
    for col in ("site", "submission", "rows read", "mapped", "quarantined", "ignored", "load"):
        table.add_column(col, justify="right" if col not in ("site", "submission", "load") else "left")
    loads = {ld["site_id"]: ld for ld in result.loads}
    for ing in result.ingest:
        tot = ing.get("totals", {})
        ld = loads.get(ing["site_id"])
        table.add_row(
            ing["site_id"], ing["submission_id"], str(tot.get("rows_read", "")),
            str(tot.get("rows_mapped", "")), str(tot.get("rows_quarantined", "")),
            str(tot.get("rows_ignored", "")), ld["status"] if ld else "refused",
        )
    out.print(table)
    counts = result.validation.get("counts_failed", {})
    out.print(
        "validation: "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
        + f" (exit {result.validation.get('exit_code')})"
    )
    for msg in result.refused:
        out.print(f"[red]refused:[/red] {msg}")
    for site in result.skipped:
        out.print(f"[yellow]skipped:[/yellow] {site} (no export folder)")
    for name, path in result.files.items():
        out.print(f"{name}: {path}")
