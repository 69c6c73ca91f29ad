"""Typed model of the canonical standard and its loader.

The YAML files in ``schemas/`` are the single declaration of the canonical tables. This module
checks their shape (pydantic, unknown keys refused with a suggestion) and turns them into frozen
objects that the derivations in ``derive.py`` read.
"""

from __future__ import annotations

import difflib
import functools
import graphlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from cart_registry.errors import ConfigError
from cart_registry.yamlio import read_yaml

PROVENANCE_FILE = "_provenance.yaml"


class ColumnType(StrEnum):
    STRING = "string"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    DATE = "date"
    TIMESTAMP = "timestamp"
    LIST_STRING = "list[string]"


PhiClass = Literal["direct", "quasi", "none"]


class _BindingSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    system: str
    code: str
    display: str | None = None
    verified: bool


class _ColumnSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    type: ColumnType
    nullable: bool
    description: str
    phi: PhiClass
    critical: bool = False
    unit: str | None = None
    values: list[str] | None = None
    min: float | None = None
    max: float | None = None
    pattern: str | None = None
    sorted_set: bool = False
    free_text: bool = False
    binding: _BindingSpec | None = None


class _ForeignKeySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    columns: list[str]
    references: str
    ref_columns: list[str]


class _TableSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    table: str
    description: str
    grain: str
    primary_key: list[str]
    foreign_keys: list[_ForeignKeySpec] = []
    provenance: bool = True
    columns: list[_ColumnSpec]


class _ProvenanceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    columns: list[_ColumnSpec]


@dataclass(frozen=True)
class Binding:
    system: str
    code: str
    display: str | None
    verified: bool


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    nullable: bool
    description: str
    phi: PhiClass
    critical: bool = False
    unit: str | None = None
    values: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    pattern: str | None = None
    sorted_set: bool = False
    free_text: bool = False
    binding: Binding | None = None
    #: True for the provenance columns appended from ``_provenance.yaml``
    provenance: bool = False

    def constraints(self) -> list[str]:
        """Names of the constraints declared on this column, in a stable order.

        These names are the check names Pandera reports (see ``derive.pandera_schema``), so a
        test can break each one and expect exactly that name back.
        """
        out: list[str] = []
        if not self.nullable:
            out.append("not_nullable")
        if self.values is not None:
            out.append("list_values_in_set" if self.type is ColumnType.LIST_STRING else "isin")
        if self.min is not None or self.max is not None:
            out.append("in_range")
        if self.pattern is not None:
            out.append("str_matches")
        if self.sorted_set:
            out.append("sorted_set")
        return out


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    references: str
    ref_columns: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    grain: str
    primary_key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...]
    columns: tuple[Column, ...]
    source_file: str

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise ConfigError(
            f"table {self.name!r} has no column {name!r}"
            + _suggest(name, self.column_names)
        )

    @property
    def business_columns(self) -> list[Column]:
        """Columns of the table proper, without the provenance columns."""
        return [c for c in self.columns if not c.provenance]

    @property
    def critical_columns(self) -> list[Column]:
        return [c for c in self.columns if c.critical]


@dataclass(frozen=True)
class Standard:
    """All canonical tables, in foreign-key order (referenced tables first)."""

    tables: tuple[Table, ...]
    root: Path
    provenance_columns: tuple[Column, ...] = field(default=())

    def __iter__(self) -> Iterator[Table]:
        return iter(self.tables)

    @property
    def table_names(self) -> list[str]:
        return [t.name for t in self.tables]

    def table(self, name: str) -> Table:
        for t in self.tables:
            if t.name == name:
                return t
        raise ConfigError(f"unknown canonical table {name!r}" + _suggest(name, self.table_names))


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _pydantic_error(path: Path, exc: ValidationError) -> ConfigError:
    # an unknown key usually explains the "field required" next to it: report it first
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    first = errors[0]
    loc = ".".join(str(p) for p in first["loc"])
    msg = first["msg"]
    if first["type"] == "extra_forbidden":
        key = str(first["loc"][-1])
        allowed = list(_ColumnSpec.model_fields) + list(_TableSpec.model_fields)
        msg = f"unknown key {key!r}" + _suggest(key, allowed)
    return ConfigError(f"{path.name}: {loc}: {msg}")


