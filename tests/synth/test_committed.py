"""The committed sample exports and construct catalog are what the generator writes."""

from __future__ import annotations

from pathlib import Path

from cart_registry.synth.api import SynthResult
from cart_registry.synth.catalog import constructs_yaml
from tests.synth.conftest import CATALOG, SAMPLE


def test_committed_sample_exports_equal_a_fresh_run(regenerated: tuple[Path, SynthResult]) -> None:
    out, result = regenerated
    fresh = {p.relative_to(out).as_posix(): p.read_bytes()
             for p in sorted(out.rglob("*")) if p.is_file()}
    committed = {p.relative_to(SAMPLE).as_posix(): p.read_bytes()
                 for p in sorted(SAMPLE.rglob("*")) if p.is_file()}
    assert sorted(committed) == sorted(fresh), "files added or missing: rerun the README command"
    stale = [k for k in fresh if fresh[k] != committed[k]]
    assert not stale, f"stale committed files (rerun the README command): {stale[:5]}"
    assert result.counts["included"] == 61


def test_sample_exports_stay_small() -> None:
    total = sum(p.stat().st_size for p in SAMPLE.rglob("*") if p.is_file())
    assert total < 4_000_000


def test_construct_catalog_is_current() -> None:
    assert CATALOG.read_text(encoding="utf-8") == constructs_yaml()


def test_catalog_rows_have_exactly_the_car_construct_columns() -> None:
    import yaml

    from cart_registry.standard import load_standard

    table = load_standard().table("car_construct")
    rows = yaml.safe_load(CATALOG.read_text(encoding="utf-8"))
    assert len(rows) == 14
    for r in rows:
        assert list(r) == [c.name for c in table.business_columns]
    targets = {tuple(r["target_antigens"]) for r in rows}
    assert targets == {("CD19",), ("CD22",), ("CD19", "CD22")}
    assert any(r["target_design"] == "tandem_bispecific" for r in rows)
    assert {r["construct_id"] for r in rows if r["product_type"] == "commercial"} >= {"tisa-cel"}
