"""Bulk NDJSON files: pick the registry's resources out of millions of unrelated ones.

Two paths give the same answer:

* **DuckDB** (plain ``.ndjson``): ``read_ndjson`` with typed ``columns=`` for the handful of
  elements the selection reads (``Selector.sql_columns``) decides per line whether a resource
  is a candidate, and counts the others per resource type, without creating a Python object
  per line (``ignore_errors`` off, so a value of an unexpected shape sends the file to the
  exact path instead of becoming NULL). While DuckDB runs, a thread reads the file once,
  hashes it and counts newlines per 64 KiB block; the candidate lines are then read by
  number through that index and parsed with orjson. A row's ordinal is its line number when
  DuckDB's row total equals the file's line total; otherwise (blank lines) the non-blank lines
  are numbered by a walk over the file. Every candidate's ``resourceType`` and ``id`` are
  checked against the line read, so an ordering surprise can only send the file to the other
  path, never misplace a row.
* **orjson per line** (``.ndjson.gz``, files with a malformed line, or whenever the DuckDB
  path declines): exact, streaming, and gives every bad line a located fault.

The DuckDB path never reports errors itself: a file with anything odd in it (a line that is
not a JSON object or has no text ``resourceType``) goes to the exact path, which
names the line.
"""

from __future__ import annotations

import hashlib
import re
import threading
from array import array
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cart_registry.fhir.jsonio import parse
from cart_registry.fhir.ndjson import (
    CHUNK_BYTES,
    MAX_DECOMPRESSED_BYTES,
    NdjsonItem,
    is_gzip,
    iter_lines,
    iter_ndjson,
    open_binary,
)
from cart_registry.fhir.records import Located
from cart_registry.fhir.selection import Selector

#: DuckDB refuses JSON objects larger than this per line (its default is 16 MiB)
DUCKDB_MAX_OBJECT = 64 << 20


@dataclass
class ScanResult:
    """What one NDJSON file holds, as far as the registry is concerned."""

    file: str
    #: non-blank lines (resources and bad lines alike)
    rows_read: int = 0
    #: candidate resources, parsed, with their line numbers
    candidates: list[Located] = field(default_factory=list)
    #: lines that are resources but not candidates, per resource type
    not_candidate: Counter[str] = field(default_factory=Counter)
    #: lines that are not resources (bad JSON, not an object, no resourceType)
    faults: list[NdjsonItem] = field(default_factory=list)
    #: 'duckdb' or 'python', for tests and the benchmark
    engine: str = "python"
    #: SHA-256 of the file's bytes when the scan read them all anyway (saves a pass)
    sha256: str | None = None


def scan_file(path: Path, rel: str, selector: Selector, *, use_duckdb: bool = True,
              max_decompressed_bytes: int = MAX_DECOMPRESSED_BYTES) -> ScanResult:
    """Scan one NDJSON file; the fast path when it can, the exact path otherwise."""
    if use_duckdb and not is_gzip(path):
        res = scan_duckdb(path, rel, selector)
        if res is not None:
            return res
    return scan_python(path, rel, selector, max_decompressed_bytes=max_decompressed_bytes)


def scan_python(path: Path, rel: str, selector: Selector, *,
                max_decompressed_bytes: int = MAX_DECOMPRESSED_BYTES) -> ScanResult:
    """Exact path: every line parsed with orjson (streaming; raises InputError on a bomb)."""
    out = ScanResult(file=rel, engine="python")
    fh = open_binary(path, max_decompressed_bytes=max_decompressed_bytes, name=rel)
    try:
        for item in iter_ndjson(fh):
            out.rows_read += 1
            value = item.value
            if value is None:
                out.faults.append(item)
                continue
            rtype = value.get("resourceType")
            if not isinstance(rtype, str) or not rtype:
                out.faults.append(NdjsonItem(item.line, None, "no_resource_type",
                                             "the object has no resourceType"))
            elif selector.candidate(value):
                out.candidates.append(Located(value, rel, item.line))
            else:
                out.not_candidate[rtype] += 1
    finally:
        fh.close()
    return out


#: the line index of the fast path keeps one newline count per block of this many bytes
INDEX_BLOCK = 64 << 10
#: what a resource type looks like (anything else goes to the exact path, which names it)
_TYPE_NAME = re.compile(r"[A-Z][A-Za-z]{0,63}")


