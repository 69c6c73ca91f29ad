"""Generic CSV: every cell as text, with its 1-based data row, whatever the site's dialect.

Reading has two fast paths and a careful path, and a file takes the first that accepts it.

1. UTF-8 files whose dialect polars speaks (one-byte delimiter, quotes escaped by doubling,
   at least two columns): polars parses every cell as text. It refuses a record with
   surplus fields (even empty ones) and a stray quote, but pads a record with missing
   fields with nulls and returns a blank line as a record; those show in arithmetic on
   the delimiter bytes, counted over a memory map: every delimiter is a separator or sits
   inside a quoted value, so all records have the header's n fields exactly when the
   separators come to n - 1 a record. A file with a bare carriage return (which polars
   and the csv module split differently) takes the next path. Parsing is what costs, and
   polars' parser is about three times faster than getting DuckDB's strings into Arrow.
2. DuckDB's ``read_csv`` with the declared dialect, every column VARCHAR, ``strict_mode``
   (Latin-1, other escapes, files the first path refused).
3. When DuckDB rejects a row (a ragged row, a stray quote), the file is read with Python's
   ``csv`` module, which keeps the data row numbers right: the broken rows are quarantined
   with their number and raw text, and the others are read as usual.

Encoding problems are refused with the line where they occur, since a wrongly decoded file
has wrong values everywhere, not only in one row.

A "data row" is a non-blank record after the header: blank lines are skipped by both paths,
and a quoted value may span lines, so ``source_row`` counts records, not physical lines.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cart_registry.errors import InputError
from cart_registry.readers.base import FILE_COL, KEY_COL, ROW_COL

if TYPE_CHECKING:
    import polars as pl

#: encodings DuckDB decodes itself; others are transcoded to UTF-8 first
_DUCKDB_ENCODINGS = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "latin-1": "latin-1",
                     "utf-16": "utf-16"}
_HEAD_BYTES = 1 << 16
#: rows whose text is joined at a time to count delimiters inside values
_COUNT_BATCH = 1 << 18


@dataclass(frozen=True)
class CsvFormat:
    encoding: str = "utf-8"
    delimiter: str = ","
    quote: str = '"'
    escape: str | None = None


@dataclass
class CsvText:
    """One CSV file read as text."""

    #: site columns (all ``pl.String``, in file order) plus the locator columns
    frame: pl.DataFrame
    columns: list[str]
    #: data rows in the file, broken ones included
    rows_read: int
    #: encoding actually used (differs from the declared one with 'detect')
    encoding: str
    #: rows that could not be split into the header's columns: dicts with row, reason, raw
    broken: list[dict[str, Any]] = field(default_factory=list)


def detect_encoding(data: bytes) -> str:
    """UTF-8 (with or without BOM) when the bytes decode as UTF-8, UTF-16 with a BOM, else
    Windows-1252 (a superset of Latin-1 for printable text), else Latin-1."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        data.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def decode_all(data: bytes, encoding: str, display: str) -> str:
    """Decode a whole file, refusing it with the line of the first undecodable byte."""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 1].hex()
        raise InputError(
            f"{display}: line {_line_of(data, exc.start)}: byte 0x{bad} is not valid "
            f"{encoding}; is the file in another encoding?",
            hint="set reader.encoding in the site's site.yaml (e.g. latin-1, cp1252 or detect)",
        ) from None
    return text[1:] if text.startswith("\ufeff") else text


def _reader_kwargs(fmt: CsvFormat) -> dict[str, Any]:
    kw: dict[str, Any] = {"delimiter": fmt.delimiter, "quotechar": fmt.quote, "strict": True}
    if fmt.escape and fmt.escape != fmt.quote:
        kw.update(escapechar=fmt.escape, doublequote=False)
    return kw


