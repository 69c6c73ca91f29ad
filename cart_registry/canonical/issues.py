"""Ingest issues: every cell or row problem found while reading and mapping a submission.

One table, one shape, for CSV, REDCap and FHIR alike, so that the validation report treats
them the same way. ``action`` says what happened to the data: the whole row was quarantined,
the cell was set to null and the row kept, or nothing (``reported``: a finding about the
file's own wrapping, such as a Bundle's type or fullUrl, that leaves every row in).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

ISSUE_TABLE = "_ingest_issue"

ACTIONS = ("row_quarantined", "cell_nulled", "row_ignored", "reported")

ISSUE_SCHEMA = pa.schema(
    [
        pa.field("site_id", pa.string(), nullable=False),
        pa.field("submission_id", pa.string(), nullable=False),
        pa.field("source_file", pa.string(), nullable=False),
        pa.field("source_sha256", pa.string(), nullable=True),
        pa.field("source_row", pa.int64(), nullable=True),
        pa.field("source_key", pa.string(), nullable=True),
        #: the site's own field name (REDCap field, CSV column) or FHIR element path
        pa.field("source_field", pa.string(), nullable=True),
        pa.field("target_table", pa.string(), nullable=True),
        pa.field("target_column", pa.string(), nullable=True),
        #: the offending value as received (site-level only; masked for the coordinating centre)
        pa.field("value", pa.string(), nullable=True),
        #: stable machine code, e.g. 'date_parse', 'not_in_code_list', 'missing_required',
        #: 'ragged_row', 'unresolved_reference', 'duplicate_key'
        pa.field("reason_code", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("action", pa.string(), nullable=False),
        pa.field("mapping_rule", pa.string(), nullable=True),
        #: the whole source row as JSON, kept for quarantined rows so a data manager can fix it
        pa.field("raw_row", pa.string(), nullable=True),
    ]
)


def issues_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Build the issue table from dicts (missing keys become null)."""
    cols = {f.name: [r.get(f.name) for r in rows] for f in ISSUE_SCHEMA}
    return pa.table(cols, schema=ISSUE_SCHEMA)
