"""The mapping file format: pydantic models, loading with file:line errors, JSON Schema.

A site's mapping is a folder ``mappings/<site_id>/``:

* ``site.yaml``: the ``site`` table row, how to read the export (``reader``), parsing
  defaults and the mapping version;
* ``<canonical_table>.yaml``: one file per canonical table the site feeds, each a list of
  rules; a rule reads one source table and fills the table's columns with column rules made of
  the operations in ``cart_registry.mapping.ops``.

``docs/mapping-spec.md`` explains the format; ``mappings/mapping.schema.json`` is generated
from these models (``python -m cart_registry.mapping.spec``) and a test keeps it current.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from cart_registry.deid.spec import DeidentifySpec
from cart_registry.errors import ConfigError
from cart_registry.mapping.ops import OPS, ColumnSpec
from cart_registry.mapping.ops.dates import check_format
from cart_registry.mapping.yamlsrc import YamlSource, load_yaml, suggest

SITE_FILE = "site.yaml"
SPEC_VERSION = 1

Encoding = Literal["utf-8", "utf-8-sig", "latin-1", "cp1252", "utf-16", "detect"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


# ----------------------------------------------------------------------------- site.yaml
class SiteRow(_Model):
    """The site's row of the canonical ``site`` table."""

    site_id: str = Field(pattern=r"^[a-z][a-z0-9_]{1,31}$", description="Registry site code.")
    site_label: str | None = Field(default=None, description="Human-readable site name.")
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2.")
    export_format: Literal["redcap_csv", "csv_other", "fhir_bundle", "fhir_ndjson"]
    date_shift_policy: Literal["none", "per_patient_shift", "intervals_only"]
    pseudonym_key_version: str | None = None
    data_cutoff_date: dt.date


class CsvDialect(_Model):
    """How the site's CSV files are written."""

    encoding: Encoding = Field(
        default="utf-8",
        description="Text encoding; 'detect' tries UTF-8 (with or without BOM), UTF-16 (BOM) "
        "then Windows-1252, and records what it found in the manifest.",
    )
    delimiter: str = Field(default=",", min_length=1, max_length=1, description="Field separator.")
    quote: str = Field(default='"', min_length=1, max_length=1, description="Quote character.")
    escape: str | None = Field(
        default=None, max_length=1, description="Escape character inside quotes (default: the "
        "quote doubled, as RFC 4180)."
    )
    decimal: Literal[".", ","] = Field(default=".", description="Default decimal mark.")
    missing_codes: list[str] | dict[str, str] = Field(
        default_factory=list,
        description="Missing-data codes stored as cell values (e.g. UNK, -999, NA); a list, or "
        "code -> meaning. They become null before typing unless a code list maps them.",
    )


class CsvSource(_Model):
    """One logical source table made of one or more CSV files."""

    files: list[str] = Field(min_length=1, description="File names or glob patterns in the export folder.")
    required: bool = Field(default=True, description="Refuse the submission when no file matches.")
    allow_empty: bool = Field(
        default=False, description="Accept a file with a header and no data rows."
    )
    columns: list[str] | None = Field(
        default=None, description="Columns the file is expected to have (any order)."
    )
    ignore_columns: list[str] = Field(
        default_factory=list, description="Columns present in the file that no rule reads."
    )
    unknown_columns: Literal["error", "ignore"] = Field(
        default="error",
        description="A column that is neither declared, ignored nor read by a rule: refuse the "
        "file (schema drift) or ignore it.",
    )


class CsvReader(CsvDialect):
    """Generic CSV export: one or more source tables."""

    kind: Literal["csv"]
    sources: dict[str, CsvSource] = Field(
        min_length=1, description="Source table name -> its files."
    )


