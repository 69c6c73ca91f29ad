"""``cart-registry synth``: write a synthetic multi-site registry."""

from __future__ import annotations

from pathlib import Path

import click

from cart_registry.cli.options import AppContext, pass_app, shared_options


@click.command()
@click.option("--preset", type=click.Choice(["abstract", "scale"]), default="abstract",
              show_default=True, help="abstract: 135 patients reproducing the study's abstract; "
              "scale: 1e5 patients and ~1e7 FHIR resources for benchmarks.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed; the same seed gives byte-identical files on any machine.")
@click.option("--defects", is_flag=True,
              help="Also write with_defects/ (known defects per site) and its answer key.")
@click.option("--patients", type=click.IntRange(min=1), default=None,
              help="Scale preset only: number of patients (default 100000).")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output folder (created; a previous synth output there is replaced).")
@shared_options
@pass_app
def synth(app: AppContext, preset: str, seed: int, defects: bool, patients: int | None,
          out: Path) -> None:
    """Generate a synthetic CAR T registry as three sites' exports (REDCap CSV, another EDC's
    CSV, FHIR R4 Bundles and Bulk NDJSON), whose truth is known.

    \b
    Example:
      cart-registry synth --preset abstract --seed 0 --defects --out sample_exports
    """
    from cart_registry.synth.api import synthesize

    result = synthesize(out, preset=preset, seed=seed, defects=defects, patients=patients)
    if app.json:
        app.emit_json(result.to_json())
        return
    click.echo(f"wrote {len(result.files)} files ({result.total_bytes:,} bytes) to {out}")