def _parse_header(head: str, fmt: CsvFormat, display: str) -> list[str]:
    try:
        rows = csv.reader(io.StringIO(head, newline=""), **_reader_kwargs(fmt))
        first = next((r for r in rows if r), None)
    except csv.Error as exc:
        raise InputError(f"{display}: header row: {exc}") from None
    if first is None:
        raise InputError(f"{display}: no header row (the file holds only blank lines)")
    names = [c.strip() for c in first]
    if names and names[0].startswith("\ufeff"):
        names[0] = names[0][1:]
    for i, n in enumerate(names, start=1):
        if not n:
            raise InputError(f"{display}: header: column {i} has no name")
    seen: dict[str, int] = {}
    for i, n in enumerate(names, start=1):
        if n in seen:
            raise InputError(
                f"{display}: header: duplicate column {n!r} (columns {seen[n]} and {i})"
            )
        seen[n] = i
    return names


def _head_text(path: Path, encoding: str, display: str) -> str:
    """Enough decoded text from the start of the file to hold the header row."""
    dec = codecs.getincrementaldecoder(encoding)(errors="strict")
    text = ""
    with path.open("rb") as fh:
        while True:
            chunk = fh.read(_HEAD_BYTES)
            try:
                text += dec.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                # only the header matters here; a bad byte further down is found (with its
                # line) when the data are read
                text += chunk[: exc.start].decode(encoding, errors="ignore")
                if "\n" not in text:
                    raise InputError(
                        f"{display}: line 1 (header): not valid {encoding}; is the file in "
                        "another encoding?",
                        hint="set reader.encoding in the site's site.yaml (e.g. latin-1 or detect)",
                    ) from None
                return text
            # a complete first record ends with a newline outside quotes; two lines are enough
            # unless a quoted header spans lines, so keep reading while quotes are unbalanced
            if not chunk or ("\n" in text and text.split("\n", 1)[0].count('"') % 2 == 0):
                return text


def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _duckdb_read(path: Path, names: list[str], fmt: CsvFormat, encoding: str) -> Any | None:
    """An Arrow table from DuckDB's strict CSV reader, or None when DuckDB cannot parse the
    file (the careful path then reads it and says where it breaks)."""
    import duckdb

    cols = "{" + ", ".join(f"{_sql_str(n)}: 'VARCHAR'" for n in names) + "}"
    escape = fmt.escape or fmt.quote
    sql = (
        f"SELECT * FROM read_csv({_sql_str(str(path))}, columns = {cols}, header = true, "
        f"auto_detect = false, delim = {_sql_str(fmt.delimiter)}, quote = {_sql_str(fmt.quote)}, "
        f"escape = {_sql_str(escape)}, strict_mode = true, "
        f"null_padding = false, encoding = {_sql_str(encoding)}, max_line_size = 100000000)"
    )
    # No store_rejects: DuckDB records one reject per surplus field, each with the whole
    # line, so one line of 200 000 delimiters took minutes and gigabytes. Any refusal sends
    # the file to the careful path, which locates every broken row (and bad byte) itself.
    con = duckdb.connect()
    try:
        return con.sql(sql).to_arrow_table()
    except duckdb.Error:
        return None
    finally:
        con.close()


_SCAN_BLOCK = 1 << 23


@dataclass(frozen=True)
class ByteCensus:
    """What a scan of a file's bytes found (see ``_byte_census``)."""

    delimiters: int = 0
    #: any quote byte
    quoted: bool = False
    #: two quote bytes in a row: an empty quoted field ("") or an escaped quote
    quote_pair: bool = False
    #: a carriage return not followed by a line feed
    lone_cr: bool = False


def _byte_census(path: Path, delimiter: bytes, quote: bytes) -> ByteCensus:
    """Delimiters, quotes and bare carriage returns of a file, counted in blocks over a
    memory map (bounded memory, no Python loop over bytes)."""
    import mmap

    if path.stat().st_size == 0:
        return ByteCensus()
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        return _census_of(memoryview(mm), delimiter[0], quote[0])


