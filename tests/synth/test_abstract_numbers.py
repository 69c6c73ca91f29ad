"""Every number of the abstract, recomputed from the COMMITTED exports by plain parsing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.synth.abstract_numbers import Numbers, compute
from tests.synth.conftest import CATALOG, SAMPLE
from tests.synth.exports_reader import construct_targets, read_all


def assert_abstract(n: Numbers) -> None:
    assert n.screened == 135
    assert n.included == 61
    assert n.more_than_two == 13
    assert n.exactly_two == 48
    assert n.n_constructs == 14
    assert (round(n.age_median, 1), round(n.age_min, 1), round(n.age_max, 1)) == (12.6, 3.3, 30.4)
    assert (n.interval_median, n.interval_min, n.interval_max) == (302, 53, 1183)
    assert n.differ == 48
    assert (n.cr_a, n.cr_b) == (54, 40)
    assert n.paired == (36, 18, 4, 3)
    assert round(n.mcnemar_p, 4) == 0.0043
    assert n.differ_among_b_cr == 35
    assert (n.same_among_b_noncr, n.b_noncr) == (8, 21)
    assert n.relapsed_after_b_cr == 29
    assert n.phenotypes == {
        "antigen_negative": 3, "antigen_dim": 7, "antigen_positive": 10, "lineage_switch": 1,
        "not_evaluable": 8,
    }
    assert tuple(round(x, 1) for x in n.rfs) == (9.4, 6.1, 13.2)
    assert tuple(round(x, 1) for x in n.os) == (15.0, 13.0, 22.7)
    # no step of a curve or band sits on 0.5 (R's midpoint rule would differ from lifelines)
    assert n.rfs_closest > 1e-6 and n.os_closest > 1e-6


@pytest.mark.parametrize("fhir_form", ["bulk", "bundles"])
def test_committed_exports_reproduce_the_abstract(fhir_form: str) -> None:
    pts = read_all(SAMPLE, CATALOG, fhir_form)
    assert_abstract(compute(pts, construct_targets(CATALOG)))


def test_km_medians_agree_with_lifelines() -> None:
    """The test's own KM is cross-checked with lifelines (log-log band inversion)."""
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    from tests.synth import abstract_numbers as an

    captured: dict[str, tuple[list[int], list[bool]]] = {}
    real = an.km_median_ci

    def spy(times: list[int], events: list[bool]) -> tuple[float, float, float, float]:
        captured["rfs" if "rfs" not in captured else "os"] = (list(times), list(events))
        return real(times, events)

    an.km_median_ci = spy  # type: ignore[assignment]
    try:
        n = compute(read_all(SAMPLE, CATALOG), construct_targets(CATALOG))
    finally:
        an.km_median_ci = real  # type: ignore[assignment]
    for name, days in (("rfs", n.rfs_days), ("os", n.os_days)):
        t, e = captured[name]
        kmf = KaplanMeierFitter().fit(t, e)
        ci = median_survival_times(kmf.confidence_interval_)
        got = (kmf.median_survival_time_, ci.iloc[0, 0], ci.iloc[0, 1])
        assert tuple(float(x) for x in got) == tuple(float(x) for x in days), name
    assert n.rfs_days == (286, 186, 402)
    assert n.os_days == (457, 396, 691)


def test_readme_states_the_definitions() -> None:
    text = (SAMPLE / "README.md").read_text(encoding="utf-8")
    for phrase in ("synthetic", "--seed 0", "30.4375", "log-log", "CRi counts",
                   "death in remission is an event", "±14 days", "sets of CART-A and CART-B"):
        assert phrase in text, phrase


def test_reader_sees_every_site(tmp_path: Path) -> None:
    pts = read_all(SAMPLE, CATALOG)
    sites = {pid.split("-")[0] for pid in pts}
    assert sites == {"site_redcap", "site_edc", "site_fhir"}
