"""The canonical registry standard: loaded from ``schemas/`` and derived into every form.

``load_standard()`` reads the declaration once; ``derive`` turns it into Pandera schemas, Arrow
schemas, DuckDB DDL, JSON Schema and the data dictionary. Nothing else declares a column.
"""

from cart_registry.standard.model import (
    Binding,
    Column,
    ColumnType,
    ForeignKey,
    Standard,
    Table,
    load_standard,
)

__all__ = [
    "Binding",
    "Column",
    "ColumnType",
    "ForeignKey",
    "Standard",
    "Table",
    "load_standard",
]
