"""A warehouse built straight from the synthetic registry's truth (no ingest, no files).

``cart_registry.synth.generate_truth`` gives the canonical tables a correct ingest of the
sample exports yields; loading them as ``canonical.*`` and building the packaged views gives
the warehouse the report reads, in about a second. Skips when the synth or warehouse modules
are not importable (they are developed alongside the report).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import duckdb


def _imports() -> tuple[Any, Any, Any, Any]:
    try:
        from cart_registry.synth.truth import generate_truth
        from cart_registry.warehouse.layout import create_empty_canonical
        from cart_registry.warehouse.views import build_views
    except ImportError as exc:  # pragma: no cover - depends on sibling modules
        pytest.skip(f"synth truth or warehouse views not available: {exc}")
    from cart_registry.standard import load_standard

    return generate_truth, create_empty_canonical, build_views, load_standard


def _fill(con: duckdb.DuckDBPyConnection, seed: int) -> Any:
    generate_truth, create_empty_canonical, build_views, load_standard = _imports()
    truth = generate_truth("abstract", seed)
    create_empty_canonical(con, load_standard())
    for name, df in truth.tables.items():
        if df.height == 0:
            continue
        con.register("truth_rows", df.to_arrow())
        cols = ", ".join(f'"{c}"' for c in df.columns)
        con.execute(f"INSERT INTO canonical.{name} ({cols}) SELECT {cols} FROM truth_rows")
        con.unregister("truth_rows")
    return build_views


def truth_connection(seed: int = 0, **settings: Any) -> duckdb.DuckDBPyConnection:
    """In-memory DuckDB with canonical tables from the truth and every view built."""
    import duckdb

    from cart_registry.settings import StudySettings

    con = duckdb.connect()
    build_views = _fill(con, seed)
    build_views(con, StudySettings(**settings))
    return con


def truth_registry_file(path: Path, seed: int = 0) -> Path:
    """A registry file holding the truth as ``canonical.*`` tables (what readers mirror)."""
    from cart_registry.warehouse.connection import open_registry

    with open_registry(path) as con:
        _fill(con, seed)
    return path
