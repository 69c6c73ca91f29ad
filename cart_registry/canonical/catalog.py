"""The central construct catalog (``mappings/constructs.yaml``) as a canonical table.

The catalog is registry reference data, not site data: sites name products with local codes
and their mappings look the construct up here. Its provenance columns say so
(``site_id = 'registry'``).
"""

from __future__ import annotations

import hashlib
from typing import Any

import pyarrow as pa

from cart_registry.errors import ConfigError
from cart_registry.project import Project
from cart_registry.standard.derive import arrow_schema
from cart_registry.yamlio import read_yaml

CATALOG_SITE = "registry"


def load_construct_rows(project: Project) -> list[dict[str, Any]]:
    path = project.construct_catalog_file
    if not path.is_file():
        return []
    raw = read_yaml(path)
    rows = raw.get("constructs") if isinstance(raw, dict) else raw
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ConfigError(f"{path.name}: expected a list of constructs")
    return [dict(r) for r in rows]


def construct_catalog_arrow(project: Project) -> pa.Table:
    """The catalog with provenance, validated against the canonical schema."""
    import polars as pl

    from cart_registry.standard.derive import first_failure, pandera_schema, polars_schema

    table = project.standard().table("car_construct")
    path = project.construct_catalog_file
    rows = load_construct_rows(project)
    sha = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "0" * 64
    business = [c.name for c in table.business_columns]
    out = []
    for i, row in enumerate(rows, start=1):
        unknown = set(row.keys()) - set(business)
        if unknown:
            raise ConfigError(f"{path.name}: construct {i}: unknown field(s) {sorted(unknown)}")
        rec: dict[str, Any] = {c: row.get(c) for c in business}
        antigens = rec.get("target_antigens")
        if isinstance(antigens, list):
            rec["target_antigens"] = [str(a) for a in antigens]
        for c in table.business_columns:
            # YAML may read codes like 4-1BB or NCT ids fine, but numbers-as-codes need text
            if c.type.value == "string" and rec[c.name] is not None:
                rec[c.name] = str(rec[c.name])
        rec.update(
            site_id=CATALOG_SITE,
            submission_id=f"catalog-{sha[:12]}",
            source_file=f"mappings/{path.name}",
            source_sha256=sha,
            source_row=i,
            source_key=str(row.get("construct_id")),
            mapping_rule="construct_catalog",
        )
        out.append(rec)
    frame = pl.DataFrame(out, schema=polars_schema(table), orient="row") if out else pl.DataFrame(
        schema=polars_schema(table)
    )
    first = first_failure(pandera_schema(table), frame)
    if first is not None:
        raise ConfigError(
            f"{path.name}: construct catalog fails the standard: column {first['column']!r}, "
            f"check {first['check']}, value {first['failure_case']!r}"
        )
    return frame.to_arrow().cast(arrow_schema(table))
