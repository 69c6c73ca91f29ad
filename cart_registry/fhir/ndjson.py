"""Streaming NDJSON: lines in bounded chunks, each parsed on its own.

Memory holds one chunk (4 MiB by default) plus the line being assembled, whatever the file
size. A line longer than ``max_line_bytes`` is skipped (and reported) without being held. A
``.gz`` file is decompressed as it is read, and reading stops with an ``InputError`` once the
decompressed size passes ``max_decompressed_bytes``: a small gzip file can otherwise expand
to terabytes (a "gzip bomb").

Line numbers are 1-based and count every line, blank ones included, so that they match what an
editor shows. Blank lines are skipped: they are not resources and Bulk Data writers may end a
file with one.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from cart_registry.errors import InputError
from cart_registry.fhir.jsonio import JsonFault, parse

CHUNK_BYTES = 4 << 20
#: one resource per line; 64 MiB is far beyond any sane resource and bounds memory
MAX_LINE_BYTES = 64 << 20
#: decompressed size allowed for one .gz file
MAX_DECOMPRESSED_BYTES = 16 << 30


class _CappedReader:
    """A read-only wrapper that refuses to return more than ``cap`` bytes in total."""

    def __init__(self, inner: IO[bytes], cap: int, name: str) -> None:
        self.inner, self.cap, self.name, self.total = inner, cap, name, 0

    def read(self, n: int = -1) -> bytes:
        try:
            data = self.inner.read(n)
        except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
            raise InputError(f"{self.name}: cannot decompress ({exc})") from exc
        self.total += len(data)
        if self.total > self.cap:
            raise InputError(
                f"{self.name}: decompressed size exceeds {self.cap} bytes; refusing to read "
                "further (possible gzip bomb)",
                hint="raise fhir.max_decompressed_bytes in site.yaml if the file is genuine",
            )
        return data

    def close(self) -> None:
        self.inner.close()


def is_gzip(path: Path) -> bool:
    return path.name.endswith(".gz")


def open_binary(path: Path, *, max_decompressed_bytes: int = MAX_DECOMPRESSED_BYTES,
                name: str | None = None) -> _CappedReader:
    """Open a plain or gzip file for reading bytes; gzip output is capped."""
    label = name or path.name
    raw: IO[bytes] = gzip.open(path, "rb") if is_gzip(path) else path.open("rb")  # type: ignore[assignment]
    cap = max_decompressed_bytes if is_gzip(path) else (1 << 62)
    return _CappedReader(raw, cap, label)


def iter_lines(fh: Any, *, chunk_bytes: int = CHUNK_BYTES,
               max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[tuple[int, bytes | None]]:
    """``(line number, line without its end-of-line)``; ``None`` for an over-long line."""
    line_no = 0
    pending: list[bytes] = []
    pending_len = 0
    too_long = False
    while True:
        chunk = fh.read(chunk_bytes)
        if not chunk:
            break
        start = 0
        while True:
            nl = chunk.find(b"\n", start)
            if nl < 0:
                rest = chunk[start:]
                if not too_long:
                    pending.append(rest)
                    pending_len += len(rest)
                    if pending_len > max_line_bytes:
                        too_long, pending, pending_len = True, [], 0
                break
            line_no += 1
            if too_long:
                yield line_no, None
            else:
                piece = chunk[start:nl]
                if pending:
                    piece = b"".join([*pending, piece])
                if len(piece) > max_line_bytes:
                    yield line_no, None
                else:
                    yield line_no, piece[:-1] if piece.endswith(b"\r") else piece
            pending, pending_len, too_long = [], 0, False
            start = nl + 1
    if too_long:
        yield line_no + 1, None
    elif pending_len:
        piece = b"".join(pending)
        yield line_no + 1, piece[:-1] if piece.endswith(b"\r") else piece


@dataclass(frozen=True, slots=True)
class NdjsonItem:
    """One non-blank line: the parsed object, or why it could not be used."""

    line: int
    value: dict[str, Any] | None
    #: 'json' (not JSON), 'not_object', 'too_long'; None when value is set
    fault_kind: str | None = None
    fault: str | None = None
    #: the raw text of a bad line, cut to 200 characters, for the issue's value
    excerpt: str | None = None


def _excerpt(raw: bytes) -> str:
    return raw[:200].decode("utf-8", errors="replace")


def iter_ndjson(fh: Any, *, chunk_bytes: int = CHUNK_BYTES,
                max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[NdjsonItem]:
    """Every non-blank line as an object or a located fault. Never raises on bad content
    (an ``InputError`` from a capped gzip stream is the caller's to handle)."""
    for line_no, raw in iter_lines(fh, chunk_bytes=chunk_bytes, max_line_bytes=max_line_bytes):
        if raw is None:
            yield NdjsonItem(line_no, None, "too_long",
                             f"line longer than {max_line_bytes} bytes; skipped")
            continue
        if not raw or raw.isspace():
            continue
        value, fault = parse(raw)
        if fault is not None:
            yield NdjsonItem(line_no, None, "json", _fault_text(fault), _excerpt(raw))
        elif not isinstance(value, dict):
            yield NdjsonItem(line_no, None, "not_object",
                             f"a line must hold one JSON object, found {type(value).__name__}",
                             _excerpt(raw))
        else:
            yield NdjsonItem(line_no, value)


def _fault_text(fault: JsonFault) -> str:
    # inside one line the column is what matters; the line is the NDJSON line itself
    return f"not valid JSON at column {fault.column}: {fault.message}"
