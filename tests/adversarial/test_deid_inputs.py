"""``deidentify`` on hostile exports: refused in one line (and nothing written), or a
de-identified copy in which no original id survives."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from cart_registry.deid.keys import ENV_SITE_KEY
from cart_registry.project import Project
from tests.adversarial import test_csv_inputs as csv_cases
from tests.adversarial import test_redcap_fhir_inputs as rf_cases
from tests.adversarial.conftest import Harness, Outcome
from tests.deid.support import SECRET, TINY_SITE, TINY_TABLES, make_project

CSV = ["bad_utf8_cell", "nul_in_cell", "huge_field_8mb", "line_with_200k_fields",
       "lone_cr_line_ends", "unbalanced_quote", "ragged_rows", "formula_cells",
       "html_and_script", "sql_metacharacters", "one_megabyte_date", "impossible_dates",
       "quoted_newline_in_id", "empty_file", "utf16_with_bom", "emoji_and_astral"]
REDCAP = ["dict_field_over_csv_limit", "dict_nul", "records_nul", "records_script_record_id",
          "records_ragged", "records_huge_cell"]
FHIR = ["bad_utf8_line", "deep_brackets_100k", "deep_resource_510", "gzip_bomb_64mb",
        "corrupt_gzip", "id_traversal", "javascript_reference", "duplicate_keys",
        "bundle_deep", "bundle_entry_garbage", "bundle_shell_deep_600", "manifest_garbage"]


@pytest.fixture(scope="module")
def shifting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    root = tmp_path_factory.mktemp("deid-adversarial")
    project = make_project(root / "p", sites=("site_redcap", "site_fhir"))
    tiny = project.mappings_dir / "site_tiny"
    tiny.mkdir()
    (tiny / "site.yaml").write_text(TINY_SITE)
    for table, text in TINY_TABLES.items():
        (tiny / f"{table}.yaml").write_text(text)
    site = project.site_mapping_dir("site_fhir") / "site.yaml"
    site.write_text(site.read_text().replace("strict: false", "strict: false\n"
                                             f"    max_decompressed_bytes: {32 << 20}"))
    yield project


def _deid(harness: Harness, project: Project, folder: Path, site: str, out: Path) -> Outcome:
    res = harness.attempt(["deidentify", str(folder), "--site", site, "--out", str(out)],
                          project=project, env={ENV_SITE_KEY: SECRET.decode()})
    leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(".")]
    assert not leftovers, leftovers  # built aside and renamed, or nothing at all
    if res.kind == "refused":
        assert not out.exists()
    else:
        assert (out / "deid-manifest.json").is_file()
    return res


@pytest.mark.parametrize("name", CSV)
def test_deidentify_hostile_csv(harness: Harness, shifting: Project, tmp_path: Path,
                                name: str) -> None:
    folder = csv_cases._export(tmp_path / "in", csv_cases.CASES[name])
    _deid(harness, shifting, folder, "site_tiny", tmp_path / "out" / "site_tiny")
    out = tmp_path / "out" / "site_tiny"
    if out.exists():
        data = b"".join(p.read_bytes() for p in out.iterdir())
        assert b"\nP1," not in data and b"\nP2," not in data  # ids are pseudonyms


@pytest.mark.parametrize("name", REDCAP)
def test_deidentify_hostile_redcap(harness: Harness, shifting: Project, tmp_path: Path,
                                   name: str) -> None:
    folder = rf_cases._redcap(tmp_path / "in")
    rf_cases.REDCAP[name](folder)
    _deid(harness, shifting, folder, "site_redcap", tmp_path / "out" / "rc")


@pytest.mark.parametrize("name", FHIR)
def test_deidentify_hostile_fhir(harness: Harness, shifting: Project, tmp_path: Path,
                                 name: str) -> None:
    folder = rf_cases._fhir(tmp_path / "in", rf_cases.FHIR[name])
    r = _deid(harness, shifting, folder, "site_fhir", tmp_path / "out" / "fhir")
    if name in ("gzip_bomb_64mb", "corrupt_gzip", "bad_utf8_line", "manifest_garbage"):
        assert r.kind == "refused"  # a line or file it cannot read is not sent as it is
    out = tmp_path / "out" / "fhir"
    if out.exists():
        data = b"".join(p.read_bytes() for p in out.rglob("*") if p.is_file())
        assert rf_cases.PATIENTS[0]["id"].encode() not in data
    shutil.rmtree(tmp_path / "in", ignore_errors=True)
