"""The contract between readers and the mapping engine.

A reader turns one source file (a CSV, one REDCap records export, one NDJSON file, a folder of
Bundles) into one or more ``SourceTable``s: every cell as text, plus locator columns that say
where each row came from. Typing happens later, in the mapping, where a failure is recorded
per cell. Nothing about the file format leaks past this point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

#: locator columns every source frame carries (their names cannot clash with site columns
#: because site column names are lower-case identifiers without a leading underscore)
ROW_COL = "_source_row"  # int: CSV 1-based data row (header not counted); NDJSON 1-based line; Bundle 0-based entry
KEY_COL = "_source_key"  # str|null: REDCap 'record=..|event=..|instrument=..|instance=..'; FHIR 'Type/id'
FILE_COL = "_source_file"  # str: path of the file inside the export folder (several files may feed one table)
LOCATOR_COLS = (ROW_COL, KEY_COL, FILE_COL)


@dataclass(frozen=True)
class SourceFileInfo:
    """One file of a submission, as received."""

    path: str  # relative to the export folder, with '/' separators
    sha256: str
    size_bytes: int


@dataclass
class SourceTable:
    """Rows of one logical source (a CSV form, a REDCap instrument, a FHIR profile slice)."""

    #: logical name the mapping refers to, e.g. 'records', 'infusion_form', 'fhir:Observation'
    name: str
    #: all site columns are ``pl.String``; plus ``LOCATOR_COLS``
    frame: pl.DataFrame
    #: files that fed this table
    files: list[SourceFileInfo]
    #: how to name a column's location for a data manager: column -> REDCap field name or FHIR
    #: element path (e.g. 'Observation.valueQuantity.value'); defaults to the column name
    field_paths: dict[str, str] = field(default_factory=dict)
    #: rows read per file (before any filtering), for the ledger
    rows_read: dict[str, int] = field(default_factory=dict)
    #: rows a reader already decided not to pass on, per file and reason (e.g. FHIR resource
    #: types the registry does not use); they count as 'ignored' in the ledger
    rows_ignored: dict[str, dict[str, int]] = field(default_factory=dict)

    def field_path(self, column: str) -> str:
        return self.field_paths.get(column, column)