def _census_of(buf: memoryview, d: int, q: int) -> ByteCensus:
    import numpy as np

    # the views made here die with this frame, before the caller closes the memory map
    with buf:
        data = np.frombuffer(buf, dtype=np.uint8)
        delims, quoted, pair, lone_cr = 0, False, False, False
        for i in range(0, data.size, _SCAN_BLOCK):
            block = data[i : i + _SCAN_BLOCK + 1]  # one byte more: a pair across blocks
            body = block[:_SCAN_BLOCK]
            nxt = block[1:]
            delims += int(np.count_nonzero(body == d))
            quotes = body == q
            if quotes.any():
                quoted = True
                pair = pair or bool((quotes[: nxt.size] & (nxt == q)).any())
            cr = body == 13
            if cr.any():
                follows_lf = np.zeros(body.size, dtype=bool)
                follows_lf[: nxt.size] = nxt == 10
                lone_cr = lone_cr or bool((cr & ~follows_lf).any())
        del data, block, body, nxt, quotes, cr
    return ByteCensus(delims, quoted, pair, lone_cr)


def _separators_add_up(frame: pl.DataFrame, names: list[str], fmt: CsvFormat,
                       census: ByteCensus) -> bool:
    """Did every record of ``frame`` have the header's n fields in the file?

    Every delimiter byte of a file is a separator or sits inside a quoted value (header
    included), so the records all had n fields exactly when the separators come to n - 1 a
    record. This finds what the fast parsers let through: polars pads a record with missing
    fields, DuckDB's strict mode drops surplus empty fields at the end of a record (also
    when a quoted newline splits the record over lines), and polars returns a blank line as
    a record (DuckDB skips it, as the csv module does: no separators, no record).
    """
    import polars as pl

    n = len(names)
    header = n - 1 + sum(name.count(fmt.delimiter) for name in names)
    inside = 0
    if census.quoted:
        # counted in each column's text joined into one string per batch of rows: one fast
        # scan instead of a search set up for every cell (batches keep each string small)
        for start in range(0, frame.height, _COUNT_BATCH):
            inside += int(frame.slice(start, _COUNT_BATCH).select(pl.sum_horizontal(
                pl.col(c).str.join("").str.count_matches(fmt.delimiter, literal=True)
                for c in names
            )).item() or 0)
    return census.delimiters - header - inside == frame.height * (n - 1)


def _polars_read(path: Path, names: list[str], fmt: CsvFormat) -> pl.DataFrame | None:
    """The first fast path (see the module docstring): a frame of text cells, blank cells
    null, or None when the file must take another path."""
    import polars as pl

    n = len(names)
    if n < 2 or len(fmt.delimiter.encode()) != 1 or len(fmt.quote.encode()) != 1 or (
            fmt.escape not in (None, fmt.quote)):
        return None
    census = _byte_census(path, fmt.delimiter.encode(), fmt.quote.encode())
    if census.lone_cr:
        return None  # polars drops a bare CR before a delimiter; the csv module ends the line
    try:
        frame = pl.read_csv(
            path, has_header=True, new_columns=names, separator=fmt.delimiter,
            quote_char=fmt.quote, infer_schema=False, encoding="utf8", null_values=None,
            comment_prefix=None, truncate_ragged_lines=False, raise_if_empty=False,
            try_parse_dates=False)
    except Exception:  # noqa: BLE001 - any refusal sends the file down the next path
        return None
    if frame.columns != names or not _separators_add_up(frame, names, fmt, census):
        return None
    if not census.quote_pair:
        return frame  # every empty cell is already null
    # polars reads a quoted empty field ("") as an empty string; a blank cell is null
    return frame.with_columns(
        pl.when(pl.col(c).str.len_bytes() > 0).then(pl.col(c)).alias(c) for c in names)


def _python_read(text: str, names: list[str], fmt: CsvFormat, display: str) -> tuple[dict[str, list[str | None]], list[int], list[dict[str, Any]], int]:
    """The careful path: columns, data row numbers, broken rows, rows read."""
    cols: dict[str, list[str | None]] = {n: [] for n in names}
    rows: list[int] = []
    broken: list[dict[str, Any]] = []
    n = len(names)
    reader = csv.reader(io.StringIO(text, newline=""), **_reader_kwargs(fmt))
    row = 0
    header_seen = False
    try:
        for rec in reader:
            if not rec:
                continue  # blank line
            if not header_seen:
                header_seen = True
                continue
            row += 1
            if len(rec) != n:
                broken.append({
                    "row": row,
                    "reason_code": "ragged_row",
                    "reason": f"row has {len(rec)} fields, the header has {n}",
                    "raw": json.dumps(rec, ensure_ascii=False),
                })
                continue
            rows.append(row)
            for name, value in zip(names, rec, strict=True):
                cols[name].append(value if value != "" else None)
    except csv.Error as exc:
        raise InputError(f"{display}: data row {row + 1} (line {reader.line_num}): {exc}") from None
    return cols, rows, broken, row


