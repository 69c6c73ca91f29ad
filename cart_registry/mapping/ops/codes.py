"""Code lists: ``map_values``, ``redcap_label`` and ``lookup_construct``.

A code list maps each site code to a canonical value and nothing else: a code the list does
not know fails on that cell (``not_in_code_list``), it is never passed through. Missing-data
codes (``site.yaml`` ``reader.missing_codes``) become null unless the list maps them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

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

if TYPE_CHECKING:
    import polars as pl

Target = str | bool | int | float | None


def _kind_of(targets: list[Target]) -> Kind:
    kinds = {type(t) for t in targets if t is not None}
    if not kinds or kinds == {str}:
        return "string"
    if kinds == {bool}:
        return "bool"
    if kinds <= {int}:
        return "int"
    if kinds <= {int, float}:
        return "float"
    raise SpecError(f"code list targets mix kinds: {sorted(k.__name__ for k in kinds)}")


def _dtype(kind: Kind) -> pl.DataType:
    import polars as pl

    return {"string": pl.String(), "bool": pl.Boolean(), "int": pl.Int64(),
            "float": pl.Float64()}[kind]


def code_list_expr(
    v: Value,
    table: dict[str, Target],
    missing: frozenset[str],
    *,
    ignore_case: bool = False,
    what: str = "code list",
) -> Value:
    """Map text through ``table``; unknown codes fail, unmapped missing codes become null."""
    import polars as pl

    if not table:
        raise SpecError(f"the {what} is empty")
    keys = list(table)
    kind = _kind_of(list(table.values()))
    if ignore_case:
        lowered: dict[str, Target] = {}
        for k, t in table.items():
            if k.lower() in lowered and lowered[k.lower()] != t:
                raise SpecError(f"codes {k!r} differ only by case but map differently")
            lowered[k.lower()] = t
        table, keys = lowered, list(lowered)
    targets = [table[k] for k in keys]
    not_missing = [m for m in missing if m not in table]

    def norm(e: pl.Expr) -> pl.Expr:
        e = e.str.strip_chars()
        return e.str.to_lowercase() if ignore_case else e

    shown = ", ".join(keys[:12]) + (", ..." if len(keys) > 12 else "")
    reason = f"not in the {what} ({shown})"
    if v.kind == "list":
        el = norm(pl.element())
        out = v.expr.list.eval(
            el.replace_strict(keys, targets, default=None, return_dtype=_dtype(kind)).drop_nulls()
        )
        bad = v.expr.list.eval(~el.is_in(keys) & ~el.is_in(not_missing)).list.any()
        out = pl.when(out.list.len() > 0).then(out)
        return v.then(out, "list", Failure(bad.fill_null(False), "not_in_code_list", reason))
    src = norm(v.raw if v.raw is not None else text_of(v))
    out = src.replace_strict(keys, targets, default=None, return_dtype=_dtype(kind))
    bad = src.is_not_null() & ~src.is_in(keys) & ~src.is_in(not_missing)
    return v.then(out, kind, Failure(bad, "not_in_code_list", reason))


class MapValuesOp(OpBase):
    """Map site codes (or labels) to canonical values through a code list."""

    OP: ClassVar[str] = "map_values"
    op: Literal["map_values"]
    values: dict[str, Target] | None = Field(
        default=None,
        description="site code -> canonical value (a string, true/false, a number or null). "
        "Keys are read as written ('01', 'yes' stay text).",
    )
    value_set: str | None = Field(
        default=None,
        description="Name of a shared code list in mappings/value_sets/<name>.yaml; the inline "
        "'values' add to it and win on conflicts.",
    )
    ignore_case: bool = Field(default=False, description="Compare codes case-insensitively.")

    @model_validator(mode="after")
    def _some_values(self) -> MapValuesOp:
        if self.values is None and self.value_set is None:
            raise ValueError("give 'values' or 'value_set'")
        return self

    def table(self, ctx: BuildContext) -> dict[str, Target]:
        out: dict[str, Target] = {}
        if self.value_set is not None:
            out.update(ctx.value_set(self.value_set))
        out.update(self.values or {})
        return out

    def build(self, ctx: BuildContext, inp: Value | None) -> Value:
        v = self.input(ctx, inp)
        return code_list_expr(v, self.table(ctx), ctx.missing_codes, ignore_case=self.ignore_case)


class RedcapLabelOp(OpBase):
    """The label of a REDCap choice code, from the site's data dictionary."""

    OP: ClassVar[str] = "redcap_label"
    op: Literal["redcap_label"]

    def build(self, ctx: BuildContext, inp: Value | None) -> Value:
        v = self.input(ctx, inp)
        if len(v.fields) != 1:
            raise SpecError("redcap_label reads exactly one REDCap field", ("from",))
        labels = ctx.choice_labels(v.fields[0])
        if not labels:
            raise SpecError(f"field {v.fields[0]!r} has no choices in the REDCap dictionary",
                            ("from",))
        table: dict[str, Any] = dict(labels)
        return code_list_expr(v, table, ctx.missing_codes,
                              what=f"dictionary choices of {v.fields[0]!r}")


class LookupConstructOp(OpBase):
    """Local product code or name -> construct_id of the central catalog
    (``mappings/constructs.yaml``)."""

    OP: ClassVar[str] = "lookup_construct"
    op: Literal["lookup_construct"]
    codes: dict[str, str] = Field(
        default_factory=dict,
        description="The site's local product code or name -> construct_id. Every target must "
        "exist in the catalog.",
    )
    match_catalog: bool = Field(
        default=True,
        description="Also accept a catalog construct_id or construct_name as written by the site "
        "(case-insensitive).",
    )

    def build(self, ctx: BuildContext, inp: Value | None) -> Value:
        v = self.input(ctx, inp)
        catalog = ctx.construct_ids()
        known = set(catalog.values())
        unknown = sorted({t for t in self.codes.values() if t not in known})
        if unknown and known:
            raise SpecError(
                f"construct id(s) {unknown} are not in the construct catalog", ("codes",)
            )
        table: dict[str, Target] = {}
        if self.match_catalog:
            table.update(catalog)  # already lower-cased keys
        table.update({k.lower(): t for k, t in self.codes.items()})
        if not table:
            raise SpecError("no codes and an empty construct catalog", ("codes",))
        out = code_list_expr(v, table, ctx.missing_codes, ignore_case=True,
                             what="construct codes")
        f = out.failures[-1]
        return Value(out.expr, out.kind, out.fields, out.failures[:-1] + (
            Failure(f.flag, "unknown_construct",
                    "product is not a known construct (site codes or catalog)"),), None,
            out.counters)
