"""Exact (Clopper-Pearson) confidence interval of a binomial proportion.

The report gives every n/N with this interval because the abstract's proportions are
small-sample (N = 61, 40, 21) where Wald intervals undercover. scipy is imported inside the
function: it is slow to import and only this helper needs it.
"""

from __future__ import annotations

from .model import Interval

CP_METHOD = "exact (Clopper-Pearson)"


def clopper_pearson(x: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Two-sided (1 - alpha) exact interval for x successes in n trials, as fractions.

    Lower = Beta(alpha/2; x, n - x + 1), upper = Beta(1 - alpha/2; x + 1, n - x), with the
    conventional 0 and 1 at x = 0 and x = n (R ``binom.test``).
    """
    if isinstance(x, bool) or isinstance(n, bool) or int(x) != x or int(n) != n:
        raise ValueError(f"x and n must be integers, got {x!r}, {n!r}")
    if n <= 0 or not 0 <= x <= n:
        raise ValueError(f"need 0 <= x <= n and n > 0, got x={x}, n={n}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    from scipy.stats import beta

    lower = 0.0 if x == 0 else float(beta.ppf(alpha / 2, x, n - x + 1))
    upper = 1.0 if x == n else float(beta.ppf(1 - alpha / 2, x + 1, n - x))
    return lower, upper


def proportion_ci(x: int, n: int, alpha: float = 0.05) -> Interval:
    """Clopper-Pearson interval in percent, ready for an ``AbstractRow``."""
    lo, hi = clopper_pearson(x, n, alpha)
    return Interval(100.0 * lo, 100.0 * hi, level=1 - alpha, method=CP_METHOD)
