"""Reading a submission's files into source tables, whatever the reader kind.

``read_sources`` dispatches on ``site.yaml`` ``reader.kind`` through ``READERS`` (name ->
"module:function"), so another reader (FHIR) plugs in without this module importing it. A
reader function takes the site mapping, the export folder and a scratch folder, and returns a
``SubmissionSources``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cart_registry.errors import ConfigError, InputError, ProjectError
from cart_registry.fsutil import sha256_file
from cart_registry.mapping.ops import (
    CheckboxBoolOp,
    CheckboxSetOp,
    CoalesceOp,
    PipelineRule,
    rule_fields,
)
from cart_registry.mapping.spec import CsvReader, RedcapReader, SiteMapping
from cart_registry.mapping.yamlsrc import suggest
from cart_registry.readers.base import FILE_COL, ROW_COL, SourceFileInfo, SourceTable
from cart_registry.readers.csv_reader import CsvFormat, read_csv_text

if TYPE_CHECKING:
    from cart_registry.readers.redcap import RedcapDictionary

_HASHER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256")

#: reader kind -> "module:function(mapping, export_dir, workdir) -> SubmissionSources"
READERS: dict[str, str] = {
    "csv": "cart_registry.ingest.sources:read_csv_site",
    "redcap": "cart_registry.ingest.sources:read_redcap_site",
    "fhir": "cart_registry.fhir.ingest:read_site",
}


@dataclass
class SubmissionSources:
    """Everything read from one export folder."""

    tables: dict[str, SourceTable]
    files: list[SourceFileInfo]
    #: data rows per file (a file feeding several tables is counted once)
    rows_read: dict[str, int]
    #: rows a reader did not pass on, per file and reason
    rows_ignored: dict[str, dict[str, int]] = field(default_factory=dict)
    #: rows a reader could not split into fields: dicts with source_file, row, reason_code,
    #: reason, raw (they are quarantined)
    broken: list[dict[str, Any]] = field(default_factory=list)
    #: encoding used per file (what 'detect' found)
    encodings: dict[str, str] = field(default_factory=dict)
    dictionary: RedcapDictionary | None = None
    #: problems a reader reports without setting any row aside (same keys as ``broken``;
    #: ``row`` may be None for a file-level finding): issues with action ``reported``
    notices: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_tables(cls, tables: Iterable[SourceTable], **extra: Any) -> SubmissionSources:
        """Merge reader output given as ``SourceTable``s (the FHIR reader's shape).

        Several tables may come from one file: each carries the file's total ``rows_read``
        (they must agree) and ``rows_ignored`` counts are summed over the tables.
        """
        out: dict[str, SourceTable] = {}
        files: dict[str, SourceFileInfo] = {}
        rows_read: dict[str, int] = {}
        ignored: dict[str, dict[str, int]] = {}
        for t in tables:
            if t.name in out:
                raise ProjectError(f"two source tables are named {t.name!r}")
            out[t.name] = t
            for f in t.files:
                files.setdefault(f.path, f)
            for path, n in t.rows_read.items():
                if path in rows_read and rows_read[path] != n:
                    raise ProjectError(
                        f"readers disagree on the rows of {path}: {rows_read[path]} != {n}"
                    )
                rows_read[path] = n
            for path, reasons in t.rows_ignored.items():
                for reason, n in reasons.items():
                    slot = ignored.setdefault(path, {})
                    slot[reason] = slot.get(reason, 0) + n
        return cls(out, sorted(files.values(), key=lambda f: f.path), rows_read, ignored, **extra)


def read_sources(mapping: SiteMapping, export_dir: Path, workdir: Path) -> SubmissionSources:
    kind = mapping.site.reader.kind
    target = READERS.get(kind)
    if target is None:
        raise ConfigError(f"{mapping.site_source.where(['reader', 'kind'])}: no reader for kind "
                          f"{kind!r}" + suggest(kind, READERS))
    module, attr = target.split(":")
    try:
        fn: Callable[..., SubmissionSources] = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        raise ConfigError(f"reader kind {kind!r} is not installed ({target})") from None
    return fn(mapping, export_dir, workdir)


def match_files(export_dir: Path, patterns: list[str], what: str, *, required: bool) -> list[Path]:
    """Files of the export folder matching names or globs, sorted, each once."""
    found: dict[Path, None] = {}
    for pat in patterns:
        if Path(pat).is_absolute() or ".." in Path(pat).parts:
            raise ConfigError(f"{what}: file pattern {pat!r} must stay inside the export folder")
        for p in sorted(export_dir.glob(pat)):
            if p.is_file():
                found[p] = None
    if not found and required:
        present = sorted(p.name for p in export_dir.iterdir() if p.is_file())
        hint = suggest(patterns[0], present) if len(patterns) == 1 else ""
        raise InputError(
            f"{export_dir}: no file matches {', '.join(patterns)} ({what})" + hint
        )
    return list(found)


def _fmt(reader: CsvReader | RedcapReader) -> CsvFormat:
    return CsvFormat(reader.encoding, reader.delimiter, reader.quote, reader.escape)


def _rel(export_dir: Path, p: Path) -> str:
    return p.resolve().relative_to(export_dir.resolve()).as_posix()


def fields_read(mapping: SiteMapping, source: str) -> tuple[set[str], set[str]]:
    """(fields, checkbox prefixes) the mapping's rules read from one source table."""
    names: set[str] = set()
    prefixes: set[str] = set()

    def walk(rule: Any) -> None:
        if isinstance(rule, CheckboxSetOp | CheckboxBoolOp):
            prefixes.add(f"{rule.field}___")
        if isinstance(rule, PipelineRule):
            for s in rule.steps:
                walk(s)
        if isinstance(rule, CoalesceOp) and rule.options:
            for o in rule.options:
                walk(o)

    for tm in mapping.tables.values():
        for r in tm.spec.rules:
            if r.source != source:
                continue
            names |= {c.field for c in r.where}
            for spec in r.columns.values():
                names |= set(rule_fields(spec))
                walk(spec)
    return names, prefixes


def read_csv_site(mapping: SiteMapping, export_dir: Path, workdir: Path) -> SubmissionSources:
    import polars as pl

    reader = mapping.site.reader
    assert isinstance(reader, CsvReader)
    fmt = _fmt(reader)
    tables: dict[str, SourceTable] = {}
    files: list[SourceFileInfo] = []
    rows_read: dict[str, int] = {}
    broken: list[dict[str, Any]] = []
    encodings: dict[str, str] = {}
    for name, src in reader.sources.items():
        where = mapping.site_source.where(["reader", "sources", name])
        paths = match_files(export_dir, src.files, f"source {name!r}, {where}",
                            required=src.required)
        used, prefixes = fields_read(mapping, name)
        known = used | set(src.columns or []) | set(src.ignore_columns)
        frames: list[pl.DataFrame] = []
        infos: list[SourceFileInfo] = []
        for path in paths:
            shown = _rel(export_dir, path)
            # hash the file while DuckDB parses it (both release the GIL)
            digest = _HASHER.submit(sha256_file, path)
            text = read_csv_text(path, fmt, display=shown, workdir=workdir)
            encodings[shown] = text.encoding
            if text.rows_read == 0 and not src.allow_empty:
                raise InputError(
                    f"{shown}: the file has a header but no data rows",
                    hint=f"set allow_empty: true for source {name!r} if an empty file is normal",
                )
            for col in src.columns or []:
                if col not in text.columns:
                    raise InputError(f"{shown}: header: expected column {col!r} is missing"
                                     + suggest(col, text.columns))
            # a field a rule reads but the file lacks is the mapping engine's to report (it
            # names the rule's file and line); unknown columns only matter once none is missing
            lacking = used - set(text.columns)
            if src.unknown_columns == "error" and not lacking:
                for col in text.columns:
                    if col in known or any(col.startswith(p) for p in prefixes):
                        continue
                    raise InputError(
                        f"{shown}: header: unknown column {col!r} (not read by the mapping, "
                        f"not declared)" + suggest(col, sorted(known)),
                        hint=f"map it, or list it under ignore_columns of source {name!r} in "
                        f"{mapping.site_source.name}",
                    )
            info = SourceFileInfo(shown, digest.result(), path.stat().st_size)
            infos.append(info)
            rows_read[shown] = text.rows_read
            broken += [dict(b, source_file=shown) for b in text.broken]
            frames.append(text.frame)
        files += infos
        if frames:
            frame = pl.concat(frames, how="diagonal") if len(frames) > 1 else frames[0]
        else:
            frame = pl.DataFrame(schema={c: pl.String for c in sorted(known)} | {
                ROW_COL: pl.Int64, "_source_key": pl.String, FILE_COL: pl.String})
        tables[name] = SourceTable(
            name=name, frame=frame, files=infos,
            rows_read={i.path: rows_read[i.path] for i in infos},
        )
    return SubmissionSources(tables, files, rows_read, {}, broken, encodings)


def read_redcap_site(mapping: SiteMapping, export_dir: Path, workdir: Path) -> SubmissionSources:
    from cart_registry.readers.redcap import read_redcap_export

    reader = mapping.site.reader
    assert isinstance(reader, RedcapReader)
    where = mapping.site_source.where(["reader"])
    records = match_files(export_dir, reader.records, f"REDCap records, {where}", required=True)
    dictionary = match_files(export_dir, [reader.dictionary], f"REDCap dictionary, {where}",
                             required=True)[0]
    export = read_redcap_export(
        records, dictionary, _fmt(reader), export_dir=export_dir, values=reader.values,
        unknown_columns=reader.unknown_columns, missing_codes=mapping.missing_codes,
        dictionary_encoding=reader.dictionary_encoding, workdir=workdir,
    )
    for shown, n in export.rows_read.items():
        if n == 0:
            raise InputError(f"{shown}: the records export has a header but no data rows")
    dict_info = SourceFileInfo(_rel(export_dir, dictionary), sha256_file(dictionary),
                               dictionary.stat().st_size)
    return SubmissionSources(
        dict(export.tables), [*export.files, dict_info], dict(export.rows_read),
        export.rows_ignored, export.broken, export.encodings, export.dictionary,
    )
