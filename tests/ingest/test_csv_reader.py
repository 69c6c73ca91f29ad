"""The CSV reader: every cell comes back as the text that was written, with its data row."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cart_registry.errors import InputError
from cart_registry.readers.base import FILE_COL, KEY_COL, ROW_COL
from cart_registry.readers.csv_reader import CsvFormat, read_csv_text
from tests.mapping.helpers import props

# any text a cell can hold: CSV cannot carry NUL, and surrogates are not text
cell = st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
               max_size=12)
rows = st.lists(st.tuples(cell, cell, cell), min_size=1, max_size=15)


def _write(path: Path, header: list[str], body: list[tuple[str, ...]], *, delimiter: str = ",",
           newline: str = "\n", encoding: str = "utf-8") -> None:
    buf = io.StringIO()
    # csv.writer quotes a field holding a character of the line terminator only: with "\n"
    # lines a bare "\r" would go out unquoted (an ambiguous file), so quote every field then
    quoting = csv.QUOTE_MINIMAL if newline == "\r\n" else csv.QUOTE_ALL
    w = csv.writer(buf, delimiter=delimiter, lineterminator=newline, quoting=quoting)
    w.writerow(header)
    w.writerows(body)
    path.write_bytes(buf.getvalue().encode(encoding))


def _expected(body: list[tuple[str, ...]]) -> list[tuple[str | None, ...]]:
    # an empty cell and a missing one are the same thing in CSV: both read as null; a row of
    # nothing but one empty cell is a blank line, which CSV readers skip
    return [tuple(v if v != "" else None for v in r) for r in body]


@props(80)
@given(body=rows, delimiter=st.sampled_from([",", ";", "\t"]), newline=st.sampled_from(["\n", "\r\n"]),
       careful=st.booleans())
def test_text_cells_round_trip(tmp_path: Path, body: list[tuple[str, str, str]], delimiter: str,
                               newline: str, careful: bool) -> None:
    path = tmp_path / "t.csv"
    _write(path, ["a", "b", "c"], body, delimiter=delimiter, newline=newline)
    out = read_csv_text(path, CsvFormat(delimiter=delimiter), careful=careful)
    assert out.columns == ["a", "b", "c"]
    got = list(out.frame.select("a", "b", "c").iter_rows())
    assert got == _expected(body)
    assert out.frame.get_column(ROW_COL).to_list() == list(range(1, len(body) + 1))
    assert out.rows_read == len(body) and not out.broken


@props(25)
@given(body=rows)
def test_latin1_and_cp1252_round_trip(tmp_path: Path, body: list[tuple[str, str, str]]) -> None:
    body = [tuple(v.encode("cp1252", "ignore").decode("cp1252") for v in r) for r in body]
    for enc in ("latin-1", "cp1252"):
        safe = [tuple(v.encode(enc, "ignore").decode(enc) for v in r) for r in body]
        path = tmp_path / f"{enc}.csv"
        _write(path, ["a", "b", "c"], safe, delimiter=";", newline="\r\n", encoding=enc)
        out = read_csv_text(path, CsvFormat(encoding=enc, delimiter=";"))
        assert list(out.frame.select("a", "b", "c").iter_rows()) == _expected(safe)


def test_detects_encodings(tmp_path: Path) -> None:
    cases = {"utf-8": "José;1\n".encode(), "utf-8-sig": "\ufeffJosé;1\n".encode(),
             "cp1252": "José;€\n".encode("cp1252")}
    for want, data in cases.items():
        path = tmp_path / f"{want}.csv"
        path.write_bytes(b"name;n\n" if want != "utf-8-sig" else b"")
        with path.open("ab") as fh:
            fh.write(data if want != "utf-8-sig" else "\ufeffname;n\nJosé;1\n".encode())
        out = read_csv_text(path, CsvFormat(encoding="detect", delimiter=";"))
        assert out.encoding == want and out.frame.get_column("name").to_list() == ["José"]


def test_quoted_newlines_count_as_one_data_row_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text('id,note\n1,"two\nlines"\n\n2,x\n', encoding="utf-8")
    for careful in (False, True):
        out = read_csv_text(path, CsvFormat(), careful=careful)
        assert out.frame.select("id", "note", ROW_COL).rows() == [("1", "two\nlines", 1), ("2", "x", 2)]
        assert out.frame.get_column(KEY_COL).null_count() == 2
        assert set(out.frame.get_column(FILE_COL)) == {"q.csv"}


def test_ragged_rows_are_set_aside_with_their_row(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,12\n", encoding="utf-8")
    out = read_csv_text(path, CsvFormat())
    assert out.frame.select("a", ROW_COL).rows() == [("1", 1), ("10", 4)]
    assert [(b["row"], b["reason_code"]) for b in out.broken] == [(2, "ragged_row"), (3, "ragged_row")]
    assert out.rows_read == 4


def test_surplus_empty_fields_at_the_end_of_a_line_are_ragged(tmp_path: Path) -> None:
    # DuckDB's strict mode drops trailing empty fields; the reader must not
    path = tmp_path / "t.csv"
    path.write_bytes(b"a;b;c\r\n1;2;\r\n3;4;5;\r\n6;7;8\r\n")
    out = read_csv_text(path, CsvFormat(delimiter=";"))
    assert out.frame.select("a", "c", ROW_COL).rows() == [("1", None, 1), ("6", "8", 3)]
    assert [b["row"] for b in out.broken] == [2]


@pytest.mark.parametrize("content,message", [
    (b"", "the file is empty (0 bytes)"),
    (b"\n\n", "no header row"),
    (b"a,b,a\n1,2,3\n", "duplicate column 'a' (columns 1 and 3)"),
    (b"a,,c\n1,2,3\n", "column 2 has no name"),
    ("a,b\nJos\u00e9,1\n".encode("latin-1"), "line 2: byte 0xe9 is not valid utf-8"),
])
def test_unreadable_files_name_file_and_place(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(InputError) as exc:
        read_csv_text(path, CsvFormat())
    assert message in str(exc.value) and "bad.csv" in str(exc.value)


def test_header_only_file_has_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text("a,b\r\n", encoding="utf-8")
    out = read_csv_text(path, CsvFormat())
    assert out.rows_read == 0 and out.columns == ["a", "b"] and out.frame.height == 0


# cells made of what breaks CSV readers: delimiters, quotes, line ends, blanks, non-ASCII;
# quoted cells may hold anything, plain ones mostly safe text (a dangerous piece now and then)
_safe = ["x", "7", " ", "é", "\ufeff", "\t", ""]
_danger = [";", ",", '"', "\n", "\r"]
_plain = st.lists(st.sampled_from(_safe * 6 + _danger), max_size=4).map("".join)
_quoted = st.lists(st.sampled_from(_safe + _danger), max_size=4).map("".join)
_cell = st.one_of(st.tuples(_plain, st.just("plain")), st.tuples(_quoted, st.just("quoted")))
# mostly three cells a record, sometimes two or four (ragged), sometimes none (blank line)
_record = st.sampled_from([3] * 8 + [0, 2, 4]).flatmap(
    lambda n: st.lists(_cell, min_size=n, max_size=n))
_records = st.tuples(st.lists(_record, max_size=8), st.sampled_from(["\n", "\r\n"])).map(
    lambda t: [(r, t[1]) for r in t[0]])


def _render(records: list[tuple[list[tuple[str, str]], str]], delimiter: str) -> str:
    lines = []
    for cells, end in records:
        out = [('"' + text.replace('"', '""') + '"') if how == "quoted" else text
               for text, how in cells]
        lines.append(delimiter.join(out) + end)
    return "".join(lines)


@props(200)
@given(records=_records, delimiter=st.sampled_from([",", ";"]),
       encoding=st.sampled_from(["utf-8", "utf-8", "latin-1"]))
def test_fast_paths_read_what_the_careful_path_reads(
        tmp_path_factory: pytest.TempPathFactory,
        records: list[tuple[list[tuple[str, str]], str]], delimiter: str, encoding: str) -> None:
    """Differential: whatever path accepts a file (polars for UTF-8, DuckDB for Latin-1 and
    what polars refuses), cells, rows and broken rows are those of Python's csv module; a
    file one path refuses, the other refuses too."""
    path = tmp_path_factory.mktemp("diff") / "d.csv"
    text = f"a{delimiter}b{delimiter}c\n{_render(records, delimiter)}"
    path.write_bytes(text.encode(encoding, errors="replace"))
    fmt = CsvFormat(delimiter=delimiter, encoding=encoding)
    outcomes = []
    for careful in (False, True):
        try:
            out = read_csv_text(path, fmt, careful=careful)
        except InputError as exc:
            outcomes.append(("refused", str(exc)))
            continue
        outcomes.append(("read", out.frame.select("a", "b", "c", ROW_COL).rows(),
                         [(b["row"], b["raw"]) for b in out.broken], out.rows_read))
    assert outcomes[0] == outcomes[1]


# files the polars path must take (the differential test above then covers their cells) and
# files it must hand on, each for the reason the module docstring gives
_POLARS_TAKES = [
    b'a,b,c\n1,2,3\n',
    b'a,b,c\r\n1,"x,y",3\r\n4,,\r\n',           # quoted delimiter, CRLF, empty cells
    b'a,b,c\n"",""" q",3\n"two\nlines",5,6',       # quoted empty, escaped quote, quoted newline
    b'a,"b,1",c\n1,2,3\n',                          # a delimiter inside a quoted header name
]
_POLARS_HANDS_ON = [
    b'a,b,c\n1,2\n',            # missing field (polars pads it)
    b'a,b,c\n1,2,3\n\n4,5,6\n',  # blank line (polars returns it as a record)
    b'a,b,c\n1,2,3,\n',         # surplus empty field
    b'a,b,c\n1\r,2,3\n',        # bare carriage return
]


