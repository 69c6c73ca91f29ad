"""``mapping check``: is a site mapping right, before any data is loaded?

Against the standard: table files name canonical tables, rules map existing columns and every
required one, code-list and constant targets are in the column's value set, constructs exist
in the catalog, units agree with the column's unit. Against a sample export (optional): the
files are found and readable, every field a rule reads exists, and every code seen in the
data is mapped. The export is read and mapped in memory; nothing is written.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cart_registry.errors import CartRegistryError, ConfigError
from cart_registry.mapping.ops import (
    CoalesceOp,
    ConstantOp,
    ConvertUnitsOp,
    LookupConstructOp,
    MapValuesOp,
    PerKgOp,
    PipelineRule,
)
from cart_registry.mapping.ops.units import UNITS
from cart_registry.mapping.spec import SiteMapping, TableMapping, load_site_mapping
from cart_registry.mapping.yamlsrc import suggest
from cart_registry.standard import Column, ColumnType, Standard, Table

if TYPE_CHECKING:
    from cart_registry.project import Project

#: canonical unit text -> the unit name a conversion must end in
CANONICAL_UNITS = {
    "°C": "degC", "kg": "kg", "%": "percent", "mg/m2": "mg_m2",
    "10^6 CAR+ cells/kg": "e6_cells", "10^8 CAR+ cells": "e8_cells",
}
#: reason codes of cell failures that mean the mapping lacks a code
CODE_REASONS = ("not_in_code_list", "unknown_construct", "unknown_unit")


@dataclass(frozen=True)
class Finding:
    level: str  # 'error' | 'warning'
    where: str  # file:line, or a data file
    message: str


@dataclass
class CheckReport:
    site_id: str
    export_dir: str | None
    findings: list[Finding] = field(default_factory=list)
    #: rules checked against the data, and rows they read
    rules_checked: int = 0
    rows_read: int = 0

    def error(self, where: str, message: str) -> None:
        self.findings.append(Finding("error", where, message))

    def warning(self, where: str, message: str) -> None:
        self.findings.append(Finding("warning", where, message))

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json(self) -> dict[str, Any]:
        return {
            "site_id": self.site_id, "export_dir": self.export_dir, "ok": self.ok,
            "errors": len(self.errors), "warnings": len(self.findings) - len(self.errors),
            "rules_checked": self.rules_checked, "rows_read": self.rows_read,
            "findings": [asdict(f) for f in self.findings],
        }


def _final_op(rule: Any) -> Any:
    if isinstance(rule, PipelineRule):
        return _final_op(rule.steps[-1])
    return rule


def _targets(rule: Any, mapping: SiteMapping) -> list[tuple[Any, str]]:
    """(target value, what) of the step that makes a column's value, when it is a list."""
    op = _final_op(rule)
    if isinstance(op, MapValuesOp):
        table: dict[str, Any] = {}
        if op.value_set:
            table.update(mapping.value_sets.get(op.value_set, {}))
        table.update(op.values or {})
        return [(v, f"code {k!r}") for k, v in table.items() if v is not None]
    if isinstance(op, ConstantOp) and op.value is not None:
        return [(op.value, "constant")]
    if isinstance(op, CoalesceOp) and op.options:
        return [t for o in op.options for t in _targets(o, mapping)]
    return []


def _walk(rule: Any) -> list[Any]:
    if isinstance(rule, PipelineRule):
        return [x for s in rule.steps for x in _walk(s)]
    if isinstance(rule, CoalesceOp) and rule.options:
        return [rule, *[x for o in rule.options for x in _walk(o)]]
    return [rule]


def _kind_ok(value: Any, col: Column) -> bool:
    if col.type is ColumnType.BOOL:
        return isinstance(value, bool)
    if col.type in (ColumnType.INT, ColumnType.FLOAT):
        return isinstance(value, int | float) and not isinstance(value, bool) or (
            isinstance(value, str) and value.replace(".", "", 1).lstrip("-").isdigit())
    return True


def check_static(mapping: SiteMapping, standard: Standard, catalog: dict[str, str],
                 report: CheckReport) -> None:
    from cart_registry.mapping.apply import check_rule_columns

    for tm in mapping.tables.values():
        table = standard.table(tm.spec.table)
        if table.name in ("site", "car_construct"):
            report.error(tm.source.where(["table"]), f"{table.name!r} is not mapped from site "
                         "data (site comes from site.yaml, car_construct from constructs.yaml)")
            continue
        for i, rule in enumerate(tm.spec.rules):
            try:
                check_rule_columns(tm, i, rule, table)
            except ConfigError as exc:
                report.error(str(exc).split(": ", 1)[0], str(exc).split(": ", 1)[1])
                continue
            for name, spec in rule.columns.items():
                _check_column(tm, i, name, spec, table.column(name), mapping, catalog, report)


