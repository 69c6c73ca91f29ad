"""In-memory export files, serialised to exact bytes.

Renderers build these structures; the defect injector edits them in the site's own terms
(a cell, a row, a JSON element, a raw line); ``to_bytes`` then writes them with the site's
delimiter, quoting, encoding and line ends. Serialisation is our own (not ``csv.writer``) so
that quoting is decided per cell, the way each source system does it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RawLine:
    """A line written verbatim (a malformed row, a truncated JSON line)."""

    text: str


@dataclass
class CsvFile:
    header: list[str]
    rows: list[list[str] | RawLine]
    delimiter: str = ","
    encoding: str = "utf-8"
    newline: str = "\n"
    #: column indexes whose non-empty cells are always quoted (REDCap's dictionary labels)
    always_quote: frozenset[int] = frozenset()
    #: the header line written verbatim (REDCap's dictionary header has its own quoting)
    raw_header: str | None = None

    def _cell(self, value: str, idx: int) -> str:
        needs = (
            (idx in self.always_quote and value != "")
            or self.delimiter in value or '"' in value or "\n" in value or "\r" in value
        )
        return '"' + value.replace('"', '""') + '"' if needs else value

    def line(self, row: list[str] | RawLine) -> str:
        if isinstance(row, RawLine):
            return row.text
        return self.delimiter.join(self._cell(v, i) for i, v in enumerate(row))

    def to_bytes(self) -> bytes:
        head = self.raw_header if self.raw_header is not None else self.delimiter.join(
            self._cell(h, -1) for h in self.header)
        lines = [head] + [self.line(r) for r in self.rows]
        return (self.newline.join(lines) + self.newline).encode(self.encoding)

    def col(self, name: str) -> int:
        return self.header.index(name)


@dataclass
class JsonFile:
    obj: Any
    indent: int | None = 2
    #: set by the defect injector: the file is cut after this many bytes (invalid JSON)
    truncate_at: int | None = None

    def to_bytes(self) -> bytes:
        data = (json.dumps(self.obj, indent=self.indent, ensure_ascii=False) + "\n").encode()
        return data[: self.truncate_at] if self.truncate_at is not None else data


@dataclass
class NdjsonFile:
    lines: list[Any | RawLine] = field(default_factory=list)

    def to_bytes(self) -> bytes:
        out = []
        for obj in self.lines:
            if isinstance(obj, RawLine):
                out.append(obj.text)
            else:
                out.append(json.dumps(obj, separators=(",", ":"), ensure_ascii=False))
        return ("\n".join(out) + "\n").encode() if out else b""


@dataclass
class TextFile:
    text: str
    encoding: str = "utf-8"

    def to_bytes(self) -> bytes:
        return self.text.encode(self.encoding)


ExportFile = CsvFile | JsonFile | NdjsonFile | TextFile
#: relative path inside the site folder -> file
SiteExport = dict[str, ExportFile]


#: canonical table -> its row id column (patient-level tables use patient_id)
ID_COL = {
    "patient": "patient_id", "cart_infusion": "infusion_id", "lymphodepletion": "ld_id",
    "toxicity_event": "tox_id", "disease_assessment": "assessment_id",
    "antigen_expression": "expr_id", "relapse": "relapse_id", "hsct": "hsct_id",
    "antileukemic_therapy": "therapy_id", "death": "patient_id", "follow_up": "patient_id",
}


@dataclass
class Located:
    """Where a canonical row landed: the file, the row object (CSV) or resource id (FHIR)."""

    file: str
    row: Any
    locator: str


#: (canonical table, row id) -> where the renderer put it
Index = dict[tuple[str, str], Located]
