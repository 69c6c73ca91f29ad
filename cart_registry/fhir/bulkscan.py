"""Bulk NDJSON files: pick the registry's resources out of millions of unrelated ones.

Two paths give the same answer:

* **DuckDB** (plain ``.ndjson``): ``read_ndjson`` with typed ``columns=`` for the handful of
  elements the selection reads (``Selector.sql_columns``) decides per line whether a resource
  is a candidate, and counts the others per resource type, without creating a Python object
  per line. Only then are the candidate lines read again, by line number, and parsed with
  orjson for a closer look. DuckDB gives no line numbers, so a line's number is its row
  number (``WITH ORDINALITY``); every candidate's ``resourceType`` and ``id`` are checked
  against the re-read line, and the row total against a count of lines, so an ordering
  surprise can only send the file to the other path, never misplace a row.
* **orjson per line** (``.ndjson.gz``, files with malformed or blank lines, or when the DuckDB
  path declines): exact, streaming, and gives every bad line a located fault.

The DuckDB path never reports errors itself: a file with anything odd in it (a line that is
not a JSON object or has no ``resourceType``, a blank line) goes to the exact path, which
names the line.
"""

from __future__ import annotations

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


def _duckdb_summary(path: Path, selector: Selector) -> list[tuple[Any, ...]]:
    """Per resource type: rows, and the ordinal numbers and ids of SQL candidates.

    ``WITH ORDINALITY`` numbers the rows as the reader produces them, without the full
    materialisation a window function needs; the aggregate streams, so memory does not grow
    with the file (only the candidates' numbers are kept)."""
    import duckdb

    cols = "{" + ", ".join(f"'{k}': '{v}'" for k, v in selector.sql_columns().items()) + "}"
    sql = f"""
        SELECT resourceType, count(*) AS n,
               list(ordinality) FILTER (WHERE cand) AS rns,
               list(id) FILTER (WHERE cand) AS ids
        FROM (
            SELECT ordinality, resourceType, id, {selector.sql_candidate()} AS cand
            FROM read_ndjson(?, columns = {cols}, ignore_errors = true,
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
    try:
        summary = _duckdb_summary(path, selector)
    except Exception:  # noqa: BLE001 - any DuckDB refusal just means "use the exact path"
        return None
    out = ScanResult(file=rel, engine="duckdb")
    wanted: list[tuple[int, str, str | None]] = []
    for rtype, n, rns, ids in summary:
        if rtype is None or rtype == "":
            return None  # malformed line or no resourceType: the exact path names it
        out.rows_read += int(n)
        for rn, rid in zip(rns or [], ids or [], strict=True):
            wanted.append((int(rn), rtype, rid))
        out.not_candidate[rtype] += int(n) - len(rns or [])
    wanted.sort()
    if not _collect(path, rel, selector, wanted, out, chunk_bytes):
        return None
    return out


def _collect(path: Path, rel: str, selector: Selector, wanted: list[tuple[int, str, str | None]],
             out: ScanResult, chunk_bytes: int) -> bool:
    """Find the wanted rows by their ids, in order, and check that each is on the line whose
    number DuckDB gave (so a blank line or an ordering surprise is caught). The search is
    ``bytes.find`` from the last hit, so the file is scanned once at C speed and no Python
    work is done per unrelated line. False when anything does not line up."""
    import hashlib

    digest = hashlib.sha256()
    wi = 0
    line_base = 0  # newlines before ``data``
    carry = b""
    with path.open("rb") as fh:
        while True:
            chunk = fh.read(chunk_bytes)
            digest.update(chunk)
            if wi == len(wanted):
                if not chunk:
                    break
                continue  # only hashing is left to do
            data = carry + chunk if chunk else carry
            if chunk:
                cut = data.rfind(b"\n") + 1
                if cut == 0:
                    carry = data
                    continue
                data, carry = data[:cut], data[cut:]
            elif not data:
                break
            pos, count = 0, line_base
            while wi < len(wanted):
                rn, rtype, rid = wanted[wi]
                if rid is None:
                    return False
                hit = data.find(b'"' + rid.encode() + b'"', pos)
                if hit < 0:
                    break
                start = data.rfind(b"\n", 0, hit) + 1
                end = data.find(b"\n", hit)
                end = len(data) if end < 0 else end
                count += data.count(b"\n", pos, start)
                pos = end
                value, fault = parse(data[start:end])
                if (fault is not None or not isinstance(value, dict)
                        or value.get("id") != rid):
                    continue  # the id text also occurs in another line: search on
                if value.get("resourceType") != rtype or count + 1 != rn:
                    return False
                if selector.candidate(value):
                    out.candidates.append(Located(value, rel, rn))
                else:  # the SQL test is a superset: what Python refuses is not a candidate
                    out.not_candidate[rtype] += 1
                wi += 1
            # rows not found in this chunk: continue in the next one from its start
            line_base += data.count(b"\n")
            if not chunk:
                break
    out.sha256 = digest.hexdigest()
    return wi == len(wanted)
