"""``parse_date``: dates in declared formats, Excel serial numbers and partial dates.

Each format is checked twice: its shape by a regular expression built from the format (so
``%Y`` means four digits and ``03/04/20`` is not the year 20) and its calendar by polars'
parser (so 31/02/2020 and 2020-13-01 fail). Several formats are tried in the declared order.
A partial date (``2020-06``, ``UN/06/2020``, ``2020``) is refused unless the rule says how to
impute it; imputed cells are counted per precision in the submission's lineage.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field, field_validator

from cart_registry.mapping.ops.base import BuildContext, Failure, OpBase, Value, text_of
from cart_registry.mapping.ops.casting import failed

if TYPE_CHECKING:
    import polars as pl

#: strftime directives a date format may use, with the shape each must have
_DIRECTIVES = {
    "%Y": r"\d{4}",
    "%m": r"\d{1,2}",
    "%d": r"\d{1,2}",
    "%H": r"\d{1,2}",
    "%M": r"\d{2}",
    "%S": r"\d{2}",
    "%b": r"[A-Za-z]{3}",
    "%B": r"[A-Za-z]{3,9}",
    "%f": r"\d{1,9}",
}
_TIME = {"%H", "%M", "%S", "%f"}
#: Excel's day 0 (the 1900 leap-year bug makes it 1899-12-30, not 12-31)
EXCEL_EPOCH = dt.date(1899, 12, 30)
#: serials accepted as Excel dates: 1900-01-01 .. 2099-12-31
EXCEL_MIN, EXCEL_MAX = 2, 73050
#: a missing day or month written by a site (UN, UNK, XX, NK, 00)
_UNK = r"(?:UN|UNK|XX|NK|NA|00|--|\?\?)"


def format_regex(fmt: str) -> str:
    """Anchored regular expression for the shape of ``fmt``."""
    out, i = [], 0
    while i < len(fmt):
        if fmt[i] == "%":
            d = fmt[i : i + 2]
            if d not in _DIRECTIVES:
                raise ValueError(f"unsupported directive {d!r} in date format {fmt!r}")
            out.append(_DIRECTIVES[d])
            i += 2
        else:
            out.append(re.escape(fmt[i]))
            i += 1
    return "^" + "".join(out) + "$"


def check_format(fmt: str) -> str:
    directives = set(re.findall(r"%.", fmt))
    format_regex(fmt)  # raises on an unknown directive
    if "%Y" not in directives:
        raise ValueError(f"date format {fmt!r} needs a four-digit year (%Y); %y is ambiguous")
    if not directives & {"%m", "%b", "%B"} or "%d" not in directives:
        raise ValueError(f"date format {fmt!r} needs a month and a day")
    return fmt


def _one_format(s: pl.Expr, fmt: str) -> pl.Expr:
    import polars as pl

    shape = s.str.contains(format_regex(fmt))
    if set(re.findall(r"%.", fmt)) & _TIME:
        parsed = s.str.strptime(pl.Datetime("us"), fmt, strict=False).dt.date()
    else:
        parsed = s.str.strptime(pl.Date, fmt, strict=False)
    return pl.when(shape).then(parsed)


def _excel(s: pl.Expr) -> pl.Expr:
    import polars as pl

    num = s.str.extract(r"^(\d{1,6})(?:\.0+)?$", 1).cast(pl.Int64, strict=False)
    ok = num.is_between(EXCEL_MIN, EXCEL_MAX)
    return pl.when(ok).then(pl.lit(EXCEL_EPOCH) + pl.duration(days=num))


def _partial(s: pl.Expr, impute: str) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(date, is_month_precision, is_year_precision) for partial dates."""
    import polars as pl

    mday = 15 if impute == "mid" else 1
    ymonth, yday = (7, 1) if impute == "mid" else (1, 1)
    # month precision: 2020-06, 2020-06-UN, 06/2020, UN/06/2020
    ym1 = s.str.extract_groups(rf"^(\d{{4}})[-/.](\d{{1,2}})(?:[-/.]{_UNK})?$")
    ym2 = s.str.extract_groups(rf"^(?:{_UNK}[-/.])?(\d{{1,2}})[-/.](\d{{4}})$")
    y_m = pl.coalesce(ym1.struct.field("1"), ym2.struct.field("2")).cast(pl.Int32, strict=False)
    m_m = pl.coalesce(ym1.struct.field("2"), ym2.struct.field("1")).cast(pl.Int8, strict=False)
    month_ok = y_m.is_not_null() & m_m.is_between(1, 12)
    month_date = pl.when(month_ok).then(pl.date(y_m, m_m.fill_null(1), mday))
    # year precision: 2020, 2020-UN-UN, UN/UN/2020
    y1 = s.str.extract(rf"^(\d{{4}})(?:[-/.]{_UNK}){{0,2}}$", 1)
    y2 = s.str.extract(rf"^(?:{_UNK}[-/.]){{1,2}}(\d{{4}})$", 1)
    y_y = pl.coalesce(y1, y2).cast(pl.Int32, strict=False)
    year_date = pl.when(y_y.is_not_null()).then(pl.date(y_y, ymonth, yday))
    return pl.coalesce(month_date, year_date), month_ok, y_y.is_not_null() & ~month_ok


