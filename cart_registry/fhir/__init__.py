"""FHIR R4 exports (Bundles and Bulk Data NDJSON) -> the registry's source tables.

Public API (imported lazily; nothing heavy is loaded with the package):

* ``ingest_fhir_submission(project, export_dir, site_id, *, received_at=None)``: a whole
  submission through the shared ingest (mapping, conformance, quarantine, ledger, Parquet);
* ``read_export(export_dir, options)``: read, select, check, resolve and flatten a folder
  into ``FhirRead`` (source tables, located problems, ledger counts) without mapping;
* ``check_file(path, strict=True)``: the errors of one JSON file, as a validator would list
  them (used to compare with the HL7 Java validator);
* ``iter_ndjson(fh)``, ``ReferenceIndex``, ``Selector``: the building blocks.

docs/fhir-ingest.md describes the design; docs/fhir-profile.md the conventions it reads.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "ingest_fhir_submission": "cart_registry.fhir.ingest",
    "read_site": "cart_registry.fhir.ingest",
    "read_export": "cart_registry.fhir.export",
    "FhirRead": "cart_registry.fhir.export",
    "FhirOptions": "cart_registry.fhir.options",
    "check_file": "cart_registry.fhir.checkfile",
    "iter_ndjson": "cart_registry.fhir.ndjson",
    "ReferenceIndex": "cart_registry.fhir.references",
    "Selector": "cart_registry.fhir.selection",
    "Conventions": "cart_registry.fhir.conventions",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'cart_registry.fhir' has no attribute {name!r}")