def _check_column(tm: TableMapping, i: int, name: str, spec: Any, col: Column,
                  mapping: SiteMapping, catalog: dict[str, str], report: CheckReport) -> None:
    where = tm.source.where(["rules", i, "columns", name])
    label = f"rules[{i}].columns.{name}"
    allowed = set(col.values) if col.values is not None else None
    for value, what in _targets(spec, mapping):
        if allowed is not None and str(value) not in allowed:
            report.error(where, f"{label}: {what} -> {value!r} is not in the value set of "
                         f"{col.name}" + suggest(str(value), sorted(allowed)))
        elif not _kind_ok(value, col):
            report.error(where, f"{label}: {what} -> {value!r} is not a {col.type.value}")
    for op in _walk(spec):
        if isinstance(op, LookupConstructOp) and catalog:
            known = set(catalog.values())
            for code, target in op.codes.items():
                if target not in known:
                    report.error(where, f"{label}: construct {target!r} (code {code!r}) is not "
                                 "in mappings/constructs.yaml" + suggest(target, sorted(known)))
        if isinstance(op, ConvertUnitsOp | PerKgOp) and col.unit in CANONICAL_UNITS:
            want = CANONICAL_UNITS[col.unit]
            if op.to_unit != want:
                report.warning(where, f"{label}: converts to {op.to_unit} "
                               f"({UNITS[op.to_unit].label}) but {col.name} is in {col.unit}")


def check_mapping(project: Project, site_id: str, export_dir: str | Path | None = None) -> CheckReport:
    """Check a site mapping against the standard and, if given, a sample export."""
    from cart_registry.ingest.run import catalog_index

    report = CheckReport(site_id, str(export_dir) if export_dir else None)
    standard = project.standard()
    try:
        mapping = load_site_mapping(project.site_mapping_dir(site_id), site_id=site_id,
                                    table_names=standard.table_names)
    except ConfigError as exc:
        where, _, msg = str(exc).partition(": ")
        report.error(where, msg or str(exc))
        return report
    catalog, _ = catalog_index(project)
    check_static(mapping, standard, catalog, report)
    if export_dir is not None and report.ok:
        _check_against_export(project, mapping, standard, catalog, Path(export_dir), report)
    return report


def _check_against_export(project: Project, mapping: SiteMapping, standard: Standard,
                          catalog: dict[str, str], export_dir: Path, report: CheckReport) -> None:
    import shutil
    import tempfile

    import polars as pl

    from cart_registry.ingest.run import site_settings
    from cart_registry.ingest.sources import read_sources
    from cart_registry.mapping.apply import Provenance, apply_rule

    if not export_dir.is_dir():
        report.error(str(export_dir), "export folder not found")
        return
    work = Path(tempfile.mkdtemp(prefix="cart-registry-check-"))
    try:
        sources = read_sources(mapping, export_dir.resolve(), work)
    except CartRegistryError as exc:
        report.error(str(export_dir), str(exc))
        return
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report.rows_read = sum(sources.rows_read.values())
    for b in sources.broken[:20]:
        report.warning(f"{b['source_file']} row {b['row']}", b["reason"])
    settings = site_settings(mapping, catalog, sources)
    prov = Provenance(mapping.site_id, "check", {f.path: f.sha256 for f in sources.files})
    used_sources: set[str] = set()
    tables: dict[str, Table] = {t.name: t for t in standard}
    for tm in mapping.tables.values():
        table = tables[tm.spec.table]
        for i, rule in enumerate(tm.spec.rules):
            src = sources.tables.get(rule.source)
            if src is None:
                report.error(tm.source.where(["rules", i, "source"]),
                             f"rules[{i}].source: no source table {rule.source!r} in the export"
                             + suggest(rule.source, sources.tables))
                continue
            used_sources.add(rule.source)
            try:
                out = apply_rule(settings, tm, i, table, src, prov)
            except ConfigError as exc:
                where, _, msg = str(exc).partition(": ")
                report.error(where, msg)
                continue
            report.rules_checked += 1
            _report_issues(tm, i, out.issues, report, pl)
    for name, t in sorted(sources.tables.items()):
        if name not in used_sources and t.frame.height:
            report.warning(name, f"source table {name!r} ({t.frame.height} rows) is used by no "
                           "rule; its rows will be counted as ignored")


def _report_issues(tm: TableMapping, i: int, issues: Any, report: CheckReport, pl: Any) -> None:
    if issues.height == 0:
        return
    grouped = issues.group_by("target_column", "reason_code").agg(
        pl.len().alias("n"), pl.col("value").drop_nulls().unique().sort().head(8).alias("values"),
        pl.col("reason").first(),
    ).sort("target_column", "reason_code")
    for col, code, n, values, reason in grouped.iter_rows():
        where = tm.source.where(["rules", i, "columns", col])
        shown = ", ".join(repr(v) for v in values)
        msg = f"rules[{i}].columns.{col}: {n} cell(s) {reason}: {shown}"
        if code in CODE_REASONS:
            report.error(where, msg)
        else:
            report.warning(where, msg)
