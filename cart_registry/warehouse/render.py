"""Terminal rendering (rich) of query results and the endpoint table."""

from __future__ import annotations

from cart_registry.warehouse.endpoints import EndpointTable
from cart_registry.warehouse.query import QueryResult, text_value

SECTION_TITLES = {
    "abstract": "Abstract",
    "survival": "Survival (other parameters)",
    "follow_up": "Follow-up",
    "toxicity": "CRS / ICANS by course",
    "secondary": "Secondary objectives",
}


def print_query(result: QueryResult) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_lines=False)
    for name, typ in zip(result.columns, result.types, strict=True):
        table.add_column(f"{name}\n[dim]{typ}[/dim]", overflow="fold")
    for row in result.rows:
        table.add_row(*["[dim]NULL[/dim]" if v is None else text_value(v) for v in row])
    console = Console()
    console.print(table)
    more = " (more rows not shown: use --max-rows or --format csv)" if result.truncated else ""
    console.print(f"[dim]{len(result.rows)} row(s){more}[/dim]")


def print_endpoints(et: EndpointTable, *, only_abstract: bool = False) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for section, title in SECTION_TITLES.items():
        items = [i for i in et.items if i.section == section]
        if not items or (only_abstract and section != "abstract"):
            continue
        table = Table(title=title, title_justify="left")
        table.add_column("Endpoint")
        table.add_column("Value", overflow="fold")
        table.add_column("Source", style="dim")
        for it in items:
            table.add_row(it.label, it.text, it.source)
        console.print(table)
    s = et.settings
    console.print(
        f"[dim]settings {et.settings_hash}: cut-off {s['data_cutoff_date']}, response window "
        f"{s['response_window_days']} d, CRi as CR {s['cri_counts_as_cr']}, RFS origin "
        f"{s['rfs_origin']}, death in remission an RFS event "
        f"{s['death_in_remission_is_rfs_event']}, censor at HSCT {s['censor_at_hsct']}, "
        f"antigen rule {s['antigen_difference_rule']}[/dim]"
    )
    for sub in et.submissions:
        console.print(f"[dim]{sub['site_id']}: {sub['submission_id']} "
                      f"({sub['validation_status']}{', forced' if sub['forced'] else ''})[/dim]")
    for note in et.notes:
        console.print(f"[yellow]note: {note}[/yellow]")
