"""R ``quantile.survfit`` (internal ``findq``) reproduced on numpy arrays.

R's rules, which this module follows on purpose (statistics.md section 2):

1. Points whose value repeats an earlier one are dropped (censorings leave S unchanged);
   ``NA`` counts as equal to ``NA`` (R ``duplicated``), and ``NA`` points are then ignored.
2. The quantile is the first point whose cumulative value ``y`` reaches ``p``. When ``y``
   equals ``p`` within ``tol`` on a flat stretch, the answer is the midpoint between that
   point and the next jump; on the final stretch, the midpoint with the last observed time.
3. A curve or band that never reaches ``p`` gives NA (never inf).

R finds the points with ``approx()``, which *sorts its x argument*. For a monotone curve that
changes nothing, but the "log" upper band can rise again after a late event; then R returns
the first point in value order, not in time order (aml pooled: upper median limit 48, where
the band first dips to 0.5 at 45). We emulate that sort so that results equal R's exactly;
the difference only ever concerns a band limit, and matching R is what users will check us
against. The time-order rule would be ``np.argmax(y >= p - tol)`` on the raw band.
"""

from __future__ import annotations

import numpy as np

from ._common import BoolArray, FloatArray


def _first_occurrences(y: FloatArray) -> BoolArray:
    """``!duplicated(y)`` in R, with NaN equal to NaN; linear when y is monotone."""
    nan = np.isnan(y)
    where_ok = np.flatnonzero(~nan)
    vals = y[where_ok]
    keep = np.zeros(y.size, dtype=np.bool_)
    if vals.size:
        if np.all(vals[1:] >= vals[:-1]):
            first = np.ones(vals.size, dtype=np.bool_)
            first[1:] = vals[1:] != vals[:-1]
            keep[where_ok[first]] = True
        else:
            # stable sort => index of the first occurrence of each value
            _, idx = np.unique(vals, return_index=True)
            keep[where_ok[idx]] = True
    if nan.any():
        keep[int(np.argmax(nan))] = True
    return keep


def _approx_right(xa: FloatArray, ya: FloatArray, p: FloatArray) -> FloatArray:
    """``approx(xa, ya, p, method="constant", f=1)`` for sorted, distinct ``xa``: the ``ya`` of
    the smallest ``xa >= p``; NA outside [xa[0], xa[-1]] (rule = 1)."""
    i = np.searchsorted(xa, p, side="left")
    out = np.full(p.shape, np.nan)
    ok = (i < xa.size) & ~((i == 0) & (p < xa[0]))
    out[ok] = ya[i[ok]]
    return out


def find_quantiles(x: FloatArray, y: FloatArray, probs: FloatArray, tol: float) -> FloatArray:
    """Times where the cumulative curve ``y`` (0 at ``x[0]``) reaches each of ``probs``.

    ``x`` holds the start time followed by every fitted time; ``y`` = 1 - S (or 1 - band),
    NaN where R has NA. Returns NaN for "not estimable".
    """
    out = np.full(probs.shape, np.nan)
    finite = y[~np.isnan(y)]
    # R checks the smallest requested p once for the whole call, before the tolerance rule
    if finite.size == 0 or finite.max() < probs.min():
        return out
    xmax = x[-1]
    keep = _first_occurrences(y)
    xk, yk = x[keep], y[keep]
    ok = np.flatnonzero(~np.isnan(yk))
    ya = yk[ok]
    if ya.size > 1 and not np.all(ya[1:] > ya[:-1]):
        order = np.argsort(ya, kind="stable")
        ya, ok = ya[order], ok[order]
    pos = ok.astype(np.float64)
    i1 = _approx_right(ya + tol, pos, probs)
    i2 = _approx_right(ya - tol, pos, probs)
    both = ~np.isnan(i1) & ~np.isnan(i2)
    out[both] = (xk[i1[both].astype(np.intp)] + xk[i2[both].astype(np.intp)]) / 2.0
    out[probs == 0] = xk[0]
    last = yk[-1]
    if not np.isnan(last):
        at_end = (np.abs(probs - last) < tol) & ~np.isnan(i1)
        out[at_end] = (xk[i1[at_end].astype(np.intp)] + xmax) / 2.0
    return out
