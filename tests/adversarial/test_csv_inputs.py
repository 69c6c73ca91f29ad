"""Hostile CSV exports (generated here): encodings, NUL bytes, huge fields and lines,
quotes, formulas, markup and SQL in cells. Each is refused in one line or ingested with every
row accounted for."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.adversarial.conftest import Harness, count_csv_rows

H = b"pid,sex,dob,dx\n"
OK_ROW = b"P1,F,01/02/2010,2014-05-02\n"
SCRIPT = b"<script>alert('xss-probe')</script>"
#: name -> patients.csv bytes; None as expected rows means "count them with csv"
CASES: dict[str, bytes] = {
    "bad_utf8_cell": H + b"P1,F,01/02/2010,\xff\xfe\n",
    "bad_utf8_header": b"pid,s\xffx,dob,dx\n" + OK_ROW,
    "overlong_utf8": H + b"P1,\xc0\xafF,01/02/2010,x\n",
    "utf16_without_bom": (H + OK_ROW).decode().encode("utf-16-le"),
    "utf16_with_bom": b"\xff\xfe" + (H + OK_ROW).decode().encode("utf-16-le"),
    "nul_in_cell": H + b"P1,F\x00,01/02/2010,x\n",
    "nul_in_header": b"pid,se\x00x,dob,dx\n" + OK_ROW,
    "nul_only": b"\x00" * 64,
    "huge_field_8mb": H + b"P1,F,01/02/2010," + b"9" * (8 << 20) + b"\n",
    "huge_quoted_field": H + b'P1,F,01/02/2010,"' + b"a,\n" * (1 << 18) + b'"\n',
    "line_with_200k_fields": H + b"P1,F,01/02/2010,x" + b",y" * 200_000 + b"\n",
    "many_short_rows": H + b"P1,F,01/02/2010,x\n" * 50_000,
    "lone_cr_line_ends": (H + OK_ROW + b"P2,M,01/02/2011,x\n").replace(b"\n", b"\r"),
    "mixed_line_ends": H + b"P1,F,01/02/2010,x\r\nP2,M,01/02/2011,x\rP3,F,02/02/2012,x\n",
    "unbalanced_quote": H + b'P1,"F,01/02/2010,x\nP2,M,01/02/2011,x\n',
    "quote_in_unquoted": H + b'P"1,F,01/02/2010,x\n',
    "bom_in_the_middle": H + "P1,\ufeffF,01/02/2010,x\n".encode(),
    "only_a_bom": b"\xef\xbb\xbf",
    "empty_file": b"",
    "header_only": H,
    "blank_lines_only": H + b"\n\n\r\n",
    "duplicate_header": b"pid,pid,dob,dx\n" + OK_ROW,
    "blank_header_name": b"pid,,dob,dx\n" + OK_ROW,
    "ragged_rows": H + b"P1,F\nP2,M,01/02/2011,x,extra\n" + OK_ROW,
    "formula_cells": H + b"=HYPERLINK(\"http://evil\"),+cmd|' /C calc'!A0,@SUM(1+1),-1+1\n",
    "dde_payload": H + b"P1,=cmd|'/c calc'!A1,01/02/2010,=2+5\n",
    "html_and_script": H + b"<img src=x onerror=alert(1)>," + SCRIPT + b",01/02/2010,x\n",
    "sql_metacharacters": H + b"P1';DROP TABLE store.patient;--,F' OR '1'='1,01/02/2010,"
                              b"\"x\"\"); DELETE FROM admin.audit_log; --\"\n",
    "duckdb_functions": H + b"P1,read_csv('/etc/passwd'),01/02/2010,x\n",
    "path_in_values": H + b"../../etc/passwd,F,01/02/2010,/dev/zero\n",
    "one_megabyte_date": H + b"P1,F," + b"1" * (1 << 20) + b",x\n",
    "rtl_override_id": H + "P\u202e1,F,01/02/2010,x\n".encode(),
    "control_characters": H + b"P1\x1a\x0c\x1b[31m,F,01/02/2010,x\n",
    "quoted_newline_in_id": H + b'"P\n1",F,01/02/2010,x\n',
    "integer_overflow_date": H + b"P1,F,99999999999999999999,x\n",
    "excel_serial_out_of_range": H + b"P1,F,99999999,x\n",
    "impossible_dates": H + b"P1,F,31/02/2020,2021-13-01\nP2,M,00/00/0000,0000-00-00\n",
    "emoji_and_astral": H + "P1,F,01/02/2010,\U0001f9ec\U000e0001\n".encode(),
    "wide_header_5000": b",".join(b"c%d" % i for i in range(5000)) + b"\n1\n",
    "semicolon_file": (H + OK_ROW).replace(b",", b";"),
}


def _export(root: Path, patients: bytes) -> Path:
    folder = root / "export"
    folder.mkdir(parents=True)
    (folder / "patients.csv").write_bytes(patients)
    (folder / "infusions.csv").write_bytes(b"pid,n,product,date\n")
    (folder / "followup.csv").write_bytes(b"pid,last,vital,detail\nP1,2023-01-01,A,\n")
    return folder


def _expected(data: bytes) -> int | None:
    try:
        return count_csv_rows(data) + 1  # + followup.csv's row
    except (UnicodeDecodeError, Exception):  # noqa: BLE001 - uncountable: refused anyway
        return None


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_csv(harness: Harness, tmp_path: Path, name: str) -> None:
    data = CASES[name]
    out = harness.attempt(["ingest", str(_export(tmp_path, data)), "--site", "site_tiny"],
                          expect_rows=_expected(data))
    if name in ("formula_cells", "html_and_script", "sql_metacharacters", "duckdb_functions",
                "path_in_values", "rtl_override_id", "control_characters"):
        # bad ids and codes are quarantined with their reason, never silently dropped
        assert out.kind == "accepted" and out.body["totals"]["rows_quarantined"] >= 1
    if name in ("empty_file", "header_only", "utf16_without_bom", "duplicate_header",
                "unbalanced_quote", "bad_utf8_cell"):
        assert out.kind == "refused"


@pytest.mark.parametrize("site", ["../../etc", "site_tiny/../site_edc", "x'; DROP TABLE x; --",
                                  "SITE_TINY", "site tiny", "s", "site_tiny\x00", "*", ""])
def test_hostile_site_ids(harness: Harness, tmp_path: Path, site: str) -> None:
    folder = _export(tmp_path, H + OK_ROW)
    commands = [["ingest", str(folder), "--site", site], ["validate", "--site", site]]
    if site:  # `load --site ''` means every site, like no --site at all
        commands.append(["load", "--site", site])
    for args in commands:
        out = harness.attempt(args)
        assert out.kind == "refused", (args, out)


@pytest.mark.parametrize("pattern", ["../outside.csv", "/etc/passwd", "../../**/*.csv",
                                     "sub/../../outside.csv"])
def test_file_patterns_cannot_leave_the_export(harness: Harness, tmp_path: Path, pattern: str
                                               ) -> None:
    import shutil

    site_dir = harness.project.site_mapping_dir("site_tiny")
    saved = (site_dir / "site.yaml").read_text()
    (tmp_path / "outside.csv").write_bytes(H + OK_ROW)
    folder = _export(tmp_path / "in", H + OK_ROW)
    try:
        (site_dir / "site.yaml").write_text(
            saved.replace("patients: {files: [patients.csv]}",
                          f"patients: {{files: ['{pattern}']}}"))
        out = harness.attempt(["ingest", str(folder), "--site", "site_tiny"])
        assert out.kind == "refused" and "inside the export folder" in out.message
    finally:
        (site_dir / "site.yaml").write_text(saved)
        shutil.rmtree(tmp_path / "in", ignore_errors=True)