def read_csv_text(
    path: Path,
    fmt: CsvFormat,
    *,
    display: str | None = None,
    workdir: Path | None = None,
    careful: bool = False,
) -> CsvText:
    """Read one CSV file as text with its locator columns.

    ``display`` names the file in messages and in ``_source_file`` (default: the file name).
    ``careful`` forces the Python path (tests use it to check both paths agree).
    """
    import polars as pl

    shown = display or path.name
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"{shown}: cannot read ({exc.strerror})") from None
    if size == 0:
        raise InputError(f"{shown}: the file is empty (0 bytes); expected a header row")

    encoding = fmt.encoding
    data: bytes | None = None
    if encoding == "detect":
        data = path.read_bytes()
        encoding = detect_encoding(data)
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InputError(f"{shown}: unknown encoding {encoding!r}") from None
    names = _parse_header(_head_text(path, encoding, shown), fmt, shown)

    def frame_of(cols: dict[str, list[str | None]], rows: list[int]) -> pl.DataFrame:
        df = pl.DataFrame(cols, schema={n: pl.String for n in names})
        return df.with_columns(
            pl.Series(ROW_COL, rows, dtype=pl.Int64),
            pl.lit(None, dtype=pl.String).alias(KEY_COL),
            pl.lit(shown, dtype=pl.String).alias(FILE_COL),
        )

    def with_locators(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(
            pl.int_range(1, frame.height + 1, dtype=pl.Int64).alias(ROW_COL),
            pl.lit(None, dtype=pl.String).alias(KEY_COL),
            pl.lit(shown, dtype=pl.String).alias(FILE_COL),
        )

    def careful_read() -> CsvText:
        raw = data if data is not None else path.read_bytes()
        text = decode_all(raw, encoding, shown)
        cols, rows, broken, total = _python_read(text, names, fmt, shown)
        return CsvText(frame_of(cols, rows), names, total, encoding, broken)

    if careful:
        return careful_read()

    source = path
    duck_enc = _DUCKDB_ENCODINGS.get(codecs.lookup(encoding).name.replace("_", "-"))
    if duck_enc == "utf-16":
        return careful_read()  # rare, and byte-level checks below assume an ASCII superset
    if duck_enc == "utf-8":
        fast = _polars_read(path, names, fmt)
        if fast is not None:
            return CsvText(with_locators(fast), names, fast.height, encoding, [])
    if duck_enc is None and codecs.lookup(encoding).name == "iso8859-1":
        duck_enc = "latin-1"
    tmpdir: Path | None = None
    if duck_enc is None:
        # DuckDB decodes UTF-8, UTF-16 and Latin-1 itself; anything else (cp1252) is
        # transcoded once into the work folder
        raw = data if data is not None else path.read_bytes()
        text = decode_all(raw, encoding, shown)
        tmpdir = Path(tempfile.mkdtemp(prefix=".transcode-", dir=workdir))
        source = tmpdir / "utf8.csv"
        source.write_text(text, encoding="utf-8", newline="")
        duck_enc = "utf-8"
    try:
        table = _duckdb_read(source, names, fmt, duck_enc)
        if table is not None:
            frame = pl.from_arrow(table)
            assert isinstance(frame, pl.DataFrame)
            d, q = fmt.delimiter.encode(duck_enc), fmt.quote.encode(duck_enc)
            if len(d) != 1 or len(q) != 1:
                table = None  # the byte census counts one-byte delimiters and quotes
            elif not _separators_add_up(frame, names, fmt, _byte_census(source, d, q)):
                table = None
    finally:
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)
    if table is None:
        return careful_read()
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return CsvText(with_locators(frame), names, frame.height, encoding, [])
