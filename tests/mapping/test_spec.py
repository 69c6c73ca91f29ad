"""The mapping file format: safe YAML with lines, pydantic shape, errors that point, schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cart_registry.errors import ConfigError
from cart_registry.mapping.ops import OPS
from cart_registry.mapping.spec import load_site_mapping, mapping_json_schema_text
from cart_registry.mapping.yamlsrc import parse_yaml
from cart_registry.project import Project
from cart_registry.standard import load_standard
from tests.mapping.helpers import REPO, TINY_PATIENT, TINY_SITE, write

STD = load_standard()


def load(folder: Path) -> object:
    return load_site_mapping(folder, table_names=STD.table_names)


def tiny(tmp_path: Path, patient: str = TINY_PATIENT, site: str = TINY_SITE) -> Path:
    folder = tmp_path / "site_tiny"
    write(folder / "site.yaml", site)
    write(folder / "patient.yaml", patient)
    return folder


def test_yaml_keeps_lines_and_keys_as_written() -> None:
    src = parse_yaml("a:\n  yes: 1\n  01: x\n  b:\n    - c\n    - d: 2\n", path=Path("f.yaml"))
    assert src.data == {"a": {"yes": 1, "01": "x", "b": ["c", {"d": 2}]}}
    assert src.line_of(["a", "b", 1, "d"]) == 6
    assert src.line_of(["a", "zzz"]) == 1  # deepest existing prefix


def test_yaml_duplicate_key_is_refused_with_its_line() -> None:
    with pytest.raises(ConfigError, match=r"f.yaml:3: duplicate key 'sex'"):
        parse_yaml("columns:\n  sex: a\n  sex: b\n", path=Path("f.yaml"))


def test_yaml_python_tags_are_refused() -> None:
    with pytest.raises(ConfigError, match="f.yaml:1: tag .*python/object/apply:os.system.* is not allowed"):
        parse_yaml("a: !!python/object/apply:os.system ['true']\n", path=Path("f.yaml"))
    with pytest.raises(ConfigError, match="not valid YAML"):
        parse_yaml("a: !!python/name:os.system ''\n", path=Path("f.yaml"))


@pytest.mark.parametrize("site", ["site_redcap", "site_edc"])
def test_sample_site_mappings_load(site: str) -> None:
    m = load_site_mapping(REPO / "mappings" / site, site_id=site, table_names=STD.table_names)
    assert m.site.site.site_id == site
    assert "patient" in m.tables and len(m.digest) == 64


def test_unknown_operation_names_file_line_and_suggests(tmp_path: Path) -> None:
    bad = TINY_PATIENT.replace("op: map_values", "op: mapvalues")
    with pytest.raises(ConfigError) as exc:
        load(tiny(tmp_path, patient=bad))
    msg = str(exc.value)
    assert "site_tiny/patient.yaml:7" in msg and "rules[0].columns.sex" in msg
    assert "unknown operation 'mapvalues'; did you mean 'map_values'?" in msg


def test_unknown_key_of_an_operation_suggests(tmp_path: Path) -> None:
    bad = TINY_PATIENT.replace("values: {F", "valus: {F")
    with pytest.raises(ConfigError, match=r"patient.yaml:7: .*unknown key 'valus'; did you mean 'values'"):
        load(tiny(tmp_path, patient=bad))


def test_unknown_reader_key_suggests(tmp_path: Path) -> None:
    bad = TINY_SITE.replace("delimiter:", "delimeter:")
    with pytest.raises(ConfigError, match=r"site.yaml:9: reader.delimeter: unknown key 'delimeter'; did you mean 'delimiter'"):
        load(tiny(tmp_path, site=bad))


def test_unknown_table_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    folder = tiny(tmp_path)
    write(folder / "patinet.yaml", TINY_PATIENT.replace("table: patient", "table: patinet"))
    with pytest.raises(ConfigError, match=r"patinet.yaml:1: unknown canonical table 'patinet'; did you mean 'patient'"):
        load(folder)


def test_unknown_column_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    from cart_registry.mapping.apply import check_rule_columns

    m = load(tiny(tmp_path, patient=TINY_PATIENT.replace("birth_date:", "birth_dte:")))
    tm = m.tables["patient"]  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match=r"patient.yaml:8: rules\[0\].columns.birth_dte: 'birth_dte' is not a column of 'patient'; did you mean 'birth_date'"):
        check_rule_columns(tm, 0, tm.spec.rules[0], STD.table("patient"))


def test_missing_required_column_is_refused(tmp_path: Path) -> None:
    from cart_registry.mapping.apply import check_rule_columns

    m = load(tiny(tmp_path, patient=TINY_PATIENT.replace("      sex: {op: map_values, from: sex, values: {F: female, M: male}}\n", "")))
    tm = m.tables["patient"]  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="does not map required column patient.sex"):
        check_rule_columns(tm, 0, tm.spec.rules[0], STD.table("patient"))


def test_bad_date_format_in_defaults(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="%y"):
        load(tiny(tmp_path, site=TINY_SITE.replace('"%d/%m/%Y", ', '"%d/%m/%y", ')))


def test_site_id_must_match_folder(tmp_path: Path) -> None:
    folder = tiny(tmp_path)
    folder.rename(tmp_path / "site_other")
    with pytest.raises(ConfigError, match="must match the folder name"):
        load(tmp_path / "site_other")


def test_published_json_schema_is_current() -> None:
    path = REPO / "mappings" / "mapping.schema.json"
    assert path.read_text(encoding="utf-8") == mapping_json_schema_text(), (
        "mappings/mapping.schema.json is stale: run "
        "`python -m cart_registry.mapping.spec > mappings/mapping.schema.json`"
    )


def test_json_schema_lists_every_operation_and_reader() -> None:
    schema = json.loads(mapping_json_schema_text())
    ops = {d["properties"]["op"].get("const") for d in schema["$defs"].values()
           if "op" in d.get("properties", {})}
    assert set(OPS) <= ops
    assert {"SiteFile", "TableFile", "CsvReader", "RedcapReader"} <= set(schema["$defs"])


def test_mapping_digest_changes_with_any_file(tmp_path: Path) -> None:
    folder = tiny(tmp_path)
    a = load_site_mapping(folder)
    (folder / "patient.yaml").write_text(TINY_PATIENT + "# comment\n", encoding="utf-8")
    assert load_site_mapping(folder).digest != a.digest


def test_value_sets_are_shared_and_checked(tmp_path: Path) -> None:
    write(tmp_path / "value_sets" / "sex_fm.yaml", "name: sex_fm\nvalues: {F: female, M: male}\n")
    patient = TINY_PATIENT.replace("values: {F: female, M: male}", "value_set: sex_fm")
    m = load_site_mapping(tiny(tmp_path, patient=patient))
    assert m.value_sets == {"sex_fm": {"F": "female", "M": "male"}}
    assert "value_sets/sex_fm.yaml" in m.file_digests
    write(tmp_path / "site_tiny" / "patient.yaml", patient.replace("sex_fm", "sex_f"))
    with pytest.raises(ConfigError, match="value set 'sex_f' not found.*did you mean 'sex_fm'"):
        load_site_mapping(tmp_path / "site_tiny")


def test_project_site_dirs(tmp_path: Path, project: Project) -> None:
    assert {"site_redcap", "site_edc"} <= set(project.site_ids())