class RedcapReader(CsvDialect):
    """REDCap flat export (records) read with its data dictionary; one source table per
    instrument (form), named after the form."""

    kind: Literal["redcap"]
    records: list[str] = Field(
        min_length=1, description="Records export file name(s) or glob pattern(s)."
    )
    dictionary: str = Field(description="Data dictionary CSV (UI or API headers).")
    dictionary_encoding: Encoding | None = Field(
        default=None, description="Encoding of the dictionary (default: the records' encoding)."
    )
    values: Literal["raw", "label"] = Field(
        default="raw",
        description="Raw codes or labels in the cells; labels are turned back into raw codes "
        "with the dictionary (Checked/Unchecked -> 1/0, Yes/No -> 1/0, choice labels -> codes).",
    )
    unknown_columns: Literal["error", "ignore"] = Field(
        default="error", description="A records column that is not in the dictionary."
    )


class PluginReader(_Model):
    """Another reader (e.g. FHIR), registered in ``cart_registry.ingest.readers``."""

    kind: Literal["fhir"]
    options: dict[str, Any] = Field(default_factory=dict, description="Reader options.")


def _reader_tag(v: Any) -> str | None:
    kind = v.get("kind") if isinstance(v, dict) else getattr(v, "kind", None)
    return kind if isinstance(kind, str) else None


ReaderSpec = Annotated[
    Annotated[CsvReader, Tag("csv")]
    | Annotated[RedcapReader, Tag("redcap")]
    | Annotated[PluginReader, Tag("fhir")],
    Discriminator(_reader_tag),
]


class DefaultsSpec(_Model):
    """Parsing defaults for every rule of the site."""

    date_formats: list[str] = Field(
        default_factory=lambda: ["%Y-%m-%d"],
        description="Date formats used when a date column has no parse_date rule.",
    )
    true_values: list[str] = Field(
        default_factory=lambda: ["1", "y", "yes", "true", "t"],
        description="Texts read as true for boolean columns (case-insensitive).",
    )
    false_values: list[str] = Field(
        default_factory=lambda: ["0", "n", "no", "false", "f"],
        description="Texts read as false for boolean columns (case-insensitive).",
    )
    list_separator: str = Field(default="|", min_length=1, description="Separator of list cells.")

    @field_validator("date_formats")
    @classmethod
    def _formats(cls, v: list[str]) -> list[str]:
        for f in v:
            check_format(f)
        return v


class SiteFile(_Model):
    """``mappings/<site_id>/site.yaml``."""

    spec_version: Literal[1] = Field(default=1, description="Version of this file format.")
    mapping_version: str = Field(description="The site mapping's own version label.")
    extends: str | None = Field(
        default=None, pattern=r"^[a-z][a-z0-9_]{1,63}$",
        description="A folder of table files under mappings/ (e.g. fhir_default) whose files "
        "this site uses for every table it has no file of its own for.",
    )
    site: SiteRow
    reader: ReaderSpec
    defaults: DefaultsSpec = Field(default_factory=DefaultsSpec)
    deidentify: DeidentifySpec = Field(
        default_factory=DeidentifySpec,
        description="How `cart-registry deidentify` treats the export (docs/deidentification.md).",
    )


# ----------------------------------------------------------------------------- tables
class Condition(_Model):
    """A row filter on one source field (text as received, trimmed)."""

    field: str = Field(description="Source field tested.")
    equals: str | None = Field(default=None, description="Keep rows whose value is this text.")
    in_: list[str] | None = Field(default=None, alias="in", description="Keep rows with one of these values.")
    not_in: list[str] | None = Field(default=None, description="Drop rows with one of these values.")
    not_blank: bool | None = Field(default=None, description="true: keep rows where the field has a value; false: keep blank rows.")

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        n = sum(x is not None for x in (self.equals, self.in_, self.not_in, self.not_blank))
        if n != 1:
            raise ValueError("give exactly one of equals, in, not_in, not_blank")
        return self