@pytest.mark.parametrize("data", _POLARS_TAKES)
def test_the_polars_path_takes_well_formed_files(tmp_path: Path, data: bytes) -> None:
    import cart_registry.readers.csv_reader as reader

    path = tmp_path / "t.csv"
    path.write_bytes(data)
    names = reader.read_csv_text(path, CsvFormat(), careful=True).columns
    fast = reader._polars_read(path, names, CsvFormat())
    assert fast is not None
    careful = read_csv_text(path, CsvFormat(), careful=True).frame.select(names)
    assert fast.rows() == careful.rows()


@pytest.mark.parametrize("data", _POLARS_HANDS_ON)
def test_the_polars_path_hands_on_what_it_would_misread(tmp_path: Path, data: bytes) -> None:
    import cart_registry.readers.csv_reader as reader

    path = tmp_path / "t.csv"
    path.write_bytes(data)
    assert reader._polars_read(path, ["a", "b", "c"], CsvFormat()) is None


def test_delimiters_inside_values_are_counted_over_every_batch_of_rows(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The count of delimiters inside quoted values runs over batches of rows: a batch
    missed or counted twice would take a padded record or refuse a good file."""
    import cart_registry.readers.csv_reader as reader

    monkeypatch.setattr(reader, "_COUNT_BATCH", 2)
    rows = [f'{i},"x,{i},y",{i}\n' for i in range(7)]  # two delimiters inside each value
    good = tmp_path / "good.csv"
    good.write_text("a,b,c\n" + "".join(rows), encoding="utf-8")
    fast = reader._polars_read(good, ["a", "b", "c"], CsvFormat())
    assert fast is not None and fast.height == 7
    assert fast.get_column("b").to_list()[-1] == "x,6,y"
    # the last record (in the last batch) lacks a field: polars pads it, the count says so
    short = tmp_path / "short.csv"
    short.write_text("a,b,c\n" + "".join(rows[:-1]) + '6,"x,6,y"\n', encoding="utf-8")
    assert reader._polars_read(short, ["a", "b", "c"], CsvFormat()) is None
