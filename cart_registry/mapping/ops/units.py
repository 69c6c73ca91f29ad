"""Unit conversion: ``convert_units`` and ``per_kg`` (total cells -> cells per kg).

Units come from a closed table; each is an affine map to its dimension's base unit
(``base = value * factor + offset``), so every conversion has an exact inverse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field, model_validator

from cart_registry.mapping.ops.base import BuildContext, Failure, OpBase, SpecError, Value
from cart_registry.mapping.ops.casting import cast_value, failed

if TYPE_CHECKING:
    import polars as pl


@dataclass(frozen=True)
class Unit:
    name: str
    dimension: str
    factor: float
    offset: float = 0.0
    label: str = ""


UNITS: dict[str, Unit] = {
    u.name: u
    for u in [
        Unit("degC", "temperature", 1.0, 0.0, "°C"),
        Unit("degF", "temperature", 5 / 9, -32 * 5 / 9, "°F"),
        Unit("K", "temperature", 1.0, -273.15, "kelvin"),
        Unit("kg", "mass", 1.0, label="kilogram"),
        Unit("g", "mass", 1e-3, label="gram"),
        Unit("lb", "mass", 0.45359237, label="pound"),
        Unit("m", "length", 1.0, label="metre"),
        Unit("cm", "length", 1e-2, label="centimetre"),
        Unit("in", "length", 0.0254, label="inch"),
        Unit("fraction", "ratio", 1.0, label="fraction (0-1)"),
        Unit("percent", "ratio", 1e-2, label="%"),
        Unit("per_10000", "ratio", 1e-4, label="per 10,000"),
        Unit("cells", "cell_count", 1.0, label="cells"),
        Unit("e6_cells", "cell_count", 1e6, label="10^6 cells"),
        Unit("e8_cells", "cell_count", 1e8, label="10^8 cells"),
        Unit("e9_cells", "cell_count", 1e9, label="10^9 cells"),
        Unit("cells_per_kg", "cell_dose", 1.0, label="cells/kg"),
        Unit("e6_cells_per_kg", "cell_dose", 1e6, label="10^6 cells/kg"),
        Unit("mg_m2", "dose_per_area", 1.0, label="mg/m2"),
        Unit("g_m2", "dose_per_area", 1e3, label="g/m2"),
    ]
}
UnitName = Literal[
    "degC", "degF", "K", "kg", "g", "lb", "m", "cm", "in", "fraction", "percent", "per_10000",
    "cells", "e6_cells", "e8_cells", "e9_cells", "cells_per_kg", "e6_cells_per_kg", "mg_m2",
    "g_m2",
]


def convert(x: float, from_unit: str, to_unit: str) -> float:
    """Scalar conversion (the expression form below must agree with it)."""
    a, b = UNITS[from_unit], UNITS[to_unit]
    if a.dimension != b.dimension:
        raise ValueError(f"cannot convert {from_unit} ({a.dimension}) to {to_unit} ({b.dimension})")
    return (x * a.factor + a.offset - b.offset) / b.factor


def convert_expr(expr: pl.Expr, from_unit: str, to_unit: str) -> pl.Expr:
    a, b = UNITS[from_unit], UNITS[to_unit]
    if a.dimension != b.dimension:
        raise SpecError(
            f"cannot convert {from_unit} ({a.dimension}) to {to_unit} ({b.dimension})"
        )
    if a.name == b.name:
        return expr
    return (expr * a.factor + (a.offset - b.offset)) / b.factor


class ConvertUnitsOp(OpBase):
    """Convert a number from one unit to another (°F -> °C, lb -> kg, % -> fraction, total
    cells -> 10^8 cells ...). The source unit is fixed or read per row from a unit field."""

    OP: ClassVar[str] = "convert_units"
    op: Literal["convert_units"]
    from_unit: UnitName | None = Field(default=None, description="Unit of every source value.")
    unit_field: str | None = Field(
        default=None, description="Source field that holds each row's unit (instead of from_unit)."
    )
    unit_codes: dict[str, UnitName] | None = Field(
        default=None,
        description="Site unit text -> unit name, for unit_field (e.g. {'F': degF, '°C': degC}).",
    )
    to_unit: UnitName = Field(description="Unit of the canonical column.")

    @model_validator(mode="after")
    def _one_source_unit(self) -> ConvertUnitsOp:
        if (self.from_unit is None) == (self.unit_field is None):
            raise ValueError("give exactly one of 'from_unit' or 'unit_field'")
        if self.unit_field is not None and not self.unit_codes:
            raise ValueError("'unit_field' needs 'unit_codes'")
        return self

    def source_fields(self) -> list[str]:
        return super().source_fields() + ([self.unit_field] if self.unit_field else [])

    def build(self, ctx: BuildContext, inp: Value | None) -> Value:
        import polars as pl

        fields = super().source_fields()
        v = ctx.field(fields[0]) if fields else self.input(ctx, inp)
        v = cast_value(v, "float", ctx)
        if self.from_unit is not None:
            return v.then(convert_expr(v.expr, self.from_unit, self.to_unit), "float")
        assert self.unit_field is not None and self.unit_codes is not None
        unit = ctx.field(self.unit_field).expr
        low = unit.str.to_lowercase()
        out = pl.coalesce([
            pl.when(low == code.strip().lower()).then(convert_expr(v.expr, name, self.to_unit))
            for code, name in self.unit_codes.items()
        ])
        res = v.then(out, "float", Failure(
            failed(v.expr, out), "unknown_unit",
            f"unit in {self.unit_field!r} missing or not one of {sorted(self.unit_codes)}"))
        return Value(res.expr, res.kind, (*v.fields, self.unit_field), res.failures, None,
                     res.counters)


class PerKgOp(OpBase):
    """Divide an amount by body weight: e.g. a total CAR+ cell dose -> 10^6 cells/kg."""

    OP: ClassVar[str] = "per_kg"
    op: Literal["per_kg"]
    weight_from: str = Field(description="Source field with the body weight.")
    weight_unit: Literal["kg", "g", "lb"] = Field(default="kg", description="Unit of the weight.")
    from_unit: UnitName = Field(description="Unit of the amount (e.g. cells, e8_cells).")
    to_unit: UnitName = Field(description="Unit of the result per kg (e.g. e6_cells).")

    def source_fields(self) -> list[str]:
        return super().source_fields() + [self.weight_from]

    def build(self, ctx: BuildContext, inp: Value | None) -> Value:
        import polars as pl

        fields = super().source_fields()
        v = ctx.field(fields[0]) if fields else self.input(ctx, inp)
        v = cast_value(v, "float", ctx)
        w = cast_value(ctx.field(self.weight_from), "float", ctx)
        kg = convert_expr(w.expr, self.weight_unit, "kg")
        amount = convert_expr(v.expr, self.from_unit, self.to_unit)
        out = pl.when(kg > 0).then(amount / kg)
        res = v.then(out, "float", Failure(
            failed(v.expr, out), "missing_weight",
            f"dose given as a total but weight {self.weight_from!r} is missing or not positive"))
        return Value(res.expr, "float", (*v.fields, self.weight_from), res.failures, None,
                     res.counters)
