"""REDCap checkboxes: ``checkbox_set`` (a sorted set of canonical values) and ``checkbox_bool``.

A checkbox field ``cyto`` arrives as one column per choice, ``cyto___<code>``, holding 1 or 0
(label exports are turned back into 1/0 by the REDCap reader). REDCap writes the code in the
column name lower-cased with every other character than a letter or digit replaced by ``_``
(code ``-99`` becomes ``cyto____99``), so codes are matched through the same rule.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from cart_registry.mapping.ops.base import BuildContext, Failure, OpBase, SpecError, Value

if TYPE_CHECKING:
    import polars as pl

CHECKED = "1"


def checkbox_suffix(code: str) -> str:
    """REDCap's column suffix for a checkbox choice code."""
    return re.sub(r"[^a-z0-9]", "_", code.strip().lower())


def _columns(ctx: BuildContext, field: str) -> dict[str, str]:
    """suffix -> column name of the checkbox field's expansion columns."""
    prefix = f"{field}___"
    cols = {c[len(prefix):]: c for c in ctx.columns_like(prefix)}
    if not cols:
        raise SpecError(f"no checkbox columns {prefix}<code> in the source", ("field",))
    return cols


def _checked(ctx: BuildContext, column: str) -> pl.Expr:
    # the raw text: a missing-data code in a checkbox column must not read as blank
    v = ctx.field(column)
    return v.raw if v.raw is not None else v.expr


class CheckboxSetOp(OpBase):
    """A REDCap checkbox field -> the set of canonical values of its ticked choices."""

    OP: ClassVar[str] = "checkbox_set"
    op: Literal["checkbox_set"]
    field: str = Field(description="The checkbox field's name (without ___code).")
    codes: dict[str, str] | None = Field(
        default=None,
        description="REDCap choice code -> canonical value; default: the codes themselves. A "
        "ticked choice missing here fails the cell, unless it is a missing-data code.",
    )

    def source_fields(self) -> list[str]:
        return [self.field]

    def build(self, ctx: BuildContext, inp: Value | None) -> Value:
        import polars as pl

        cols = _columns(ctx, self.field)
        table = {checkbox_suffix(k): v for k, v in (self.codes or {}).items()}
        if self.codes is None:
            table = {s: s for s in cols}
        unknown_codes = sorted(set(table) - set(cols))
        if unknown_codes:
            raise SpecError(
                f"code(s) {unknown_codes} have no column {self.field}___<code> in the source",
                ("codes",),
            )
        missing = {checkbox_suffix(m) for m in ctx.missing_codes}
        ticks = {s: _checked(ctx, c).str.strip_chars() == CHECKED for s, c in cols.items()}
        parts = [pl.when(ticks[s]).then(pl.lit(v)) for s, v in table.items()]
        values = pl.concat_list(parts).list.drop_nulls().list.unique().list.sort()
        any_col = pl.any_horizontal([_checked(ctx, c).is_not_null() for c in cols.values()])
        out = pl.when(any_col & (values.list.len() > 0)).then(values)
        stray = [ticks[s] for s in cols if s not in table and s not in missing]
        bad = pl.any_horizontal(stray).fill_null(False) if stray else pl.lit(False)
        return Value(
            out, "list", tuple(cols.values()),
            (Failure(bad, "not_in_code_list",
                     f"a ticked choice of {self.field!r} is not in the code list"),),
        )


class CheckboxBoolOp(OpBase):
    """A REDCap checkbox field -> true when any of the given choices is ticked."""

    OP: ClassVar[str] = "checkbox_bool"
    op: Literal["checkbox_bool"]
    field: str = Field(description="The checkbox field's name (without ___code).")
    codes: list[str] = Field(description="Choice codes that mean true.")

    def source_fields(self) -> list[str]:
        return [self.field]

    def build(self, ctx: BuildContext, inp: Value | None) -> Value:
        import polars as pl

        cols = _columns(ctx, self.field)
        want = [checkbox_suffix(c) for c in self.codes]
        absent = sorted(set(want) - set(cols))
        if absent:
            raise SpecError(f"code(s) {absent} have no column {self.field}___<code>", ("codes",))
        missing = [s for s in cols if s in {checkbox_suffix(m) for m in ctx.missing_codes}]
        ticked = lambda s: _checked(ctx, cols[s]).str.strip_chars() == CHECKED  # noqa: E731
        yes = pl.any_horizontal([ticked(s) for s in want]).fill_null(False)
        unknown = (
            pl.any_horizontal([ticked(s) for s in missing]).fill_null(False)
            if missing else pl.lit(False)
        )
        seen = pl.any_horizontal([_checked(ctx, c).is_not_null() for c in cols.values()])
        out = (
            pl.when(yes).then(pl.lit(True))
            .when(unknown | ~seen).then(pl.lit(None, dtype=pl.Boolean))
            .otherwise(pl.lit(False))
        )
        return Value(out, "bool", tuple(cols.values()))
