"""What every mapping operation shares: the value it builds, its failures, its context.

An operation never sees a row. It receives a polars expression (the value so far) and returns
a new expression plus, for operations that can fail on a cell, a boolean expression that is
true exactly where the cell failed (a value came in, none came out). The engine evaluates all
of a rule's expressions in one ``select`` and turns the failure flags into ingest issues, so a
mapping of a million rows is a handful of columnar kernels, not a Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    import polars as pl

#: the value kinds an expression can have; they follow the standard's column types
Kind = Literal["string", "int", "float", "bool", "date", "list"]
KINDS: tuple[Kind, ...] = ("string", "int", "float", "bool", "date", "list")


@dataclass(frozen=True)
class Failure:
    """Cells where one step failed: ``flag`` is true there."""

    flag: pl.Expr
    reason_code: str
    reason: str


@dataclass(frozen=True)
class Value:
    """An expression under construction, with what it was made from."""

    expr: pl.Expr
    kind: Kind
    #: source fields the value was computed from (for lineage and for issue values)
    fields: tuple[str, ...] = ()
    failures: tuple[Failure, ...] = ()
    #: the untouched source text (missing-data codes kept) when the value is one source field;
    #: code lists look at it so that a missing-data code can be mapped like any other code
    raw: pl.Expr | None = None
    #: notes for the lineage, e.g. partial-date precision expressions {label: bool expr}
    counters: tuple[tuple[str, pl.Expr], ...] = ()

    def then(self, expr: pl.Expr, kind: Kind, *failures: Failure,
             counters: tuple[tuple[str, pl.Expr], ...] = ()) -> Value:
        """The next value in a pipeline: same source fields, failures accumulated."""
        return replace(
            self, expr=expr, kind=kind, failures=self.failures + failures, raw=None,
            counters=self.counters + counters,
        )


@dataclass(frozen=True)
class Defaults:
    """Site-wide parsing defaults (``site.yaml`` ``defaults:``)."""

    date_formats: tuple[str, ...] = ("%Y-%m-%d",)
    decimal: str = "."
    true_values: tuple[str, ...] = ("1", "y", "yes", "true", "t")
    false_values: tuple[str, ...] = ("0", "n", "no", "false", "f")
    list_separator: str = "|"


class BuildContext(Protocol):
    """What an operation may ask of the engine while it builds its expression."""

    site_id: str
    defaults: Defaults
    missing_codes: frozenset[str]

    def field(self, name: str) -> Value:
        """A source field: trimmed text, blank and missing-data codes as null."""
        ...

    def has_field(self, name: str) -> bool: ...

    def columns_like(self, prefix: str) -> list[str]:
        """Source columns whose names start with ``prefix`` (checkbox expansions)."""
        ...

    def decimal_for(self, name: str | None) -> str:
        """Decimal mark of a source field (the REDCap dictionary may say comma)."""
        ...

    def value_set(self, name: str) -> dict[str, Any]:
        """A shared code list from ``mappings/value_sets/<name>.yaml``."""
        ...

    def choice_labels(self, field: str) -> dict[str, str]:
        """code -> label of a REDCap choice field (empty when there is no dictionary)."""
        ...

    def construct_ids(self) -> dict[str, str]:
        """Lower-cased construct id and name -> construct id, from the central catalog."""
        ...

    def hash_expr(self, expr: pl.Expr) -> pl.Expr:
        """A stable (version-independent) hex digest of a string expression."""
        ...

    def build(self, rule: Any, inp: Value | None) -> Value:
        """Build a nested column rule (used by ``coalesce``)."""
        ...


class SpecError(Exception):
    """A mapping problem found while building (unknown field, wrong kind); the engine adds
    the file, line and rule to the message."""

    def __init__(self, message: str, loc: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.loc = loc


class OpBase(BaseModel):
    """Fields and behaviour shared by every operation."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    #: registry name; every subclass sets ``op: Literal['<name>']``
    OP: ClassVar[str] = ""
    #: what the op reads and makes (shown in the spec and in ``mapping check``)
    INPUT: ClassVar[str] = "string"

    from_: str | list[str] | None = Field(
        default=None,
        alias="from",
        description="Source field(s) the operation reads. Without it, the operation reads the "
        "value of the previous step (or the pipeline's 'from').",
    )
    note: str | None = Field(default=None, description="Free comment kept in the lineage.")

    def source_fields(self) -> list[str]:
        """Source fields named by this op (not counting nested rules)."""
        if self.from_ is None:
            return []
        return [self.from_] if isinstance(self.from_, str) else list(self.from_)

    def input(self, ctx: BuildContext, inp: Value | None) -> Value:
        """The single input value: its own ``from`` if given, else the previous step."""
        fields = self.source_fields()
        if len(fields) > 1:
            raise SpecError(f"operation {self.OP!r} reads one field, got {fields}", ("from",))
        if fields:
            return ctx.field(fields[0])
        if inp is None:
            raise SpecError(f"operation {self.OP!r} needs 'from' (no previous step)", ("from",))
        return inp

    def build(self, ctx: BuildContext, inp: Value | None) -> Value:  # pragma: no cover
        raise NotImplementedError


def text_of(value: Value) -> pl.Expr:
    """A value as text, for operations that work on text whatever came before."""
    import polars as pl

    if value.kind == "string":
        return value.expr
    if value.kind == "list":
        return value.expr.list.join("|")
    return value.expr.cast(pl.String)
