"""Render the standard in the forms ``cart-registry schema`` offers."""

from __future__ import annotations

import json
from dataclasses import replace

from cart_registry.standard import derive
from cart_registry.standard.model import Standard


def render_standard(standard: Standard, fmt: str, tables: tuple[str, ...] = ()) -> str:
    if tables:
        standard = replace(standard, tables=tuple(standard.table(t) for t in tables))
    if fmt == "json":
        return derive.standard_json(standard) + "\n"
    if fmt == "csv":
        return derive.data_dictionary_csv(standard)
    if fmt == "ddl":
        return derive.duckdb_ddl_all(standard) + "\n"
    if fmt == "jsonschema":
        return json.dumps(derive.json_schemas(standard), indent=2, ensure_ascii=False) + "\n"
    return derive.data_dictionary_markdown(standard) + "\n"
