"""The streaming NDJSON reader: round trips, located faults, bounds, and the two scan paths."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cart_registry.errors import InputError
from cart_registry.fhir.bulkscan import scan_duckdb, scan_file, scan_python
from cart_registry.fhir.ndjson import iter_lines, iter_ndjson, open_binary
from cart_registry.fhir.selection import Selector

json_scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(
    allow_nan=False, allow_infinity=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(max_size=10), json_values, max_size=5)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(objs=st.lists(json_objects, max_size=12), chunk=st.integers(1, 64),
       crlf=st.booleans())
def test_valid_objects_round_trip(objs: list[dict[str, object]], chunk: int, crlf: bool) -> None:
    eol = b"\r\n" if crlf else b"\n"
    data = eol.join(orjson.dumps(o) for o in objs)
    items = list(iter_ndjson(io.BytesIO(data), chunk_bytes=chunk))
    assert [i.value for i in items] == objs
    assert [i.line for i in items] == list(range(1, len(objs) + 1))


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(st.binary(max_size=40) | json_objects.map(orjson.dumps), max_size=12),
       chunk=st.integers(1, 32))
def test_garbage_lines_give_located_faults(lines: list[bytes], chunk: int) -> None:
    lines = [ln.replace(b"\n", b" ") for ln in lines]
    data = b"\n".join(lines)
    items = list(iter_ndjson(io.BytesIO(data), chunk_bytes=chunk))  # never raises
    expected = [n for n, ln in enumerate(lines, 1) if ln.strip() and ln.rstrip(b"\r").strip()]
    assert [i.line for i in items] == expected
    for item in items:
        raw = lines[item.line - 1].rstrip(b"\r")
        if item.value is None:
            assert item.fault and item.fault_kind in ("json", "not_object")
            try:
                parsed = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue
            assert not isinstance(parsed, dict)
        else:
            assert item.value == orjson.loads(raw)


def test_line_numbers_count_blank_lines_and_survive_chunking() -> None:
    data = b'{"a":1}\n\n  \n{"b":2}\nnot json\n[1]\n{"c":3}'
    items = list(iter_ndjson(io.BytesIO(data), chunk_bytes=3))
    assert [(i.line, i.fault_kind) for i in items] == [
        (1, None), (4, None), (5, "json"), (6, "not_object"), (7, None)]
    assert "column" in (items[2].fault or "")


def test_over_long_line_is_skipped_without_being_held() -> None:
    data = b'{"a":1}\n' + b'{"x":"' + b"y" * 5000 + b'"}\n{"b":2}\n'
    lines = list(iter_lines(io.BytesIO(data), chunk_bytes=64, max_line_bytes=100))
    assert [(n, v is None) for n, v in lines] == [(1, False), (2, True), (3, False)]


def test_gzip_bomb_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "Observation.ndjson.gz"
    with gzip.open(path, "wb") as fh:
        for _ in range(2000):
            fh.write(b'{"resourceType":"Observation","id":"x"}\n')
    fh2 = open_binary(path, max_decompressed_bytes=10_000)
    with pytest.raises(InputError, match="gzip bomb"):
        for _ in iter_ndjson(fh2, chunk_bytes=1024):
            pass
    ok = scan_python(path, path.name, Selector())
    assert ok.rows_read == 2000 and ok.not_candidate["Observation"] == 2000


def test_corrupt_gzip_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "Patient.ndjson.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(InputError):
        scan_python(path, path.name, Selector())


def _write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def _resources(n: int) -> list[bytes]:
    out = []
    for i in range(n):
        if i % 7 == 0:
            out.append(orjson.dumps({"resourceType": "Patient", "id": f"p{i}"}))
        elif i % 5 == 0:
            out.append(orjson.dumps({
                "resourceType": "Observation", "id": f"o{i}", "status": "final",
                "code": {"coding": [{"system": "https://cart-registry.org/fhir/CodeSystem/"
                                     "registry-observation", "code": "last-contact"}]}}))
        else:
            out.append(orjson.dumps({
                "resourceType": "Observation", "id": f"v{i}", "status": "final",
                "category": [{"coding": [{"code": "vital-signs"}]}],
                "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]}}))
    return out


def test_duckdb_and_python_paths_agree(tmp_path: Path) -> None:
    path = _write(tmp_path / "Mixed.ndjson", _resources(3000))
    sel = Selector()
    fast = scan_duckdb(path, path.name, sel, chunk_bytes=4096)
    exact = scan_python(path, path.name, sel)
    assert fast is not None and fast.engine == "duckdb"
    assert fast.rows_read == exact.rows_read == 3000
    assert fast.not_candidate == exact.not_candidate
    assert [(c.row, c.resource) for c in fast.candidates] == \
        [(c.row, c.resource) for c in exact.candidates]


@pytest.mark.parametrize("defect", [b"not json", b"[1,2]", b'{"id":"no-type"}'])
def test_duckdb_path_declines_odd_files(tmp_path: Path, defect: bytes) -> None:
    lines = _resources(50)
    lines.insert(20, defect)
    path = _write(tmp_path / "Odd.ndjson", lines)
    assert scan_duckdb(path, path.name, Selector()) is None
    res = scan_file(path, path.name, Selector())
    assert res.engine == "python"
    assert [f.line for f in res.faults] == [21]
    assert len(res.candidates) + sum(res.not_candidate.values()) == 50


def test_blank_lines_keep_line_numbers_on_both_paths(tmp_path: Path) -> None:
    lines = _resources(60)
    lines[10:10] = [b"", b"   "]
    path = _write(tmp_path / "Blank.ndjson", lines)
    exact = scan_python(path, path.name, Selector())
    res = scan_file(path, path.name, Selector())
    assert [c.row for c in res.candidates] == [c.row for c in exact.candidates]
    assert res.not_candidate == exact.not_candidate


def test_escaped_codes_are_found_on_the_fast_path(tmp_path: Path) -> None:
    lines = _resources(20)
    lines.append(b'{"resourceType":"Observation","id":"esc","status":"final","code":{"coding":'
                 b'[{"system":"https:\\/\\/cart-registry.org\\/fhir\\/CodeSystem\\/'
                 b'registry-observation","code":"last-contact"}]}}')
    path = _write(tmp_path / "Esc.ndjson", lines)
    res = scan_duckdb(path, path.name, Selector())  # DuckDB and orjson both unescape
    assert res is not None and "esc" in {c.resource["id"] for c in res.candidates}
    assert [c.row for c in res.candidates] == \
        [c.row for c in scan_python(path, path.name, Selector()).candidates]


def test_fast_path_hashes_the_file_in_its_pass(tmp_path: Path) -> None:
    from cart_registry.fsutil import sha256_file

    path = _write(tmp_path / "Hash.ndjson", _resources(500))
    res = scan_duckdb(path, path.name, Selector(), chunk_bytes=1024)
    assert res is not None and res.sha256 == sha256_file(path)


def test_fast_path_declines_shapes_duckdb_would_null(tmp_path: Path) -> None:
    """A ``code`` that is a list of CodeableConcepts is a candidate in Python (and then
    quarantined for its shape); DuckDB with typed columns would make it NULL, so the file
    must go to the exact path rather than count the resource as ignored."""
    lines = _resources(30)
    lines.append(orjson.dumps({
        "resourceType": "Observation", "id": "listcode", "status": "final",
        "code": [{"coding": [{"system": "https://cart-registry.org/fhir/CodeSystem/"
                              "registry-observation", "code": "last-contact"}]}]}))
    path = _write(tmp_path / "Shape.ndjson", lines)
    assert scan_duckdb(path, path.name, Selector()) is None
    res = scan_file(path, path.name, Selector())
    assert "listcode" in {c.resource["id"] for c in res.candidates}


def test_non_text_resource_type_is_a_fault_on_both_paths(tmp_path: Path) -> None:
    lines = _resources(30)
    lines.insert(5, b'{"resourceType":5,"id":"n"}')
    path = _write(tmp_path / "Num.ndjson", lines)
    res = scan_file(path, path.name, Selector())
    assert [(f.line, f.fault_kind) for f in res.faults] == [(6, "no_resource_type")]
    assert "5" not in res.not_candidate


@pytest.mark.parametrize("tail", [b"", b"\n", b"\n\n  \n"])
def test_blank_lines_and_missing_final_newline_stay_on_the_fast_path(
        tmp_path: Path, tail: bytes) -> None:
    from cart_registry.fsutil import sha256_file

    lines = _resources(4000)  # several index blocks
    lines[1500:1500] = [b"", b"  "]
    path = tmp_path / "Tail.ndjson"
    path.write_bytes(b"\n".join(lines) + tail)
    fast = scan_duckdb(path, path.name, Selector(), chunk_bytes=70_000)
    exact = scan_python(path, path.name, Selector())
    assert fast is not None and fast.sha256 == sha256_file(path)
    assert fast.rows_read == exact.rows_read == 4000
    assert fast.not_candidate == exact.not_candidate
    assert [(c.row, c.resource) for c in fast.candidates] == \
        [(c.row, c.resource) for c in exact.candidates]


def test_indexed_fetch_finds_long_lines_across_blocks(tmp_path: Path) -> None:
    lines = _resources(200)
    big = {"resourceType": "Observation", "id": "big", "status": "final",
           "note": [{"text": "x" * 300_000}],
           "code": {"coding": [{"system": "https://cart-registry.org/fhir/CodeSystem/"
                                "registry-observation", "code": "last-contact"}]}}
    lines[100:100] = [orjson.dumps(big)]
    path = _write(tmp_path / "Long.ndjson", lines)
    fast = scan_duckdb(path, path.name, Selector())
    exact = scan_python(path, path.name, Selector())
    assert fast is not None
    assert [(c.row, c.resource) for c in fast.candidates] == \
        [(c.row, c.resource) for c in exact.candidates]
