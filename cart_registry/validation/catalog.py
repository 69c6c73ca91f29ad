"""The validation rule catalog: ``catalog.yaml`` plus the rules derived from the standard.

Rules are data (style anchor R5). Hand-written rules name a ``.sql`` file under ``sql/`` that
returns only the violating rows; conformance rules (not-null, value set, range, pattern,
primary key, foreign key) are generated from ``schemas/`` so that a column declared there is
checked without anyone writing SQL; ingest rules turn the ingest issues (pandera and the
mapping engine already ran) into rule results by ``reason_code``. The loader refuses an
unknown Kahn category, a missing SQL file, a duplicate id or an unknown endpoint tag.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cart_registry.errors import ConfigError
from cart_registry.standard import Standard

Severity = Literal["fatal", "error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("fatal", "error", "warning", "info")
#: severities whose failure makes the run fail (exit code 1)
BLOCKING: frozenset[str] = frozenset({"fatal", "error"})
Category = Literal["conformance", "completeness", "plausibility"]
Context = Literal["verification", "validation"]
#: Kahn et al. 2016 subcategories allowed per category (completeness has none in Kahn; we
#: allow atemporal/temporal to say whether the expectation depends on elapsed time)
SUBCATEGORIES: dict[str, tuple[str | None, ...]] = {
    "conformance": ("value", "relational", "computational"),
    "completeness": (None, "atemporal", "temporal"),
    "plausibility": ("uniqueness", "atemporal", "temporal"),
}
Kind = Literal["sql", "conformance", "ingest"]
DenominatorKind = Literal["table", "patients", "source_rows", "sites"]


class _KahnSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: Category
    subcategory: str | None = None
    context: Context = "verification"

    @model_validator(mode="after")
    def _check(self) -> _KahnSpec:
        if self.subcategory not in SUBCATEGORIES[self.category]:
            raise ValueError(
                f"subcategory {self.subcategory!r} is not one of "
                f"{SUBCATEGORIES[self.category]} for category {self.category!r}"
            )
        return self


class _ThresholdSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    count: int | None = Field(default=0, ge=0)
    pct: float | None = Field(default=None, ge=0, le=100)
    note: str = "any violation fails the rule"


class _DenominatorSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: DenominatorKind = "table"
    table: str | None = None
    #: structured filter (never an expression string): only rows whose column is in values
    column: str | None = None
    values: list[str] | None = None


class _RuleSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_+]+)+$")
    version: int = Field(ge=1)
    title: str
    kahn: _KahnSpec
    severity: Severity
    threshold: _ThresholdSpec = _ThresholdSpec()
    message: str
    fix_hint: str
    critical: bool = False
    endpoints: list[str] = []
    refs: list[str] = []
    answer_key_tags: list[str] = []
    table: str
    columns: list[str] = []
    denominator: _DenominatorSpec | None = None
    sql: str | None = None
    reason_codes: list[str] | None = None
    catch_all: bool = False
    audience: Literal["all", "coordinating_center"] = "all"
    #: the rule is not applicable while any of these tables is empty in the whole run
    requires_tables: list[str] = []


class _GeneratedSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = 1
    severity: dict[str, Severity]
    threshold_note: str
    skip_tables: list[str] = []
    messages: dict[str, str]
    fix_hints: dict[str, str]
    answer_key_tags: dict[str, list[str]] = {}


class _CatalogSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ruleset_version: str
    endpoint_tags: dict[str, str]
    table_endpoints: dict[str, list[str]]
    generated: _GeneratedSpec
    ingest_rules: list[_RuleSpec]
    rules: list[_RuleSpec]


@dataclass(frozen=True)
class Threshold:
    count: int | None
    pct: float | None
    note: str

    def exceeded(self, num: int, pct: float | None) -> bool:
        """A rule fails when its violations exceed any threshold it declares.

        With neither a count nor a percent declared, one violation fails it.
        """
        if self.count is None and self.pct is None:
            return num > 0
        over_count = self.count is not None and num > self.count
        over_pct = self.pct is not None and pct is not None and pct > self.pct
        return over_count or over_pct


@dataclass(frozen=True)
class Denominator:
    kind: DenominatorKind
    table: str | None = None
    column: str | None = None
    values: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Rule:
    id: str
    version: int
    title: str
    kind: Kind
    category: Category
    subcategory: str | None
    context: Context
    severity: Severity
    threshold: Threshold
    message: str
    fix_hint: str
    critical: bool
    endpoints: tuple[str, ...]
    refs: tuple[str, ...]
    answer_key_tags: tuple[str, ...]
    table: str
    columns: tuple[str, ...]
    denominator: Denominator
    #: the rule's SQL: read from ``sql/`` for hand-written rules, generated otherwise
    sql: str
    sql_file: str | None = None
    reason_codes: tuple[str, ...] = ()
    catch_all: bool = False
    audience: Literal["all", "coordinating_center"] = "all"
    requires_tables: tuple[str, ...] = ()

    @property
    def blocking(self) -> bool:
        return self.severity in BLOCKING

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "title": self.title,
            "kind": self.kind,
            "severity": self.severity,
            "kahn_category": self.category,
            "kahn_subcategory": self.subcategory,
            "kahn_context": self.context,
            "threshold_count": self.threshold.count,
            "threshold_pct": self.threshold.pct,
            "threshold_note": self.threshold.note,
            "critical_field": self.critical,
            "endpoints": list(self.endpoints),
            "refs": list(self.refs),
            "answer_key_tags": list(self.answer_key_tags),
            "table": self.table,
            "columns": list(self.columns),
            "message": self.message,
            "fix_hint": self.fix_hint,
            "sql_file": self.sql_file,
        }


@dataclass(frozen=True)
class Catalog:
    ruleset_version: str
    rules: tuple[Rule, ...]
    endpoint_tags: dict[str, str] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def get(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise ConfigError(f"unknown rule {rule_id!r}")


def _package_file(name: str) -> str:
    return resources.files("cart_registry.validation").joinpath(name).read_text(encoding="utf-8")


def _sql_dir_files() -> list[str]:
    folder = resources.files("cart_registry.validation").joinpath("sql")
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".sql"))


def _threshold(spec: _ThresholdSpec) -> Threshold:
    return Threshold(spec.count, spec.pct, " ".join(spec.note.split()))


def _check_refs(
    spec: _RuleSpec, standard: Standard, tags: dict[str, str], where: str
) -> None:
    names = standard.table_names
    if spec.table not in names:
        raise ConfigError(f"{where}: rule {spec.id}: unknown table {spec.table!r}")
    tcols = standard.table(spec.table).column_names
    for c in spec.columns:
        if c not in tcols:
            raise ConfigError(f"{where}: rule {spec.id}: table {spec.table} has no column {c!r}")
    for e in spec.endpoints:
        if e not in tags:
            raise ConfigError(f"{where}: rule {spec.id}: unknown endpoint tag {e!r}")
    d = spec.denominator
    if d is not None and d.table is not None and d.table not in names:
        raise ConfigError(f"{where}: rule {spec.id}: unknown denominator table {d.table!r}")


def _from_spec(spec: _RuleSpec, kind: Kind, sql: str, sql_file: str | None) -> Rule:
    d = spec.denominator or _DenominatorSpec(kind="table", table=spec.table)
    return Rule(
        id=spec.id,
        version=spec.version,
        title=" ".join(spec.title.split()),
        kind=kind,
        category=spec.kahn.category,
        subcategory=spec.kahn.subcategory,
        context=spec.kahn.context,
        severity=spec.severity,
        threshold=_threshold(spec.threshold),
        message=" ".join(spec.message.split()),
        fix_hint=" ".join(spec.fix_hint.split()),
        critical=spec.critical,
        endpoints=tuple(spec.endpoints),
        refs=tuple(spec.refs),
        # a rule answers to the generator's tags it declares and to its domain rule numbers
        answer_key_tags=tuple(dict.fromkeys([*spec.answer_key_tags, *spec.refs])),
        table=spec.table,
        columns=tuple(spec.columns),
        denominator=Denominator(
            d.kind, d.table or (spec.table if d.kind == "table" else None), d.column,
            tuple(d.values) if d.values is not None else None,
        ),
        sql=sql,
        sql_file=sql_file,
        reason_codes=tuple(spec.reason_codes or ()),
        catch_all=spec.catch_all,
        audience=spec.audience,
        requires_tables=tuple(spec.requires_tables),
    )


def parse_catalog(text: str, standard: Standard, *, where: str = "catalog.yaml") -> Catalog:
    """Parse and check catalog text against the standard (tests feed broken catalogs here)."""
    from cart_registry.validation.conformance import generated_rules, ingest_rule_sql

    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML: {exc}") from None
    try:
        spec = _CatalogSpec.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{where}: {loc}: {first['msg']}") from None

    rules: list[Rule] = []
    tags = spec.endpoint_tags
    for t, eps in spec.table_endpoints.items():
        unknown = [e for e in eps if e not in tags]
        if t not in standard.table_names or unknown:
            raise ConfigError(f"{where}: table_endpoints.{t}: unknown table or tags {unknown}")
    rules += generated_rules(standard, spec.generated, spec.table_endpoints)
    claimed: set[str] = set()
    for r in spec.ingest_rules:
        _check_refs(r, standard, tags, where)
        if not r.reason_codes and not r.catch_all:
            raise ConfigError(f"{where}: ingest rule {r.id} needs reason_codes or catch_all")
        dup = claimed & set(r.reason_codes or [])
        if dup:
            raise ConfigError(f"{where}: reason codes {sorted(dup)} claimed by two ingest rules")
        claimed |= set(r.reason_codes or [])
    for r in spec.ingest_rules:
        rules.append(_from_spec(r, "ingest", ingest_rule_sql(r.reason_codes, r.catch_all, claimed), None))
    available = set(_sql_dir_files())
    used: set[str] = set()
    for r in spec.rules:
        _check_refs(r, standard, tags, where)
        if not r.sql:
            raise ConfigError(f"{where}: rule {r.id} names no sql file")
        if r.sql not in available:
            raise ConfigError(f"{where}: rule {r.id}: sql file {r.sql!r} not found in sql/")
        used.add(r.sql)
        rules.append(_from_spec(r, "sql", _package_file(f"sql/{r.sql}"), r.sql))
    ids = [r.id for r in rules]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ConfigError(f"{where}: duplicate rule id(s) {dupes}")
    unused = sorted(available - used - {"_prelude.sql"})
    if unused:
        raise ConfigError(f"{where}: sql files not used by any rule: {unused}")
    digest = hashlib.sha256(text.encode())
    for rule in sorted(rules, key=lambda x: x.id):
        digest.update(f"\0{rule.id}\0{rule.version}\0{rule.sql}".encode())
    # The declared version says what changed for people; the content hash makes sure two
    # runs that report the same rule-set version really ran the same rules.
    version = f"{spec.ruleset_version}+{digest.hexdigest()[:8]}"
    return Catalog(ruleset_version=version, rules=tuple(rules), endpoint_tags=dict(tags))


@functools.cache
def _load_cached(schemas_root: Path) -> Catalog:
    from cart_registry.standard import load_standard

    return parse_catalog(_package_file("catalog.yaml"), load_standard(schemas_root))


def load_catalog(standard: Standard) -> Catalog:
    """The packaged catalog, checked against ``standard`` (cached per schemas folder)."""
    return _load_cached(standard.root)


def prelude_sql() -> str:
    """Helper views every rule may use (courses, dated events, cut-off per site)."""
    return _package_file("sql/_prelude.sql")
