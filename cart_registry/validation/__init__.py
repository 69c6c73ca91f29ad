"""Validation of canonical submissions: rule catalog, SQL runner, reports, history, waivers.

Public API (imported lazily so that ``import cart_registry.validation`` stays cheap)::

    validate_submissions(project, refs=None, *, audience="site", as_of=None, out_dir=None)
        -> ValidationReport
    import_queries(project, path, *, expires_days=365) -> QueryImportResult
    load_catalog(standard) -> Catalog
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "Catalog",
    "QueryImportResult",
    "Rule",
    "ValidationReport",
    "import_queries",
    "load_catalog",
    "validate_submissions",
]

_WHERE = {
    "validate_submissions": "cart_registry.validation.api",
    "ValidationReport": "cart_registry.validation.report",
    "import_queries": "cart_registry.validation.queries",
    "QueryImportResult": "cart_registry.validation.queries",
    "load_catalog": "cart_registry.validation.catalog",
    "Catalog": "cart_registry.validation.catalog",
    "Rule": "cart_registry.validation.catalog",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(name)
