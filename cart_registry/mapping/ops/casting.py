"""``cast``: text to number or boolean, and the implicit typing every column gets at the end.

Numbers are read as text first and parsed here so that a comma decimal mark, ``inf``/``nan``
or a stray unit ("12 kg") fails on that cell, with its location, instead of failing the file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from cart_registry.mapping.ops.base import (
    BuildContext,
    Failure,
    Kind,
    OpBase,
    SpecError,
    Value,
    text_of,
)

if TYPE_CHECKING:
    import polars as pl

#: largest integer a float64 holds exactly; beyond it "integral" is meaningless
_INT_LIMIT = 2.0**53


def parse_float(expr: pl.Expr, decimal: str) -> pl.Expr:
    """Text -> Float64; null where the text is not a finite number."""
    import polars as pl

    s = expr.str.strip_chars()
    if decimal == ",":
        s = s.str.replace(",", ".", literal=True)
    out = s.cast(pl.Float64, strict=False)
    return pl.when(out.is_finite()).then(out)


def parse_int(expr: pl.Expr, decimal: str) -> pl.Expr:
    """Text -> Int64; '12', '12.0' and '1e3' are integers, '12.5' is not."""
    import polars as pl

    f = parse_float(expr, decimal)
    return pl.when((f == f.round(0)) & (f.abs() < _INT_LIMIT)).then(f.cast(pl.Int64))


def parse_bool(expr: pl.Expr, true_values: tuple[str, ...], false_values: tuple[str, ...]) -> pl.Expr:
    import polars as pl

    s = expr.str.strip_chars().str.to_lowercase()
    return (
        pl.when(s.is_in([v.lower() for v in true_values]))
        .then(pl.lit(True))
        .when(s.is_in([v.lower() for v in false_values]))
        .then(pl.lit(False))
        .otherwise(pl.lit(None, dtype=pl.Boolean))
    )


def failed(before: pl.Expr, after: pl.Expr) -> pl.Expr:
    """A value came in and none came out."""
    return before.is_not_null() & after.is_null()


class CastOp(OpBase):
    """Parse text as a number, an integer or a boolean (or turn a value into text)."""

    OP: ClassVar[str] = "cast"
    op: Literal["cast"]
    to: Literal["string", "int", "float", "bool"] = Field(description="Target kind.")
    decimal: Literal[".", ","] | None = Field(
        default=None,
        description="Decimal mark; default: the REDCap dictionary's validation for the field "
        "(number_comma_decimal), else the site default.",
    )
    true_values: list[str] | None = Field(
        default=None, description="Texts read as true (case-insensitive); default: site."
    )
    false_values: list[str] | None = Field(
        default=None, description="Texts read as false (case-insensitive); default: site."
    )

    def build(self, ctx: BuildContext, inp: Value | None) -> Value:
        v = self.input(ctx, inp)
        field = v.fields[0] if len(v.fields) == 1 else None
        return cast_value(
            v, self.to, ctx,
            decimal=self.decimal or ctx.decimal_for(field),
            true_values=tuple(self.true_values) if self.true_values is not None else None,
            false_values=tuple(self.false_values) if self.false_values is not None else None,
        )


def cast_value(
    v: Value,
    to: Kind,
    ctx: BuildContext,
    *,
    decimal: str | None = None,
    true_values: tuple[str, ...] | None = None,
    false_values: tuple[str, ...] | None = None,
) -> Value:
    """Convert ``v`` to kind ``to``, recording cells that fail."""
    import polars as pl

    if v.kind == to:
        return v
    field = v.fields[0] if len(v.fields) == 1 else None
    dec = decimal or ctx.decimal_for(field)
    if to == "string":
        if v.kind == "date":
            return v.then(v.expr.dt.strftime("%Y-%m-%d"), "string")
        return v.then(text_of(v), "string")
    if to == "float":
        if v.kind == "int":
            return v.then(v.expr.cast(pl.Float64), "float")
        if v.kind == "string":
            out = parse_float(v.expr, dec)
            return v.then(out, "float", Failure(failed(v.expr, out), "not_a_number",
                                                f"not a number (decimal mark {dec!r})"))
    if to == "int":
        if v.kind == "string":
            out = parse_int(v.expr, dec)
            return v.then(out, "int", Failure(failed(v.expr, out), "not_an_integer",
                                              "not a whole number"))
        if v.kind == "float":
            out = pl.when((v.expr == v.expr.round(0)) & (v.expr.abs() < _INT_LIMIT)).then(
                v.expr.cast(pl.Int64)
            )
            return v.then(out, "int", Failure(failed(v.expr, out), "not_an_integer",
                                              "not a whole number"))
        if v.kind == "bool":
            return v.then(v.expr.cast(pl.Int64), "int")
    if to == "bool":
        if v.kind == "string":
            tv = true_values if true_values is not None else ctx.defaults.true_values
            fv = false_values if false_values is not None else ctx.defaults.false_values
            out = parse_bool(v.expr, tv, fv)
            return v.then(out, "bool", Failure(
                failed(v.expr, out), "not_a_boolean",
                f"not a yes/no value (true: {'/'.join(tv)}; false: {'/'.join(fv)})"))
        if v.kind == "int":
            out = pl.when(v.expr == 1).then(pl.lit(True)).when(v.expr == 0).then(pl.lit(False))
            return v.then(out, "bool", Failure(failed(v.expr, out), "not_a_boolean",
                                               "not 0 or 1"))
    if to == "date" and v.kind == "string":
        from cart_registry.mapping.ops.dates import parse_dates

        return parse_dates(v, ctx.defaults.date_formats, excel_serial=False, partial="reject")
    if to == "list":
        if v.kind == "string":
            sep = ctx.defaults.list_separator
            parts = v.expr.str.split(sep).list.eval(
                pl.element().str.strip_chars().filter(pl.element().str.len_chars() > 0)
            )
            return v.then(parts, "list")
        return v.then(pl.concat_list([text_of(v)]), "list")
    raise SpecError(f"cannot turn a {v.kind} value into {to}")
