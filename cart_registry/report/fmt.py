"""Number formatting shared by the HTML and Markdown renderers (the JSON keeps raw numbers).

One place decides how a percentage, an interval or a p-value is printed, so the two human
renderers can never disagree. Not-estimable values print as "NE", a median that is not
reached as "NR".
"""

from __future__ import annotations

from .model import AbstractRow, Cell, Frac, Interval, Num, PValue

DASH = "\u2013"  # en dash for ranges
NA = "\u2014"  # em dash: nothing to show

UNIT_DIGITS = {"%": 1, "months": 1, "years": 1, "days": 0}
UNIT_WORDS = {"months": "months", "years": "years", "days": "days"}


def fmt_num(x: float | None, digits: int = 1, na: str = "NE") -> str:
    return na if x is None else f"{x:.{digits}f}"


def fmt_p(p: float | None) -> str:
    """Two significant digits below 0.1 (0.0043), two decimals above; bounded at the ends."""
    if p is None:
        return NA
    if p < 0.001:
        return "<0.001"
    if p > 0.99:
        return ">0.99"
    # p >= 0.001 here, so "%.2g" never switches to exponent notation
    return f"{p:.2g}" if p < 0.1 else f"{p:.2f}"


def fmt_percent(n: int, N: int) -> str:
    return f"{n}/{N} ({100.0 * n / N:.1f}%)" if N else f"{n}/{N}"


def fmt_interval(ci: Interval | None, unit: str | None) -> str:
    if ci is None or (ci.lower is None and ci.upper is None):
        return NA
    d = UNIT_DIGITS.get(unit or "", 1)
    suffix = "%" if unit == "%" else ""
    return f"{fmt_num(ci.lower, d)}{DASH}{fmt_num(ci.upper, d)}{suffix}"


def _digits(unit: str | None, value: float) -> int:
    """Decimals for a value: days are whole unless a median falls between two days (x.5),
    which must not be rounded to the even neighbour."""
    if unit == "days":
        return 0 if float(value).is_integer() else 1
    return UNIT_DIGITS.get(unit or "", 1)


def row_n_over_n(r: AbstractRow) -> str:
    if r.n is not None and r.N is not None:
        return f"{r.n}/{r.N}"
    if r.N is not None:
        return f"N = {r.N}"
    if r.n is not None:
        return str(r.n)
    return NA


def row_estimate(r: AbstractRow) -> str:
    """The headline number: "88.5%", "9.4 months", "12.6 years (range 3.3-30.4)", "135"."""
    if r.unit == "count":
        return NA if r.value is None else f"{r.value:.0f}"
    if r.value is None:
        if r.unit == "months" and r.N:
            return "NR (not reached)"
        return NA
    d = _digits(r.unit, r.value)
    if r.unit == "%":
        text = f"{r.value:.{d}f}%"
    else:
        text = f"{r.value:.{d}f} {UNIT_WORDS.get(r.unit or '', r.unit or '')}".rstrip()
    if r.value_range is not None:
        lo, hi = r.value_range
        text += f" (range {lo:.{d}f}{DASH}{hi:.{d}f})"
    return text


def fmt_cell(c: Cell) -> str:
    if c is None:
        return ""
    if isinstance(c, Frac):
        return fmt_percent(c.n, c.N)
    if isinstance(c, PValue):
        return fmt_p(c.p)
    if isinstance(c, Num):
        return fmt_num(c.value, c.digits)
    return str(c)
