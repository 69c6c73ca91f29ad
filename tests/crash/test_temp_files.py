"""A normal run writes every file under a temporary name and renames it into place (so a
crash leaves the old file or the new one), and leaves no temporary file behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.crash.support import any_temp
from tests.deid.support import site_key, tiny_site


@pytest.mark.slow
def test_every_output_is_renamed_into_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    from cart_registry.deid.api import deidentify_export
    from cart_registry.pipeline import run_pipeline

    project, export = tiny_site(tmp_path)
    renamed: list[Path] = []
    real_replace = os.replace

    def replace(src: object, dst: object, *a: object, **k: object) -> None:
        renamed.append(Path(str(dst)).resolve())
        real_replace(src, dst, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", replace)
    outbox = tmp_path / "outbox"
    deidentify_export(project, export, "site_tiny", outbox / "site_tiny", site_key(),
                      crosswalk=tmp_path / "secure" / "crosswalk.csv")
    result = run_pipeline(project, outbox, received_at="2023-07-01T00:00:00Z")
    assert result.ingest and result.loads, result.to_json()

    written = [p.resolve() for root in (project.registry_dir, outbox, tmp_path / "secure")
               for p in root.rglob("*") if p.is_file()]
    assert any(p.suffix == ".parquet" for p in written)
    assert any(p.name in ("report.html", "endpoints.html") for p in written)
    direct = [str(p) for p in written
              if not p.name.startswith("registry.duckdb")  # DuckDB: its own transactions
              and not any(p == d or d in p.parents for d in renamed)]
    assert direct == []
    assert any_temp(tmp_path) == []
    assert [p.name for p in tmp_path.rglob(".*")] == []