def _column(spec: _ColumnSpec, *, provenance: bool = False) -> Column:
    b = spec.binding
    return Column(
        name=spec.name,
        type=spec.type,
        nullable=spec.nullable,
        description=" ".join(spec.description.split()),
        phi=spec.phi,
        critical=spec.critical,
        unit=spec.unit,
        values=tuple(spec.values) if spec.values is not None else None,
        min=spec.min,
        max=spec.max,
        pattern=spec.pattern,
        sorted_set=spec.sorted_set,
        free_text=spec.free_text,
        binding=Binding(b.system, b.code, b.display, b.verified) if b else None,
        provenance=provenance,
    )


def default_schemas_dir() -> Path:
    """The ``schemas/`` folder shipped beside the package (the project may override it)."""
    return Path(__file__).resolve().parents[2] / "schemas"


@functools.cache
def _load_cached(root: Path) -> Standard:
    if not root.is_dir():
        raise ConfigError(f"schemas folder not found: {root}")
    prov_path = root / PROVENANCE_FILE
    try:
        prov = _ProvenanceSpec.model_validate(read_yaml(prov_path))
    except ValidationError as exc:
        raise _pydantic_error(prov_path, exc) from None
    prov_cols = tuple(_column(c, provenance=True) for c in prov.columns)

    specs: dict[str, tuple[_TableSpec, Path]] = {}
    for path in sorted(root.glob("*.yaml")):
        if path.name.startswith("_"):
            continue
        try:
            spec = _TableSpec.model_validate(read_yaml(path))
        except ValidationError as exc:
            raise _pydantic_error(path, exc) from None
        if spec.table != path.stem:
            raise ConfigError(f"{path.name}: table name {spec.table!r} must match the file name")
        specs[spec.table] = (spec, path)

    tables: dict[str, Table] = {}
    for name, (spec, path) in specs.items():
        cols = [_column(c) for c in spec.columns]
        own = {c.name for c in cols}
        if spec.provenance:
            # A table may declare a provenance column itself (patient.site_id is also a
            # business key); the declaration in the table then wins over the shared one.
            cols += [c for c in prov_cols if c.name not in own]
        names = [c.name for c in cols]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ConfigError(f"{path.name}: duplicate column(s) {sorted(dupes)}")
        for key in spec.primary_key:
            if key not in names:
                raise ConfigError(
                    f"{path.name}: primary_key column {key!r} is not declared" + _suggest(key, names)
                )
        fks = []
        for fk in spec.foreign_keys:
            if fk.references not in specs:
                raise ConfigError(
                    f"{path.name}: foreign key references unknown table {fk.references!r}"
                    + _suggest(fk.references, list(specs))
                )
            for col in fk.columns:
                if col not in names:
                    raise ConfigError(f"{path.name}: foreign key column {col!r} is not declared")
            fks.append(ForeignKey(tuple(fk.columns), fk.references, tuple(fk.ref_columns)))
        tables[name] = Table(
            name=name,
            description=" ".join(spec.description.split()),
            grain=spec.grain,
            primary_key=tuple(spec.primary_key),
            foreign_keys=tuple(fks),
            columns=tuple(cols),
            source_file=path.name,
        )

    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for name in sorted(tables):
        sorter.add(name, *sorted({fk.references for fk in tables[name].foreign_keys} - {name}))
    try:
        order = list(sorter.static_order())
    except graphlib.CycleError as exc:
        raise ConfigError(f"foreign keys form a cycle: {exc.args[1]}") from None
    return Standard(tables=tuple(tables[n] for n in order), root=root, provenance_columns=prov_cols)


def load_standard(schemas_dir: Path | None = None) -> Standard:
    """Load (once per folder) and check the canonical standard."""
    return _load_cached((schemas_dir or default_schemas_dir()).resolve())
