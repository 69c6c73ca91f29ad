"""Hostile REDCap and FHIR exports (generated here from a small cut of the samples)."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.adversarial.conftest import Harness
from tests.deid.support import SAMPLE

D, R = "CARTRegistry_DataDictionary.csv", "CARTRegistry_DATA.csv"
SCRIPT = b"<script>alert('xss-probe')</script>"


def _redcap(root: Path) -> Path:
    folder = root / "redcap"
    folder.mkdir(parents=True)
    (folder / D).write_bytes((SAMPLE / "site_redcap" / D).read_bytes())
    lines = (SAMPLE / "site_redcap" / R).read_bytes().split(b"\n")
    (folder / R).write_bytes(b"\n".join(lines[:41]) + b"\n")  # header + 40 rows
    return folder


def _sub(name: str, old: bytes, new: bytes) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        data = (folder / name).read_bytes()
        assert old in data, old
        (folder / name).write_bytes(data.replace(old, new, 1))
    return edit


REDCAP: dict[str, Callable[[Path], object]] = {
    "dict_nul": _sub(D, b"record_id,demographics", b"record\x00_id,demographics"),
    "dict_bad_utf8": _sub(D, b'"Record ID"', b'"Record \xff ID"'),
    "dict_duplicate_field": lambda f: (f / D).write_bytes(
        (f / D).read_bytes() + b'sex,demographics,,radio,"Sex","1, F",,,,,,,,,,,,\n'),
    "dict_empty": lambda f: (f / D).write_bytes(b""),
    "dict_header_only": lambda f: (f / D).write_bytes((f / D).read_bytes().split(b"\n")[0]),
    "dict_not_a_dictionary": lambda f: (f / D).write_bytes(b"a,b\n1,2\n"),
    "dict_field_over_csv_limit": _sub(D, b'"1, Female | 2, Male | 3, Other | 9, Unknown"',
                                      b'"' + b" | ".join(b"%d, x" % i for i in range(40000))
                                      + b'"'),
    "dict_unbalanced_quote": _sub(D, b'"Record ID"', b'"Record ID'),
    "dict_script_labels": _sub(D, b'"Record ID"', b'"' + SCRIPT + b'"'),
    "records_first_column": _sub(R, b"record_id,redcap_event_name",
                                 b"redcap_event_name,record_id"),
    "records_unknown_column": _sub(R, b"record_id,redcap_event_name",
                                   b"record_id,redcap_event_name,`;DROP"),
    "records_script_record_id": _sub(R, b"\n1001,", b"\n" + SCRIPT + b","),
    "records_sql_instance": _sub(R, b"antigen_expression,1,", b"antigen_expression,1';--,"),
    "records_nul": _sub(R, b"\n1001,", b"\n10\x0001,"),
    "records_bad_utf8": _sub(R, b"\n1001,", b"\n10\xff01,"),
    "records_formula_id": _sub(R, b"\n1001,", b"\n=cmd|' /C calc'!A0,"),
    "records_checkbox_traversal": _sub(R, b"cytogen___1", b"cytogen___../../x"),
    "records_unknown_instrument": _sub(R, b"antigen_expression,1,", b"<img src=x>,1,"),
    "records_huge_cell": _sub(R, b"\n1001,", b"\n" + b"9" * (5 << 20) + b","),
    "records_ragged": lambda f: (f / R).write_bytes((f / R).read_bytes() + b"1001,x\n"),
    "records_missing": lambda f: (f / R).unlink(),
}


@pytest.mark.parametrize("name", sorted(REDCAP))
def test_hostile_redcap(harness: Harness, tmp_path: Path, name: str) -> None:
    folder = _redcap(tmp_path)
    REDCAP[name](folder)
    out = harness.attempt(["ingest", str(folder), "--site", "site_redcap"])
    if name.startswith("records_script") or name == "records_formula_id":
        assert out.kind == "accepted" and out.body["totals"]["rows_quarantined"] >= 1


# ---------------------------------------------------------------------------------- FHIR
PATIENTS = [json.loads(x) for x in
            (SAMPLE / "site_fhir" / "bulk" / "Patient.ndjson").read_text().splitlines()[:3]]
OBS_CODE = ('"code":{"coding":[{"system":"https://cart-registry.org/fhir/CodeSystem/'
            'registry-observation","code":"disease-assessment"}]}')


def _deep(n: int) -> bytes:
    ext = '{"url":"http://x","extension":[' * n + '{"url":"http://x","valueString":"y"}' \
        + "]}" * n
    return (f'{{"resourceType":"Observation","id":"deep{n}","status":"final",{OBS_CODE},'
            f'"subject":{{"reference":"Patient/{PATIENTS[0]["id"]}"}},"extension":[{ext}]}}'
            ).encode()


def _gzip_bomb(size: int) -> bytes:
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b"\0" * (1 << 20)
    return b"".join(z.compress(chunk) for _ in range(size >> 20)) + z.flush()


#: name -> (extra Observation.ndjson lines or files, expected extra rows or None)
FHIR: dict[str, dict[str, bytes]] = {
    "bad_utf8_line": {"Observation.ndjson": b'{"resourceType":"Observation","id":"x\xff"}\n'},
    "nul_line": {"Observation.ndjson": b'{"resourceType":"Obs\x00ervation","id":"x"}\n'},
    "deep_brackets_100k": {"Observation.ndjson": b'{"resourceType":"Observation","id":"x",'
                           b'"code":' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"},
    "deep_resource_300": {"Observation.ndjson": _deep(300) + b"\n"},
    "deep_resource_510": {"Observation.ndjson": _deep(510) + b"\n"},
    "huge_line_4mb": {"Observation.ndjson": b'{"resourceType":"Observation","id":"big",'
                      b'"note":[{"text":"' + b"a" * (4 << 20) + b'"}]}\n'},
    "array_line": {"Observation.ndjson": b"[1,2,3]\n"},
    "no_resource_type": {"Observation.ndjson": b'{"id":"x"}\n'},
    "id_traversal": {"Observation.ndjson": b'{"resourceType":"Patient","id":"../../etc/passwd",'
                     b'"gender":"male"}\n'},
    "javascript_reference": {"Observation.ndjson": (
        f'{{"resourceType":"Observation","id":"js1","status":"final",{OBS_CODE},'
        f'"subject":{{"reference":"javascript:alert(1)"}}}}\n').encode()},
    "number_1e999": {"Observation.ndjson": b'{"resourceType":"Observation","id":"n1",'
                     b'"valueQuantity":{"value":1e999}}\n'},
    "integer_5000_digits": {"Observation.ndjson": b'{"resourceType":"Observation","id":"n2",'
                            b'"valueInteger":' + b"9" * 5000 + b"}\n"},
    "script_in_codes": {"Patient.ndjson": b'{"resourceType":"Patient","id":"scr1","gender":"'
                        + SCRIPT + b'"}\n'},
    "bom_line": {"Observation.ndjson": b'\xef\xbb\xbf{"resourceType":"Observation","id":"b"}\n'},
    "duplicate_keys": {"Patient.ndjson": b'{"resourceType":"Patient","id":"dup","id":"dup2",'
                       b'"gender":"male","gender":"female"}\n'},
    "gzip_bomb_64mb": {"Bomb.ndjson.gz": _gzip_bomb(64 << 20)},
    "corrupt_gzip": {"X.ndjson.gz": b"\x1f\x8b\x08\x00garbage"},
    "gzip_ok": {"Extra.ndjson.gz": gzip.compress(b'{"resourceType":"Basic","id":"g"}\n')},
    "manifest_traversal": {"manifest.json": json.dumps(
        {"output": [{"type": "Patient", "url": "../../../../etc/passwd"}]}).encode()},
    "manifest_garbage": {"manifest.json": b"\xff\x00"},
    "manifest_deep": {"manifest.json": b"[" * 100_000 + b"]" * 100_000},
    "bundle_deep": {"b.json": b'{"resourceType":"Bundle","type":"collection","entry":'
                    + b"[" * 50_000 + b"]" * 50_000 + b"}"},
    "bundle_empty_file": {"e.json": b""},
    "bundle_not_object": {"e.json": b"[]"},
    "bundle_entry_garbage": {"e.json": json.dumps(
        {"resourceType": "Bundle", "type": "collection",
         "entry": [1, "x", None, {"resource": 5}, {"fullUrl": {"a": 1}}]}).encode()},
    "bundle_shell_deep_600": {"d.json": b'{"resourceType":"Bundle","type":"collection",'
                              b'"extension":[' + _deep(600)[:-1] + b"}]}"},
    "json_named_like_manifest": {"sub/manifest.json": b"{}"},
    "nothing_but_garbage": {"Patient.ndjson": b"\x00" * 1000},
}


def _fhir(root: Path, extra: dict[str, bytes]) -> Path:
    folder = root / "fhir"
    folder.mkdir(parents=True)
    (folder / "Patient.ndjson").write_text("".join(json.dumps(p) + "\n" for p in PATIENTS))
    for name, data in extra.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab") as fh:
            fh.write(data)
    return folder


@pytest.fixture()
def small_gzip_cap(harness: Harness) -> object:
    """The FHIR site with a 32 MB decompression cap (the bomb is 64 MB)."""
    path = harness.project.site_mapping_dir("site_fhir") / "site.yaml"
    saved = path.read_text()
    path.write_text(saved.replace("strict: false", "strict: false\n    max_decompressed_bytes: "
                                                   f"{32 << 20}"))
    yield None
    path.write_text(saved)


@pytest.mark.parametrize("name", sorted(FHIR))
def test_hostile_fhir(harness: Harness, tmp_path: Path, name: str, small_gzip_cap: object
                      ) -> None:
    folder = _fhir(tmp_path, FHIR[name])
    lines = sum(1 for p in folder.rglob("*.ndjson") for x in p.read_bytes().split(b"\n")
                if x.strip())
    out = harness.attempt(["ingest", str(folder), "--site", "site_fhir"])
    if out.kind == "accepted":
        read = out.body["totals"]["rows_read"]
        assert read >= lines  # every line counted (bundles and gz files add theirs)
    if name in ("gzip_bomb_64mb", "corrupt_gzip", "deep_resource_510", "nul_line"):
        assert out.kind == "accepted" and out.body["totals"]["rows_quarantined"] >= 1