class RuleSpec(_Model):
    """One way of producing rows of the table from one source table."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="Rule id, unique in the file.")
    source: str = Field(description="Source table: a REDCap instrument or a CSV source name.")
    description: str | None = None
    where: list[Condition] = Field(
        default_factory=list, description="Row filters, all of which must hold."
    )
    columns: dict[str, ColumnSpec] = Field(
        description="Canonical column -> rule. Provenance columns are filled by the engine."
    )


class TableFile(_Model):
    """``mappings/<site_id>/<table>.yaml``."""

    table: str = Field(description="Canonical table; must match the file name.")
    description: str | None = None
    rules: list[RuleSpec] = Field(min_length=1)


class ValueSetFile(_Model):
    """``mappings/value_sets/<name>.yaml``: a shared code list."""

    name: str
    description: str | None = None
    values: dict[str, str | bool | int | float | None]


# ----------------------------------------------------------------------------- loading
@dataclass(frozen=True)
class TableMapping:
    spec: TableFile
    source: YamlSource

    @property
    def file(self) -> str:
        return self.source.path.name

    def rule_id(self, rule: RuleSpec, site_id: str) -> str:
        """What the ``mapping_rule`` provenance column holds: '<site>/<file>#<rule>'."""
        return f"{site_id}/{self.file}#{rule.id}"


@dataclass(frozen=True)
class SiteMapping:
    """A whole site mapping, loaded and checked for shape (not yet against data)."""

    site_id: str
    folder: Path
    site: SiteFile
    site_source: YamlSource
    tables: dict[str, TableMapping]
    #: sha256 of each mapping file (by name), value sets included
    file_digests: dict[str, str] = field(default_factory=dict)
    value_sets: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        """sha256 over the mapping files' names and contents."""
        h = hashlib.sha256()
        for name in sorted(self.file_digests):
            h.update(f"{name}\0{self.file_digests[name]}\0".encode())
        return h.hexdigest()

    @property
    def missing_codes(self) -> frozenset[str]:
        r = self.site.reader
        codes = getattr(r, "missing_codes", [])
        return frozenset(codes if isinstance(codes, list) else codes.keys())


def _clean_loc(data: Any, loc: tuple[Any, ...]) -> list[str | int]:
    """The part of a pydantic location that exists in the YAML data (drops union tags)."""
    out: list[str | int] = []
    cur = data
    for part in loc:
        if isinstance(cur, dict) and part in cur:
            out.append(part)
            cur = cur[part]
        elif isinstance(cur, list) and isinstance(part, int) and part < len(cur):
            out.append(part)
            cur = cur[part]
    return out


def _fmt_loc(loc: list[str | int]) -> str:
    s = ""
    for p in loc:
        s += f"[{p}]" if isinstance(p, int) else (f".{p}" if s else str(p))
    return s


def _allowed_keys(model: type[BaseModel]) -> list[str]:
    return [f.alias or n for n, f in model.model_fields.items()]


def explain(src: YamlSource, exc: ValidationError, model: type[BaseModel]) -> ConfigError:
    """One line: file:line, the key path, what is wrong and the closest valid name."""
    errors = exc.errors()
    # a str|rule union reports "not a string" next to the real problem: drop it
    real = [e for e in errors if not (e["type"] == "string_type" and e["loc"][-1:] == ("str",))]
    errors = real or errors
    order = {"union_tag_invalid": 0, "extra_forbidden": 1}
    errors.sort(key=lambda e: order.get(e["type"], 2))
    first = errors[0]
    loc = _clean_loc(src.data, tuple(first["loc"]))
    where = src.where(loc)
    path = _fmt_loc(loc)
    msg = first["msg"]
    if first["type"] == "union_tag_invalid":
        tag = str(first.get("ctx", {}).get("tag"))
        if "kind" in str(first.get("ctx", {}).get("discriminator", "")) or path.endswith("reader"):
            msg = f"unknown reader kind {tag!r}" + suggest(tag, ["csv", "redcap", "fhir"])
        else:
            msg = f"unknown operation {tag!r}" + suggest(tag, [*OPS, "pipeline"])
    elif first["type"] == "extra_forbidden":
        key = str(first["loc"][-1])
        parent = _owner_model(tuple(first["loc"]), model)
        allowed = _allowed_keys(parent) if parent else []
        msg = f"unknown key {key!r}" + suggest(key, allowed)
    elif first["type"] == "missing":
        msg = f"missing key {str(first['loc'][-1])!r}"
    return ConfigError(f"{where}: {path or '(top)'}: {msg}")


