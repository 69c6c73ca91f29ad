"""Renderers on small hand-made data: JSON, Markdown, HTML and the files they write."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from cart_registry.report.render_html import render_html
from cart_registry.report.render_json import render_json, report_dict
from cart_registry.report.render_md import md_escape, render_markdown
from cart_registry.report.writer import HTML_NAME, JSON_NAME, MD_NAME, write_report_files
from tests.report._handmade import EVIL, assembled, minimal_data

ROW_FIELDS = {"key", "label", "n", "N", "percent", "value", "unit", "ci", "p", "p_method", "method"}


def _no_constants(name: str) -> Any:
    raise AssertionError(f"JSON contains {name}")


def _strict_load(text: str) -> Any:
    # json.loads accepts NaN / Infinity unless told otherwise: refuse them here
    return json.loads(text, parse_constant=_no_constants)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    write_report_files(assembled(), out)
    return out


def test_json_has_every_abstract_row_with_its_numbers() -> None:
    data = assembled()
    doc = _strict_load(render_json(data))
    keys = [r["key"] for r in doc["abstract"]]
    assert keys == [r.key for r in data.abstract]
    for row in doc["abstract"]:
        assert ROW_FIELDS <= set(row), row["key"]
        assert row["method"], row["key"]
    by = {r["key"]: r for r in doc["abstract"]}
    cr_b = by["cr_after_b"]
    assert (cr_b["n"], cr_b["N"]) == (6, 10)
    assert cr_b["percent"] == pytest.approx(60.0)
    assert cr_b["ci"]["method"].startswith("exact (Clopper-Pearson)")
    assert cr_b["ci"]["lower"] < 60.0 < cr_b["ci"]["upper"]
    assert cr_b["p"] == pytest.approx(0.625) and "McNemar" in cr_b["p_method"]
    assert by["cr_a_vs_b_fisher"]["p_method"].startswith("Fisher")
    assert by["median_rfs_b"]["unit"] == "months"
    assert doc["settings"]["data_cutoff_date"] == "2023-06-30"
    assert doc["meta"]["as_of"] == "2023-06-30"
    assert {t["paramcd"] for t in doc["time_to_event"]} == {"RFSB", "OSB", "CIRB"}


def test_json_refuses_nan_and_keeps_not_estimable_as_null() -> None:
    data = assembled()
    text = render_json(data)
    assert "NaN" not in text and "Infinity" not in text
    by = {r["key"]: r for r in _strict_load(text)["abstract"]}
    # RFS at 24 months is beyond the last follow-up: null, not NaN
    assert by["rfs_b_at_24m"]["value"] is None
    # and a report dict built by hand round-trips with allow_nan=False
    json.dumps(report_dict(data), allow_nan=False)


def test_markdown_has_the_abstract_table_and_escapes() -> None:
    md = render_markdown(minimal_data(label=EVIL + " | pipe"))
    assert "| Measure | n/N | Estimate | 95% CI | P | Method and notes |" in md
    assert "|---|---:|---:|---:|---:|---|" in md
    assert "| Median RFS | 5/10 | 9.4 months | 6.1–13.2 |" in md
    assert "<script>" not in md
    assert "&lt;script>alert(1)&lt;/script>" in md
    assert "\\| pipe" in md  # a pipe in a label must not split the cell
    assert md_escape("a\nb") == "a b"


def test_html_escapes_labels() -> None:
    html = render_html(minimal_data(label=EVIL))
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # no script of any kind, no external reference
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "Content-Security-Policy" in html


def test_html_shows_the_abstract_and_settings() -> None:
    html = render_html(assembled())
    assert 'id="abstract-table"' in html
    assert 'data-key="cr_after_b"' in html
    assert "exact McNemar" in html
    assert "antigen_difference_rule" in html and "sets_differ" in html
    assert "Report as of 2023-06-30" in html


def test_missing_sections_are_listed() -> None:
    from dataclasses import replace

    data = replace(minimal_data(), missing=("toxicity: no data",))
    assert "toxicity: no data" in render_html(data)
    assert "toxicity: no data" in render_markdown(data)
    assert _strict_load(render_json(data))["missing"] == ["toxicity: no data"]


def test_files_are_written_atomically_and_figures_embedded(written: Path) -> None:
    names = {p.name for p in written.iterdir()}
    assert {HTML_NAME, MD_NAME, JSON_NAME} <= names
    for stem in ("endpoints_rfs_b", "endpoints_os_b", "endpoints_cir_b"):
        assert {f"{stem}.png", f"{stem}.svg"} <= names
    # nothing left under a temporary name
    assert not [n for n in names if n.startswith(".") or n.endswith(".tmp")]
    html = (written / HTML_NAME).read_text(encoding="utf-8")
    assert html.count('src="data:image/svg+xml;base64,') == 3
    assert 'id="fig-rfsb"' in html and 'id="fig-osb"' in html and 'id="fig-cirb"' in html
    doc = _strict_load((written / JSON_NAME).read_text(encoding="utf-8"))
    assert [f["png"] for f in doc["figures"]] == [
        "endpoints_rfs_b.png", "endpoints_os_b.png", "endpoints_cir_b.png"]
    assert (written / "endpoints_rfs_b.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_same_data_gives_identical_files(written: Path, tmp_path: Path) -> None:
    write_report_files(assembled(), tmp_path)
    for name in (HTML_NAME, MD_NAME, JSON_NAME, "endpoints_os_b.svg"):
        assert (tmp_path / name).read_bytes() == (written / name).read_bytes(), name


def test_a_failed_render_leaves_no_partial_file(tmp_path: Path, monkeypatch: Any) -> None:
    import cart_registry.report.render_html as rh

    def boom(*_a: Any, **_k: Any) -> str:
        raise RuntimeError("render failed")

    monkeypatch.setattr(rh, "render_html", boom)
    with pytest.raises(RuntimeError):
        write_report_files(minimal_data(), tmp_path, figures=False)
    # rendering comes before writing: no file of the set was written
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_half_day_medians_are_not_rounded_to_even() -> None:
    from cart_registry.report import fmt
    from cart_registry.report.model import AbstractRow

    row = AbstractRow("iv", "s", "Interval", N=4, value=302.5, unit="days",
                      value_range=(53.0, 1183.0))
    assert fmt.row_estimate(row) == "302.5 days (range 53.0–1183.0)"
    assert fmt.row_estimate(AbstractRow("iv", "s", "I", N=3, value=302.0, unit="days",
                                        value_range=(53.0, 1183.0))) == "302 days (range 53–1183)"
    assert fmt.fmt_p(0.004344) == "0.0043" and fmt.fmt_p(0.0004) == "<0.001"
    assert fmt.fmt_p(0.62) == "0.62" and fmt.fmt_p(0.999) == ">0.99" and fmt.fmt_p(None) == "—"
