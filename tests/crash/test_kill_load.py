"""A ``load`` killed (SIGKILL) at many points leaves the registry holding the old submission
or the new one, never a mix, and the next run recovers with no manual step."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.crash.support import SITE, Driver, Registry, restore, spread, state

KILL_POINTS = 20


@pytest.mark.slow
def test_killed_loads_leave_old_or_new_never_a_mix(registry: Registry) -> None:
    from cart_registry.warehouse.loading import load_submission

    reg = registry
    args = (str(reg.project.root), SITE, reg.new)
    assert state(reg) == "old"

    # measure one whole load first (a warm child, from its start to its end)
    probe = Driver("load", *args)
    probe.start()
    status, duration = probe.finish()
    assert status == "replaced" and state(reg) == "new"

    outcomes: Counter[str] = Counter()
    for delay in spread(duration, KILL_POINTS, reach=1.3):
        restore(reg)
        driver = Driver("load", *args)
        killed = driver.kill_after(delay, driver.start())
        got = state(reg)  # asserts old or new, whole
        outcomes[f"{got}{'' if killed else ' (finished)'}"] += 1
        # recovery: running the load again just works, and gives the new submission whole
        res = load_submission(reg.project, SITE, reg.new, lock_timeout=10)
        assert res.status in ("replaced", "already_current")
        assert state(reg) == "new"
    print(f"\nload: {KILL_POINTS} kill points over {duration:.2f} s -> {dict(outcomes)}; "
          "0 mixed states")
    # the kills landed on both sides of the commit
    assert outcomes["old"] >= 3 and sum(outcomes.values()) == KILL_POINTS
