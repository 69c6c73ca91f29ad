"""McNemar at registry scale: the scipy path agrees with the exact integer sums."""

from __future__ import annotations

import math

import pytest

from cart_registry.stats import mcnemar_exact


def _exact(b: int, c: int) -> float:
    n, x = b + c, min(b, c)
    if 2 * x == n:
        return 1.0
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(x + 1)) / 2**n)


@pytest.mark.parametrize("b,c", [(1100, 1000), (1001, 1001), (1500, 1400), (3000, 2900)])
def test_large_discordant_counts_agree_with_integer_sums(b: int, c: int) -> None:
    got = mcnemar_exact(b, c).p_value
    assert got == pytest.approx(_exact(b, c), rel=1e-9, abs=1e-300)
