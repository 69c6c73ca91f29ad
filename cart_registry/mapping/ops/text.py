"""Plain field handling: ``rename``, ``constant``, ``merge``, ``split``, ``null_if``,
``fill_null`` and ``coalesce``."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field, model_validator

from cart_registry.mapping.ops.base import (
    BuildContext,
    Failure,
    Kind,
    OpBase,
    SpecError,
    Value,
    text_of,
)
from cart_registry.mapping.ops.casting import failed

if TYPE_CHECKING:
    import polars as pl

    from cart_registry.mapping.ops import ColumnSpec

Scalar = str | bool | int | float | dt.date | None


def literal(value: Scalar) -> tuple[pl.Expr, Kind]:
    import polars as pl

    if value is None:
        return pl.lit(None, dtype=pl.String), "string"
    if isinstance(value, bool):
        return pl.lit(value, dtype=pl.Boolean), "bool"
    if isinstance(value, int):
        return pl.lit(value, dtype=pl.Int64), "int"
    if isinstance(value, float):
        return pl.lit(value, dtype=pl.Float64), "float"
    if isinstance(value, dt.date):
        return pl.lit(value, dtype=pl.Date), "date"
    return pl.lit(value, dtype=pl.String), "string"


class RenameOp(OpBase):
    """Take a source field as it is (the column's type is applied at the end)."""

    OP: ClassVar[str] = "rename"
    op: Literal["rename"] = "rename"
    from_: str = Field(alias="from", description="Source field.")

    def build(self, ctx: BuildContext, inp: Value | None) -> Value:
        return ctx.field(self.from_)


class ConstantOp(OpBase):
    """The same value on every row (e.g. the grading scale a site always uses)."""

    OP: ClassVar[str] = "constant"
    op: Literal["constant"]
    value: Scalar = Field(description="The value (text, number, true/false, date or null).")

    def build(self, ctx: BuildContext, inp: Value | None) -> Value:
        expr, kind = literal(self.value)
        return Value(expr, kind)


class MergeOp(OpBase):
    """Join several fields into one text (blank parts are skipped)."""

    OP: ClassVar[str] = "merge"
    op: Literal["merge"]
    from_: list[str] = Field(alias="from", min_length=2, description="Fields, in order.")
    separator: str = Field(default=" ", description="Text put between the parts.")

    def build(self, ctx: BuildContext, inp: Value | None) -> Value:
        import polars as pl

        parts = [ctx.field(f).expr for f in self.from_]
        out = pl.concat_str(parts, separator=self.separator, ignore_nulls=True)
        out = pl.when(pl.any_horizontal([p.is_not_null() for p in parts])).then(out)
        return Value(out, "string", tuple(self.from_))


class SplitOp(OpBase):
    """Split text on a separator: keep one part (``index``) or all parts as a list."""

    OP: ClassVar[str] = "split"
    op: Literal["split"]
    separator: str = Field(min_length=1, description="Separator text.")
    index: int | None = Field(
        default=None, description="0-based part to keep (negative counts from the end); "
        "without it the result is a list."
    )

    def build(self, ctx: BuildContext, inp: Value | None) -> Value:
        import polars as pl

        v = self.input(ctx, inp)
        parts = text_of(v).str.split(self.separator).list.eval(
            pl.element().str.strip_chars().filter(pl.element().str.len_chars() > 0)
        )
        if self.index is None:
            return v.then(pl.when(parts.list.len() > 0).then(parts), "list")
        out = parts.list.get(self.index, null_on_oob=True)
        return v.then(out, "string", Failure(
            failed(v.expr, out), "split_missing_part",
            f"no part {self.index} after splitting on {self.separator!r}"))


class NullIfOp(OpBase):
    """Treat some texts as blank (e.g. 'ND', 'not done'); they are not errors."""

    OP: ClassVar[str] = "null_if"
    op: Literal["null_if"]
    values: list[str] = Field(min_length=1, description="Texts that mean 'no value'.")
    ignore_case: bool = Field(default=True, description="Compare case-insensitively.")

    def build(self, ctx: BuildContext, inp: Value | None) -> Value:
        import polars as pl

        v = self.input(ctx, inp)
        src = v.raw if v.raw is not None else text_of(v)
        s = src.str.strip_chars()
        vals = self.values
        if self.ignore_case:
            s, vals = s.str.to_lowercase(), [x.lower() for x in vals]
        out = pl.when(~s.is_in(vals).fill_null(False)).then(v.expr)
        keep_raw = pl.when(~s.is_in(vals).fill_null(False)).then(v.raw) if v.raw is not None else None
        res = v.then(out, v.kind)
        return Value(res.expr, res.kind, res.fields, res.failures, keep_raw, res.counters)


class FillNullOp(OpBase):
    """Use a fixed value where the value so far is blank."""

    OP: ClassVar[str] = "fill_null"
    op: Literal["fill_null"]
    value: Scalar = Field(description="Value used for blank cells.")

    def build(self, ctx: BuildContext, inp: Value | None) -> Value:
        v = self.input(ctx, inp)
        lit, kind = literal(self.value)
        if kind != v.kind and not (v.kind == "string" and kind == "string"):
            from cart_registry.mapping.ops.casting import cast_value

            v = cast_value(v, kind, ctx)
        return v.then(v.expr.fill_null(lit), kind)


class CoalesceOp(OpBase):
    """The first non-blank of several fields or nested rules."""

    OP: ClassVar[str] = "coalesce"
    op: Literal["coalesce"]
    from_: list[str] | None = Field(
        default=None, alias="from", description="Fields tried in order."
    )
    options: list[ColumnSpec] | None = Field(
        default=None,
        description="Column rules tried in order (each a field name, an operation or a "
        "pipeline); a failure in an option counts only when no option gives a value.",
    )

    @model_validator(mode="after")
    def _one_kind_of_input(self) -> CoalesceOp:
        if (self.from_ is None) == (self.options is None):
            raise ValueError("give exactly one of 'from' (fields) or 'options' (rules)")
        if self.from_ is not None and len(self.from_) < 2:
            raise ValueError("'from' needs at least two fields")
        return self

    def build(self, ctx: BuildContext, inp: Value | None) -> Value:
        import polars as pl

        if self.from_ is not None:
            vals = [ctx.field(f) for f in self.from_]
        else:
            vals = [ctx.build(o, inp) for o in self.options or []]
        kinds = {v.kind for v in vals}
        if len(kinds) > 1:
            raise SpecError(f"coalesce options give different kinds: {sorted(kinds)}")
        out = pl.coalesce([v.expr for v in vals])
        failures = tuple(
            Failure(f.flag & out.is_null(), f.reason_code, f.reason)
            for v in vals for f in v.failures
        )
        fields = tuple(dict.fromkeys(f for v in vals for f in v.fields))
        counters = tuple(c for v in vals for c in v.counters)
        return Value(out, vals[0].kind, fields, failures, None, counters)
