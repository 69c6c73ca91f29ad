"""The sample FHIR site's mapping is the default FHIR mapping plus its product codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from cart_registry.errors import ConfigError
from cart_registry.fhir.flatten import TABLES
from cart_registry.mapping.spec import load_site_mapping
from cart_registry.standard import load_standard
from tests.conftest import REPO_ROOT

DEFAULT = REPO_ROOT / "mappings" / "fhir_default"
SITE = REPO_ROOT / "mappings" / "site_fhir"
#: files a FHIR site may change (its local codes)
OVERRIDES = {"cart_infusion.yaml"}


def test_the_site_extends_the_default_and_overrides_only_its_codes() -> None:
    assert {p.name for p in SITE.glob("*.yaml")} == {"site.yaml", *OVERRIDES}
    mapping = load_site_mapping(SITE, site_id="site_fhir",
                                table_names=load_standard().table_names)
    assert mapping.site.extends == "fhir_default"
    assert {f"{t}.yaml" for t in mapping.tables} == {p.name for p in DEFAULT.glob("*.yaml")}
    for name, tm in mapping.tables.items():
        assert tm.source.path.parent == (SITE if tm.file in OVERRIDES else DEFAULT), name
        assert tm.rule_id(tm.spec.rules[0], "site_fhir") == f"site_fhir/{name}.yaml#" \
            f"{tm.spec.rules[0].id}"
    # the inherited files are named with their folder in the digests
    assert "fhir_default/patient.yaml" in mapping.file_digests
    assert "cart_infusion.yaml" in mapping.file_digests


def test_mapping_loads_and_reads_only_fhir_source_tables() -> None:
    from cart_registry.fhir.ingest import options_of

    mapping = load_site_mapping(SITE, site_id="site_fhir",
                                table_names=load_standard().table_names)
    assert mapping.site.reader.kind == "fhir"
    opts = options_of(mapping)
    assert opts.conventions.product_systems
    for tm in mapping.tables.values():
        for rule in tm.spec.rules:
            assert rule.source in TABLES
            assert set(rule.columns) <= set(TABLES[rule.source]) | {
                "construct_id", "ld_id", "tox_id", "expr_id"} | set(rule.columns)


def _site(root: Path, extends: str, files: dict[str, str] | None = None) -> Path:
    text = (SITE / "site.yaml").read_text(encoding="utf-8")
    site = root / "mappings" / "site_x"
    site.mkdir(parents=True)
    (site / "site.yaml").write_text(
        text.replace("site_id: site_fhir", "site_id: site_x")
        .replace("extends: fhir_default", f"extends: {extends}"), encoding="utf-8")
    for name, body in (files or {}).items():
        (site / name).write_text(body, encoding="utf-8")
    return site


@pytest.mark.parametrize("extends,message", [
    ("fhir_defaults", "no folder mappings/fhir_defaults/; did you mean 'fhir_default'?"),
    ("site_y", "is a site (it has a site.yaml)"),
    ("site_x", "a site cannot extend itself"),
])
def test_a_bad_extends_names_the_line(tmp_path: Path, extends: str, message: str) -> None:
    import shutil

    shutil.copytree(DEFAULT, tmp_path / "mappings" / "fhir_default")
    (tmp_path / "mappings" / "site_y").mkdir(parents=True)
    (tmp_path / "mappings" / "site_y" / "site.yaml").write_text("x: 1\n", encoding="utf-8")
    site = _site(tmp_path, extends)
    with pytest.raises(ConfigError) as exc:
        load_site_mapping(site, site_id="site_x")
    assert str(exc.value).startswith("site_x/site.yaml:7: extends: ")
    assert message in str(exc.value)


def test_an_inherited_file_is_located_in_its_own_folder(tmp_path: Path) -> None:
    import shutil

    base = tmp_path / "mappings" / "fhir_default"
    shutil.copytree(DEFAULT, base)
    text = (base / "death.yaml").read_text(encoding="utf-8")
    (base / "death.yaml").write_text(text.replace("table: death", "table: deaths"),
                                     encoding="utf-8")
    site = _site(tmp_path, "fhir_default")
    with pytest.raises(ConfigError) as exc:
        load_site_mapping(site, site_id="site_x", table_names=load_standard().table_names)
    assert str(exc.value).startswith("fhir_default/death.yaml:1: ")
