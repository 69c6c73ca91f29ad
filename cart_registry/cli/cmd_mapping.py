"""``cart-registry mapping init|check``: draft and check site mappings."""

from __future__ import annotations

from pathlib import Path

import click

from cart_registry.cli.options import AppContext, pass_app, shared_options


@click.group()
@shared_options
def mapping() -> None:
    """Draft a site mapping from a REDCap dictionary, or check a mapping.

    \b
    Example:
      cart-registry mapping check site_redcap sample_exports/site_redcap
    """


@mapping.command("init")
@click.option("--redcap-dictionary", "dictionary", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="REDCap data dictionary CSV (UI or API headers).")
@click.option("--site", "site_id", required=True, help="Site id of the new mapping.")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to write (default: mappings/<site> of the project).")
@click.option("--force", is_flag=True, help="Overwrite existing mapping files.")
@shared_options
@pass_app
def init(app: AppContext, dictionary: Path, site_id: str, out: Path | None, force: bool) -> None:
    """Draft a mapping from a REDCap data dictionary: forms to tables, fields to columns and
    choices to canonical codes by name, label and choice similarity. Every unsure guess and
    every required column left unmapped is marked with a '# TODO:' comment.

    \b
    Example:
      cart-registry mapping init --redcap-dictionary dict.csv --site site_new --out draft/
    """
    from cart_registry.mapping.draft import draft_from_redcap, write_draft
    from cart_registry.project import check_site_id

    project = app.project()
    check_site_id(site_id)
    files = draft_from_redcap(dictionary, site_id, project.standard())
    folder = out or project.site_mapping_dir(site_id)
    written = write_draft(files, folder, force=force)
    todos = sum(text.count("# TODO:") for text in files.values())
    if app.json:
        app.emit_json({"site_id": site_id, "folder": str(folder), "todo": todos,
                       "files": [str(p) for p in written]})
        return
    click.echo(f"wrote {len(written)} file(s) to {folder} ({todos} TODO to review)")
    for p in written:
        click.echo(f"  {p.name}")


@mapping.command("check")
@click.argument("site_id")
@click.argument("export_dir", required=False,
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@shared_options
@pass_app
def check(app: AppContext, site_id: str, export_dir: Path | None) -> None:
    """Check a site mapping against the standard (required columns mapped, operations and
    codes valid) and, given an export folder, against its files (columns exist, codes seen
    are mapped). Nothing is loaded. Exits 1 when the mapping has errors.

    \b
    Example:
      cart-registry mapping check site_edc sample_exports/site_edc
    """
    from cart_registry.errors import ExitCode
    from cart_registry.mapping.check import check_mapping

    report = check_mapping(app.project(), site_id, export_dir)
    if app.json:
        app.emit_json(report.to_json())
    else:
        for f in report.findings:
            color = "red" if f.level == "error" else "yellow"
            click.secho(f"{f.level}: {f.where}: {f.message}", fg=color)
        n_err = len(report.errors)
        summary = (f"{site_id}: {n_err} error(s), {len(report.findings) - n_err} warning(s)"
                   + (f"; {report.rules_checked} rule(s) run on {report.rows_read} rows"
                      if export_dir else ""))
        click.echo(summary)
    if not report.ok:
        raise click.exceptions.Exit(int(ExitCode.DATA_FAILED))
