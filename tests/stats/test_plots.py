"""Figures: files appear complete or not at all; no global matplotlib state is changed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cart_registry.stats import cumulative_incidence, kaplan_meier, plot_cif, plot_km

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _cohort() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    t = np.ceil(rng.exponential(300, 61)).astype(int)
    cause = rng.choice([0, 1, 2], 61, p=[0.3, 0.55, 0.15])
    arm = rng.choice(["same antigen", "different antigen"], 61)
    return t, cause, arm


def test_plot_km_writes_png_and_svg(tmp_path: Path) -> None:
    t, cause, arm = _cohort()
    fits = {a: kaplan_meier(t[arm == a], cause[arm == a] > 0) for a in np.unique(arm)}
    out = plot_km(fits, tmp_path / "figs" / "rfs.png", title="RFS", dpi=80)
    assert [p.name for p in out] == ["rfs.png", "rfs.svg"]
    assert out[0].read_bytes()[:8] == PNG_MAGIC
    svg = out[1].read_text()
    assert svg.lstrip().startswith("<?xml") and "Number at risk" in svg and "median" in svg
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == ["rfs.png", "rfs.svg"]


def test_plot_cif_single_risk_row(tmp_path: Path) -> None:
    t, cause, _ = _cohort()
    curves = {
        "Relapse": cumulative_incidence(t, cause, cause_of_interest=1),
        "Death in remission": cumulative_incidence(t, cause, cause_of_interest=2),
    }
    (png,) = plot_cif(curves, tmp_path / "cif", formats=("png",), dpi=80)
    assert png.name == "cif.png" and png.read_bytes()[:8] == PNG_MAGIC


def test_failed_write_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from matplotlib.figure import Figure

    def boom(self: Figure, *args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(Figure, "savefig", boom)
    with pytest.raises(RuntimeError):
        plot_km(kaplan_meier([1, 2, 3], [1, 0, 1]), tmp_path / "km.png", dpi=50)
    assert list(tmp_path.iterdir()) == []


def test_plotting_leaves_pyplot_alone(tmp_path: Path) -> None:
    import sys

    plot_km(kaplan_meier([1, 2, 3], [1, 0, 1]), tmp_path / "km", formats=("svg",))
    if "matplotlib.pyplot" in sys.modules:  # another test may have imported it
        import matplotlib.pyplot as plt

        assert plt.get_fignums() == []