def _owner_model(loc: tuple[Any, ...], root: type[BaseModel]) -> type[BaseModel] | None:
    """The model in which the last key of ``loc`` was refused (to suggest a valid key)."""
    from cart_registry.mapping.ops import PipelineRule

    tags: dict[str, type[BaseModel]] = {
        **OPS, "pipeline": PipelineRule, "csv": CsvReader, "redcap": RedcapReader,
        "fhir": PluginReader,
    }
    cur: type[BaseModel] | None = root
    for part in loc[:-1]:
        if not isinstance(part, str):
            continue
        fields = {(f.alias or n): f for n, f in cur.model_fields.items()} if cur else {}
        if part in fields:
            cur = _first_model(fields[part].annotation) or cur
        elif part in tags:
            cur = tags[part]
    return cur


def _first_model(ann: Any) -> type[BaseModel] | None:
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    for a in getattr(ann, "__args__", ()) or ():
        m = _first_model(a)
        if m is not None:
            return m
    return None


def _validate(src: YamlSource, model: type[_Model]) -> Any:
    if not isinstance(src.data, dict):
        raise ConfigError(f"{src.name}: expected a mapping of keys at the top")
    try:
        return model.model_validate(src.data)
    except ValidationError as exc:
        raise explain(src, exc, model) from None


