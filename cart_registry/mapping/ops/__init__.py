"""The closed registry of mapping operations.

A column rule in a mapping file is a source field name, one operation, or a pipeline of
operations (``{from: field, steps: [...]}``). There is no formula or ``eval`` escape hatch:
adding a transformation means adding a small tested class here.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from cart_registry.mapping.ops.base import (
    BuildContext,
    Defaults,
    Failure,
    Kind,
    OpBase,
    SpecError,
    Value,
)
from cart_registry.mapping.ops.casting import CastOp
from cart_registry.mapping.ops.checkbox import CheckboxBoolOp, CheckboxSetOp
from cart_registry.mapping.ops.codes import LookupConstructOp, MapValuesOp, RedcapLabelOp
from cart_registry.mapping.ops.dates import ParseDateOp
from cart_registry.mapping.ops.keys import PatientIdOp, SurrogateKeyOp
from cart_registry.mapping.ops.text import (
    CoalesceOp,
    ConstantOp,
    FillNullOp,
    MergeOp,
    NullIfOp,
    RenameOp,
    SplitOp,
)
from cart_registry.mapping.ops.units import UNITS, ConvertUnitsOp, PerKgOp

#: every operation, in the order the spec documents them
OP_CLASSES: tuple[type[OpBase], ...] = (
    RenameOp, CastOp, ParseDateOp, MapValuesOp, ConvertUnitsOp, PerKgOp, CheckboxSetOp,
    CheckboxBoolOp, SplitOp, MergeOp, ConstantOp, CoalesceOp, NullIfOp, FillNullOp,
    LookupConstructOp, RedcapLabelOp, PatientIdOp, SurrogateKeyOp,
)
OPS: dict[str, type[OpBase]] = {c.OP: c for c in OP_CLASSES}


def _tag(value: Any) -> str | None:
    if isinstance(value, dict):
        if "steps" in value:
            return "pipeline"
        op = value.get("op", "rename")
        return op if isinstance(op, str) else None
    if isinstance(value, PipelineRule):
        return "pipeline"
    return getattr(value, "OP", None)


_TAGGED_OPS = (
    Annotated[RenameOp, Tag("rename")]
    | Annotated[CastOp, Tag("cast")]
    | Annotated[ParseDateOp, Tag("parse_date")]
    | Annotated[MapValuesOp, Tag("map_values")]
    | Annotated[ConvertUnitsOp, Tag("convert_units")]
    | Annotated[PerKgOp, Tag("per_kg")]
    | Annotated[CheckboxSetOp, Tag("checkbox_set")]
    | Annotated[CheckboxBoolOp, Tag("checkbox_bool")]
    | Annotated[SplitOp, Tag("split")]
    | Annotated[MergeOp, Tag("merge")]
    | Annotated[ConstantOp, Tag("constant")]
    | Annotated[CoalesceOp, Tag("coalesce")]
    | Annotated[NullIfOp, Tag("null_if")]
    | Annotated[FillNullOp, Tag("fill_null")]
    | Annotated[LookupConstructOp, Tag("lookup_construct")]
    | Annotated[RedcapLabelOp, Tag("redcap_label")]
    | Annotated[PatientIdOp, Tag("patient_id")]
    | Annotated[SurrogateKeyOp, Tag("surrogate_key")]
)
StepRule = Annotated[_TAGGED_OPS, Discriminator(_tag)]


class PipelineRule(BaseModel):
    """Operations applied one after the other to a source field."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    from_: str | None = Field(
        default=None, alias="from", description="Source field the first step reads."
    )
    steps: list[StepRule] = Field(min_length=1, description="Operations, in order.")
    note: str | None = Field(default=None, description="Free comment kept in the lineage.")

    def source_fields(self) -> list[str]:
        out = [self.from_] if self.from_ else []
        for s in self.steps:
            out += rule_fields(s)
        return list(dict.fromkeys(out))


ColumnRule = Annotated[
    _TAGGED_OPS | Annotated[PipelineRule, Tag("pipeline")],
    Discriminator(_tag),
]
#: what a canonical column maps from: a field name (shorthand for rename) or a rule
ColumnSpec = str | ColumnRule

CoalesceOp.model_rebuild(_types_namespace={"ColumnSpec": ColumnSpec})


def rule_fields(rule: Any) -> list[str]:
    """Every source field a column rule reads, nested rules included."""
    if isinstance(rule, str):
        return [rule]
    if isinstance(rule, PipelineRule):
        return rule.source_fields()
    out = list(rule.source_fields())
    if isinstance(rule, CoalesceOp) and rule.options:
        for o in rule.options:
            out += rule_fields(o)
    return list(dict.fromkeys(out))


def rule_ops(rule: Any) -> list[str]:
    """Names of the operations a column rule uses, in order."""
    if isinstance(rule, str):
        return ["rename"]
    if isinstance(rule, PipelineRule):
        return [o for s in rule.steps for o in rule_ops(s)]
    out = [rule.OP]
    if isinstance(rule, CoalesceOp) and rule.options:
        for o in rule.options:
            out += rule_ops(o)
    return out


__all__ = [
    "OPS",
    "OP_CLASSES",
    "UNITS",
    "BuildContext",
    "ColumnRule",
    "ColumnSpec",
    "Defaults",
    "Failure",
    "Kind",
    "OpBase",
    "PipelineRule",
    "SpecError",
    "StepRule",
    "Value",
    "rule_fields",
    "rule_ops",
]