class _HashAndIndex:
    """One read of the file, in a thread beside DuckDB's scan: SHA-256 of every byte, and the
    number of newlines before each ``INDEX_BLOCK`` (so that a line can be found by number
    without reading the file again). ``hashlib`` and ``bytes.count`` release the GIL or are
    C loops, and DuckDB releases it while it runs, so the two overlap."""

    def __init__(self, path: Path, chunk_bytes: int) -> None:
        self.path, self.chunk = path, max(INDEX_BLOCK, chunk_bytes - chunk_bytes % INDEX_BLOCK)
        self.before = array("q")  # newlines before block i
        self.newlines = 0
        self.size = 0
        self.ends_with_newline = True
        self.sha256: str | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="ndjson-hash", daemon=True)

    def _run(self) -> None:
        try:
            digest = hashlib.sha256()
            block = INDEX_BLOCK
            before, count = self.before, 0
            with self.path.open("rb", buffering=0) as fh:
                while chunk := fh.read(self.chunk):
                    digest.update(chunk)
                    for i in range(0, len(chunk), block):
                        before.append(count)
                        count += chunk.count(b"\n", i, i + block)
                    self.size += len(chunk)
                    self.ends_with_newline = chunk.endswith(b"\n")
            self.newlines = count
            self.sha256 = digest.hexdigest()
        except BaseException as exc:  # noqa: BLE001 - re-raised by the caller
            self.error = exc

    def lines(self) -> int:
        """Physical lines, as ``iter_lines`` numbers them (a last line without newline too)."""
        return self.newlines + (0 if self.ends_with_newline or self.size == 0 else 1)

    def line_start(self, n: int) -> tuple[int, int]:
        """``(offset of a block start at or before line n, newlines before that offset)``."""
        b = max(0, bisect_left(self.before, n - 1) - 1)
        return b * INDEX_BLOCK, self.before[b]


def _duckdb_summary(path: Path, selector: Selector) -> list[tuple[Any, ...]]:
    """Per resource type: rows, and the ordinal numbers and ids of SQL candidates.

    ``WITH ORDINALITY`` numbers the rows as the reader produces them, without the full
    materialisation a window function needs; the aggregate streams, so memory does not grow
    with the file (only the candidates' numbers are kept). ``ignore_errors`` is off: with it
    DuckDB turns a value of an unexpected shape (a ``code`` that is a list) into NULL, which
    would hide a candidate; without it such a file raises and goes to the exact path."""
    import duckdb

    cols = "{" + ", ".join(f"'{k}': '{v}'" for k, v in selector.sql_columns().items()) + "}"
    sql = f"""
        SELECT resourceType, count(*) AS n,
               list(ordinality) FILTER (WHERE cand) AS rns,
               list(id) FILTER (WHERE cand) AS ids
        FROM (
            SELECT ordinality, resourceType, id, {selector.sql_candidate()} AS cand
            FROM read_ndjson(?, columns = {cols}, ignore_errors = false,
                             maximum_object_size = {DUCKDB_MAX_OBJECT}) WITH ORDINALITY
        )
        GROUP BY resourceType
    """
    con = duckdb.connect()
    try:
        return con.execute(sql, [str(path)]).fetchall()
    finally:
        con.close()


def scan_duckdb(path: Path, rel: str, selector: Selector,
                chunk_bytes: int = CHUNK_BYTES) -> ScanResult | None:
    """Fast path; ``None`` when the file needs the exact path."""
    side = _HashAndIndex(path, chunk_bytes)
    side.thread.start()
    try:
        summary: list[tuple[Any, ...]] | None = _duckdb_summary(path, selector)
    except Exception:  # noqa: BLE001 - any DuckDB refusal just means "use the exact path"
        summary = None
    finally:
        side.thread.join()
    if side.error is not None:
        raise side.error
    if summary is None:
        return None
    out = ScanResult(file=rel, engine="duckdb", sha256=side.sha256)
    wanted: list[tuple[int, str, str | None]] = []
    for rtype, n, rns, ids in summary:
        if not isinstance(rtype, str) or not _TYPE_NAME.fullmatch(rtype):
            # a line without resourceType, or one that is not text (DuckDB casts a number to
            # VARCHAR): the exact path names it
            return None
        out.rows_read += int(n)
        for rn, rid in zip(rns or [], ids or [], strict=True):
            wanted.append((int(rn), rtype, rid))
        out.not_candidate[rtype] += int(n) - len(rns or [])
    wanted.sort()
    if out.rows_read == side.lines():
        # one row per physical line (DuckDB skips blank lines and refuses two objects on one
        # line), so a row's ordinal is its line number
        ok = _collect_indexed(path, rel, selector, wanted, out, side)
    else:  # blank lines: number the non-blank ones
        ok = _collect_counting(path, rel, selector, wanted, out, chunk_bytes)
    return out if ok else None