def load_value_sets(folder: Path) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Shared code lists from ``mappings/value_sets/``: name -> table, and file digests."""
    out: dict[str, dict[str, Any]] = {}
    digests: dict[str, str] = {}
    if not folder.is_dir():
        return out, digests
    for path in sorted(folder.glob("*.yaml")):
        src = load_yaml(path, display=f"value_sets/{path.name}")
        vs = _validate(src, ValueSetFile)
        if vs.name != path.stem:
            raise ConfigError(f"{src.where(['name'])}: value set name {vs.name!r} must match the "
                              f"file name {path.stem!r}")
        out[vs.name] = dict(vs.values)
        digests[f"value_sets/{path.name}"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out, digests


def load_site_mapping(folder: Path, *, site_id: str | None = None,
                      table_names: list[str] | None = None) -> SiteMapping:
    """Load and shape-check ``site.yaml`` and every table file of a site folder.

    ``table_names`` (the standard's tables) lets an unknown table file be refused with a
    suggestion; checks against the standard's columns happen in ``mapping.check``.
    """
    site_path = folder / SITE_FILE
    if not site_path.is_file():
        raise ConfigError(f"no mapping for site {folder.name!r}: {site_path} not found")
    site_src = load_yaml(site_path, display=f"{folder.name}/{SITE_FILE}")
    site = _validate(site_src, SiteFile)
    sid = site.site.site_id
    if site_id is not None and sid != site_id:
        raise ConfigError(f"{site_src.where(['site', 'site_id'])}: site_id {sid!r} does not match "
                          f"the folder/--site {site_id!r}")
    if folder.name != sid:
        raise ConfigError(f"{site_src.where(['site', 'site_id'])}: site_id {sid!r} must match "
                          f"the folder name {folder.name!r}")
    digests = {SITE_FILE: hashlib.sha256(site_path.read_bytes()).hexdigest()}
    tables: dict[str, TableMapping] = {}
    files = {p.stem: p for p in _table_files(folder)}  # by table
    if site.extends is not None:
        base = folder.parent / site.extends
        if site.extends == folder.name or not base.is_dir() or (base / SITE_FILE).is_file():
            others = sorted(p.name for p in folder.parent.iterdir()
                            if p.is_dir() and not (p / SITE_FILE).is_file())
            why = ("a site cannot extend itself" if site.extends == folder.name else
                   f"mappings/{site.extends}/ is a site (it has a site.yaml); extend a folder "
                   "of table files such as fhir_default" if (base / SITE_FILE).is_file() else
                   f"no folder mappings/{site.extends}/" + suggest(site.extends, others))
            raise ConfigError(f"{site_src.where(['extends'])}: extends: {why}")
        for path in _table_files(base):
            files.setdefault(path.stem, path)  # the site's own file wins
    for name in sorted(files):
        path = files[name]
        inherited = path.parent != folder
        src = load_yaml(path, display=f"{path.parent.name}/{path.name}")
        spec = _validate(src, TableFile)
        if table_names is not None and spec.table not in table_names:
            raise ConfigError(f"{src.where(['table'])}: unknown canonical table {spec.table!r}"
                              + suggest(spec.table, table_names))
        if spec.table != path.stem:
            raise ConfigError(f"{src.where(['table'])}: table {spec.table!r} must match the file "
                              f"name {path.stem!r}")
        ids = [r.id for r in spec.rules]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ConfigError(f"{src.name}: duplicate rule id(s) {dupes}")
        tables[spec.table] = TableMapping(spec, src)
        # an inherited file is named with its folder: the digest changes when it does
        digests[f"{path.parent.name}/{path.name}" if inherited else path.name] = \
            hashlib.sha256(path.read_bytes()).hexdigest()
    value_sets, vs_digests = load_value_sets(folder.parent / "value_sets")
    used_sets = {
        vs for t in tables.values() for r in t.spec.rules for c in r.columns.values()
        for vs in _value_sets_used(c)
    }
    for name in sorted(used_sets):
        if name not in value_sets:
            raise ConfigError(f"value set {name!r} not found in mappings/value_sets/"
                              + suggest(name, value_sets))
        digests[f"value_sets/{name}.yaml"] = vs_digests[f"value_sets/{name}.yaml"]
    return SiteMapping(sid, folder, site, site_src, tables, digests,
                       {k: v for k, v in value_sets.items() if k in used_sets})


def _table_files(folder: Path) -> list[Path]:
    """The table mapping files of a folder (every YAML file but site.yaml)."""
    return [p for p in sorted(folder.glob("*.y*ml"))
            if p.name != SITE_FILE and p.suffix in (".yaml", ".yml")]


def _value_sets_used(rule: Any) -> list[str]:
    from cart_registry.mapping.ops import CoalesceOp, MapValuesOp, PipelineRule

    if isinstance(rule, MapValuesOp):
        return [rule.value_set] if rule.value_set else []
    if isinstance(rule, PipelineRule):
        return [v for s in rule.steps for v in _value_sets_used(s)]
    if isinstance(rule, CoalesceOp) and rule.options:
        return [v for o in rule.options for v in _value_sets_used(o)]
    return []


# ----------------------------------------------------------------------------- JSON Schema
def mapping_json_schema() -> dict[str, Any]:
    """The published JSON Schema of mapping files (site.yaml, table files, value sets)."""
    from pydantic.json_schema import models_json_schema

    _, top = models_json_schema(
        [(SiteFile, "validation"), (TableFile, "validation"), (ValueSetFile, "validation")],
        ref_template="#/$defs/{model}",
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://cart-registry.example/mapping.schema.json",
        "title": "cart_registry site mapping file",
        "description": "site.yaml, <canonical_table>.yaml or value_sets/<name>.yaml. Generated "
        "from cart_registry/mapping/spec.py; do not edit.",
        "oneOf": [
            {"$ref": "#/$defs/SiteFile"},
            {"$ref": "#/$defs/TableFile"},
            {"$ref": "#/$defs/ValueSetFile"},
        ],
        "$defs": top["$defs"],
    }


def mapping_json_schema_text() -> str:
    return json.dumps(mapping_json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":  # pragma: no cover - `python -m cart_registry.mapping.spec`
    sys.stdout.write(mapping_json_schema_text())
