"""FHIR submissions through the same ingest as CSV and REDCap sites.

``cart_registry.ingest.sources.READERS`` maps ``reader.kind: fhir`` to ``read_site`` below,
so ``ingest_submission`` reads a FHIR export with this module and then maps, conforms,
quarantines, accounts and writes it exactly as it does a CSV export. ``ingest_fhir_submission``
is the same call under a FHIR name; it refuses a site whose reader is not FHIR.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from cart_registry.errors import ConfigError
from cart_registry.fhir.export import read_export
from cart_registry.fhir.options import FhirOptions

if TYPE_CHECKING:
    from cart_registry.ingest.result import IngestResult
    from cart_registry.ingest.sources import SubmissionSources
    from cart_registry.mapping.spec import SiteMapping
    from cart_registry.project import Project


def options_of(mapping: SiteMapping) -> FhirOptions:
    reader = mapping.site.reader
    raw = getattr(reader, "options", None) or {}
    return FhirOptions.parse(raw, mapping.site_source.where(["reader", "options"]))


def read_site(mapping: SiteMapping, export_dir: Path, workdir: Path) -> SubmissionSources:
    """The reader hook: a FHIR export folder -> the submission's source tables."""
    from cart_registry.ingest.sources import SubmissionSources

    read = read_export(export_dir, options_of(mapping))
    return SubmissionSources.from_tables(read.source_tables(), broken=read.broken(),
                                         notices=read.notices())


def ingest_fhir_submission(
    project: Project,
    export_dir: str | Path,
    site_id: str,
    *,
    received_at: dt.datetime | str | None = None,
) -> IngestResult:
    """Ingest one FHIR export folder (Bundles or Bulk NDJSON) of a FHIR site."""
    from cart_registry.ingest.run import ingest_submission
    from cart_registry.mapping.spec import load_site_mapping

    mapping = load_site_mapping(project.site_mapping_dir(site_id), site_id=site_id)
    if mapping.site.reader.kind != "fhir":
        raise ConfigError(f"{mapping.site_source.where(['reader', 'kind'])}: site {site_id!r} "
                          f"reads {mapping.site.reader.kind!r} exports, not FHIR")
    return ingest_submission(project, export_dir, site_id, received_at=received_at)
