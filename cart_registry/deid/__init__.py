"""De-identification of a site export before it leaves the site (``cart-registry deidentify``).

Public API (docs/deidentification.md):

* ``deidentify_export(project, export_dir, site_id, out_dir, key, ...)`` -> ``DeidResult``:
  keyed pseudonyms, one date shift (or day-zero offset) per patient, direct identifiers
  removed, free text dropped or flagged, a ``deid-manifest.json`` beside the files;
* ``load_site_key(key_file, environ, version)`` -> ``SiteKey`` (the secret stays inside it);
* ``check_deidentified_input(folder, mapping)``: what ingest calls to recognise (and check) a
  de-identified export;
* ``rotation_map(old_crosswalk, new_crosswalk, out)``: old pseudonym -> new pseudonym after a
  key rotation, for the coordinating centre (no original ids).

Submodules are imported on first use: ``cart_registry.mapping.spec`` imports
``cart_registry.deid.spec`` while the mapping package is still loading.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "deidentify_export": "cart_registry.deid.api",
    "DeidResult": "cart_registry.deid.api",
    "SiteKey": "cart_registry.deid.keys",
    "load_site_key": "cart_registry.deid.keys",
    "ENV_SITE_KEY": "cart_registry.deid.keys",
    "check_deidentified_input": "cart_registry.deid.manifest",
    "DEID_MANIFEST": "cart_registry.deid.manifest",
    "rotation_map": "cart_registry.deid.crosswalk",
    "DeidentifySpec": "cart_registry.deid.spec",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cart_registry.deid' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
