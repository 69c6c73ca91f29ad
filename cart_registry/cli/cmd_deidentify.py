"""``cart-registry deidentify``: a de-identified copy of a site export, made at the site."""

from __future__ import annotations

from pathlib import Path

import click

from cart_registry.cli.options import AppContext, pass_app, path_arg, shared_options


@click.command()
@path_arg("export_dir", exists=True, file_okay=False)
@click.option("--site", "site_id", required=True, help="Site id (a folder of mappings/).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the de-identified copy to (built aside, then renamed).")
@click.option("--key-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="File holding the site secret (default: $CART_REGISTRY_SITE_KEY).")
@click.option("--shift-range-days", default="1-365", show_default=True, metavar="[MIN-]MAX",
              help="Dates move MIN..MAX days into the past, one shift per patient.")
@click.option("--mode", type=click.Choice(["shift", "intervals"]), default=None,
              help="shift: dates shifted per patient; intervals: day 0 = first CAR T infusion "
              "(default: the site's date_shift_policy).")
@click.option("--crosswalk", type=click.Path(dir_okay=False, path_type=Path),
              help="Write original id -> pseudonym, offset here (kept at the site; never "
              "inside --out).")
@shared_options
@pass_app
def deidentify(app: AppContext, export_dir: Path, site_id: str, out_dir: Path,
               key_file: Path | None, shift_range_days: str, mode: str | None,
               crosswalk: Path | None) -> None:
    """De-identify a site export before sending it: keyed HMAC-SHA256 pseudonyms from the site
    secret, one date shift per patient (into the past) or days from the first CAR T infusion,
    ages of 90 and over capped, direct identifiers removed, free text dropped or flagged. The
    mapping says which fields are ids, dates and free text; site.yaml `deidentify:` adds the
    rest. deid-manifest.json records the mode, key version and counts (never the key).

    \b
    Example:
      cart-registry deidentify exports/2023-07 --site site_edc --out outbox/site_edc \\
          --key-file /secure/site_edc.key --crosswalk /secure/site_edc-crosswalk.csv
    """
    from cart_registry.deid.api import deidentify_export
    from cart_registry.deid.keys import load_site_key
    from cart_registry.mapping.spec import load_site_mapping

    project = app.project()
    mapping = load_site_mapping(project.site_mapping_dir(site_id), site_id=site_id)
    version = mapping.site.site.pseudonym_key_version or "unversioned"
    key = load_site_key(key_file, version=version)
    result = deidentify_export(project, export_dir, site_id, out_dir, key, mode=mode,
                               shift_range=shift_range_days, crosswalk=crosswalk)
    if app.json:
        app.emit_json(result.to_json())
    else:
        for line in result.summary_lines():
            click.secho(line, fg="yellow" if line.startswith("warning:") else None)
