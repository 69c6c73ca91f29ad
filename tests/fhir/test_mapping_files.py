"""The sample FHIR site's mapping is the default FHIR mapping plus its product codes."""

from __future__ import annotations

from cart_registry.fhir.flatten import TABLES
from tests.conftest import REPO_ROOT

DEFAULT = REPO_ROOT / "mappings" / "fhir_default"
SITE = REPO_ROOT / "mappings" / "site_fhir"
#: files a FHIR site may change (its local codes)
OVERRIDES = {"cart_infusion.yaml"}


def test_site_files_equal_the_default_except_overrides() -> None:
    defaults = {p.name for p in DEFAULT.glob("*.yaml")}
    site = {p.name for p in SITE.glob("*.yaml")} - {"site.yaml"}
    assert site == defaults
    for name in sorted(defaults - OVERRIDES):
        assert (SITE / name).read_text(encoding="utf-8") == \
            (DEFAULT / name).read_text(encoding="utf-8"), name


def test_mapping_loads_and_reads_only_fhir_source_tables() -> None:
    from cart_registry.fhir.ingest import options_of
    from cart_registry.mapping.spec import load_site_mapping
    from cart_registry.standard import load_standard

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