def parse_dates(
    v: Value,
    formats: tuple[str, ...] | list[str],
    *,
    excel_serial: bool,
    partial: str,
) -> Value:
    import polars as pl

    s = text_of(v).str.strip_chars()
    candidates = [_one_format(s, f) for f in formats]
    full = pl.coalesce(candidates) if len(candidates) > 1 else candidates[0]
    counters: tuple[tuple[str, pl.Expr], ...] = ()
    if excel_serial:
        serial = _excel(s)
        counters += (("excel_serial", full.is_null() & serial.is_not_null()),)
        full = pl.coalesce(full, serial)
    out = full
    if partial != "reject":
        pdate, is_month, is_year = _partial(s, partial)
        use = full.is_null() & pdate.is_not_null()
        counters += (
            ("imputed_day", use & is_month),
            ("imputed_month_and_day", use & is_year),
        )
        out = pl.coalesce(full, pdate)
    shown = ", ".join(formats)
    extra = (" or an Excel serial number" if excel_serial else "") + (
        "" if partial == "reject" else " or a partial date"
    )
    return v.then(
        out, "date", Failure(failed(s, out), "date_parse",
                             f"not a valid date in format {shown}{extra}"),
        counters=counters,
    )


class ParseDateOp(OpBase):
    """Parse a date written in one of several formats; optionally Excel serials and partial
    dates (imputed to the first or middle of the missing period)."""

    OP: ClassVar[str] = "parse_date"
    op: Literal["parse_date"]
    formats: list[str] | None = Field(
        default=None,
        description="strftime formats tried in order (%Y %m %d %b %B %H %M %S %f); default: "
        "the site's date_formats. %y (two-digit year) is refused.",
    )
    excel_serial: bool = Field(
        default=False, description="Also accept Excel serial day numbers (1900 date system)."
    )
    partial: Literal["reject", "first", "mid"] = Field(
        default="reject",
        description="Partial dates (2020-06, UN/06/2020, 2020): reject them (the cell fails), "
        "or impute the first day/month ('first') or the middle ('mid': 15th, 1 July).",
    )

    @field_validator("formats")
    @classmethod
    def _formats(cls, v: list[str] | None) -> list[str] | None:
        if v is not None:
            if not v:
                raise ValueError("give at least one format")
            for f in v:
                check_format(f)
        return v

    def build(self, ctx: BuildContext, inp: Value | None) -> Value:
        v = self.input(ctx, inp)
        formats = tuple(self.formats) if self.formats else ctx.defaults.date_formats
        return parse_dates(v, formats, excel_serial=self.excel_serial, partial=self.partial)