def _take(value: Any, fault: Any, rel: str, selector: Selector, rn: int, line_no: int,
          rtype: str, rid: str | None, out: ScanResult) -> bool:
    """Check a re-read line against DuckDB's row (type and id) and keep or count it."""
    if fault is not None or not isinstance(value, dict):
        return False
    if value.get("resourceType") != rtype or value.get("id") != rid:
        return False
    if selector.candidate(value):
        out.candidates.append(Located(value, rel, line_no))
    else:  # the SQL test is a superset: what Python refuses is not a candidate
        out.not_candidate[rtype] += 1
    return True


def _collect_indexed(path: Path, rel: str, selector: Selector,
                     wanted: list[tuple[int, str, str | None]], out: ScanResult,
                     side: _HashAndIndex) -> bool:
    """Read the wanted lines by number through the block index: only the blocks that hold
    them are read (from the page cache, just filled by the hashing pass)."""
    if not wanted:
        return True
    window_start, window = -1, b""
    with path.open("rb", buffering=0) as fh:

        def read_at(offset: int, size: int) -> bytes:
            fh.seek(offset)
            return fh.read(size)

        for rn, rtype, rid in wanted:
            base, newlines = side.line_start(rn)
            # reuse the window when the block is in it (the wanted lines come in clusters)
            if not (window_start <= base < window_start + len(window)):
                window_start, window = base, read_at(base, 4 * INDEX_BLOCK)
            pos = base - window_start
            # the window may start before ``base``: count its newlines from ``base`` anyway
            skip = rn - 1 - newlines
            while skip > 0:
                nl = window.find(b"\n", pos)
                while nl < 0:
                    more = read_at(window_start + len(window), 4 * INDEX_BLOCK)
                    if not more:
                        return False
                    window += more
                    nl = window.find(b"\n", pos)
                pos, skip = nl + 1, skip - 1
            end = window.find(b"\n", pos)
            while end < 0:
                more = read_at(window_start + len(window), max(4 * INDEX_BLOCK, len(window)))
                if not more:
                    end = len(window)
                    break
                window += more
                end = window.find(b"\n", pos)
            raw = window[pos:end]
            value, fault = parse(raw)
            if not _take(value, fault, rel, selector, rn, rn, rtype, rid, out):
                return False
            if len(window) > 16 * INDEX_BLOCK:  # do not let one long line's window linger
                window_start, window = -1, b""
    return True


def _collect_counting(path: Path, rel: str, selector: Selector,
                      wanted: list[tuple[int, str, str | None]], out: ScanResult,
                      chunk_bytes: int) -> bool:
    """Blank lines move line numbers away from DuckDB's ordinals: walk the lines, number the
    non-blank ones as DuckDB does, and parse only the wanted ones. The non-blank total must
    equal DuckDB's row count."""
    wi, ordinal = 0, 0
    with path.open("rb") as fh:
        for line_no, raw in iter_lines(fh, chunk_bytes=chunk_bytes):
            if raw is None:
                return False  # an over-long line: the exact path reports it
            if not raw or raw.isspace():
                continue
            ordinal += 1
            if wi < len(wanted) and wanted[wi][0] == ordinal:
                rn, rtype, rid = wanted[wi]
                value, fault = parse(raw)
                if not _take(value, fault, rel, selector, rn, line_no, rtype, rid, out):
                    return False
                wi += 1
    return wi == len(wanted) and ordinal == out.rows_read
