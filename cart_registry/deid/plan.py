"""What each source field of a site is, read off the site's mapping.

A field that feeds ``patient_id`` through the ``patient_id`` operation holds the patient id;
a field that feeds a date column of the standard is a date (parsed exactly as the mapping
parses it); a field that feeds a ``free_text: true`` column is free text. Fields named in
``site.yaml`` ``deidentify:`` add what the mapping cannot know (MRN, names, extra dates).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from cart_registry.errors import ConfigError
from cart_registry.mapping.ops import CoalesceOp, PipelineRule, rule_fields, rule_ops
from cart_registry.mapping.ops.dates import ParseDateOp
from cart_registry.mapping.ops.keys import PatientIdOp
from cart_registry.mapping.spec import SiteMapping
from cart_registry.standard import ColumnType, Standard

#: operations a date column may be built with for deidentify to find and rewrite its dates
_DATE_OPS = {"rename", "parse_date", "coalesce", "null_if", "fill_null", "constant"}
_TIME_DIRECTIVES = re.compile(r"%[HMSf]")


@dataclass(frozen=True)
class DateSpec:
    """How a date field is written: the formats the mapping accepts for it."""

    formats: tuple[str, ...]
    partial: str = "reject"
    excel_serial: bool = False

    @property
    def write_format(self) -> str:
        """The format shifted dates are written in: the first without a time of day (a
        shifted date keeps no time), else the first one."""
        for f in self.formats:
            if not _TIME_DIRECTIVES.search(f):
                return f
        return self.formats[0]


@dataclass
class SourceRoles:
    """The roles of one source table's fields."""

    source: str
    patient_fields: list[str] = field(default_factory=list)
    dates: dict[str, DateSpec] = field(default_factory=dict)
    #: date fields feeding patient.birth_date (ages are capped on them)
    birth: set[str] = field(default_factory=set)
    #: date fields feeding cart_infusion.infusion_date (the intervals-only day zero)
    infusion: set[str] = field(default_factory=set)
    free_text: set[str] = field(default_factory=set)


def _walk(rule: Any) -> list[Any]:
    """A column rule and every rule nested in it."""
    out = [rule]
    if isinstance(rule, PipelineRule):
        for s in rule.steps:
            out += _walk(s)
    if isinstance(rule, CoalesceOp) and rule.options:
        for o in rule.options:
            out += _walk(o)
    return out


def is_patient_id_rule(rule: Any) -> bool:
    return any(isinstance(r, PatientIdOp) for r in _walk(rule))


def date_spec(rule: Any, default_formats: tuple[str, ...], where: str) -> DateSpec:
    """The parsing of a date column rule; refuses rules whose dates cannot be rewritten."""
    ops = rule_ops(rule)
    odd = sorted(set(ops) - _DATE_OPS)
    if odd:
        raise ConfigError(
            f"{where}: a date built with {odd} cannot be de-identified (deidentify rewrites "
            "dates read from a field with rename, parse_date or coalesce)",
            hint="read the date from one field, or list the source fields under "
            "deidentify.direct_identifiers to remove them",
        )
    for r in _walk(rule):
        if isinstance(r, ParseDateOp):
            formats = tuple(r.formats) if r.formats else default_formats
            return DateSpec(formats, r.partial, r.excel_serial)
    return DateSpec(default_formats)


def source_roles(mapping: SiteMapping, standard: Standard) -> dict[str, SourceRoles]:
    """Roles of the fields of every source table the mapping reads."""
    defaults = tuple(mapping.site.defaults.date_formats)
    out: dict[str, SourceRoles] = {}
    for table in standard:
        tm = mapping.tables.get(table.name)
        if tm is None:
            continue
        names = set(table.column_names)
        for i, rule in enumerate(tm.spec.rules):
            roles = out.setdefault(rule.source, SourceRoles(rule.source))
            for col_name, spec in rule.columns.items():
                if col_name not in names:
                    continue  # `mapping check` reports it; ingest refuses it
                col = table.column(col_name)
                fields = rule_fields(spec)
                if is_patient_id_rule(spec):
                    roles.patient_fields += [f for f in fields if f not in roles.patient_fields]
                elif col.type in (ColumnType.DATE, ColumnType.TIMESTAMP):
                    where = tm.source.where(["rules", i, "columns", col_name])
                    ds = date_spec(spec, defaults, where)
                    for f in fields:
                        roles.dates.setdefault(f, ds)
                    if (table.name, col_name) == ("patient", "birth_date"):
                        roles.birth |= set(fields)
                    if (table.name, col_name) == ("cart_infusion", "infusion_date"):
                        roles.infusion |= set(fields)
                if col.free_text:
                    roles.free_text |= set(fields)
    for source, fname in mapping.site.deidentify.patient_id_fields.items():
        roles = out.setdefault(source, SourceRoles(source))
        if fname not in roles.patient_fields:
            roles.patient_fields.insert(0, fname)
    return out


def merge_roles(name: str, parts: list[SourceRoles]) -> SourceRoles:
    """One set of roles for a file that feeds several source tables (REDCap instruments)."""
    merged = SourceRoles(name)
    for r in parts:
        merged.patient_fields += [f for f in r.patient_fields if f not in merged.patient_fields]
        for f, ds in r.dates.items():
            merged.dates.setdefault(f, ds)
        merged.birth |= r.birth
        merged.infusion |= r.infusion
        merged.free_text |= r.free_text
    return merged
