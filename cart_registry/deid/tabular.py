"""De-identify CSV and REDCap exports: columnar rewrites of whole files with polars.

Each file the mapping reads is read with the registry's own CSV reader (same dialect, same
encoding, every cell as text), so deidentify sees exactly the cells ingest will see. Per
column one action is chosen (``column_action``); patient ids and dates are rewritten by
expressions joined to the per-patient table, so no Python loop runs over rows. The file is
written back in its own dialect and encoding, with the columns it keeps in their order.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cart_registry.deid.plan import DateSpec, SourceRoles, merge_roles
from cart_registry.deid.spec import DeidentifySpec
from cart_registry.errors import ConfigError, InputError
from cart_registry.mapping.context import SiteSettings, SourceContext
from cart_registry.mapping.ops.dates import parse_dates
from cart_registry.mapping.spec import CsvReader, RedcapReader, SiteMapping
from cart_registry.readers.csv_reader import CsvFormat, read_csv_text

if TYPE_CHECKING:
    import polars as pl

#: REDCap columns the reader needs whatever the mapping reads
REDCAP_STRUCTURE = ("redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance",
                    "redcap_data_access_group")
#: REDCap's survey identifier holds what a participant typed to identify themselves
REDCAP_DIRECT = ("redcap_survey_identifier",)
#: date formats of REDCap raw exports (whatever the field's display validation)
REDCAP_DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S")

PSEUDONYMISE, SHIFT, BLANK, REMOVE, FLAG, KEEP, KEEP_UNMAPPED = (
    "pseudonymised", "date_shifted", "emptied", "removed", "flagged_free_text", "kept",
    "kept_unmapped")


@dataclass
class FileJob:
    """One file to rewrite, with what its columns are."""

    rel: str
    path: Path
    roles: SourceRoles
    fmt: CsvFormat
    #: fields rules read (where conditions included) and checkbox prefixes
    read: set[str] = field(default_factory=set)
    prefixes: set[str] = field(default_factory=set)
    #: columns kept whatever the mapping reads (declared columns, REDCap structure)
    structural: set[str] = field(default_factory=set)
    #: identifiers and free text known from the file format (REDCap dictionary flags)
    identifiers: set[str] = field(default_factory=set)
    free_text: set[str] = field(default_factory=set)
    extra_dates: dict[str, DateSpec] = field(default_factory=dict)
    # filled by prepare():
    frame: Any = None
    columns: list[str] = field(default_factory=list)
    encoding: str = "utf-8"
    newline: str = "\n"
    actions: dict[str, str] = field(default_factory=dict)
    date_cols: dict[str, DateSpec] = field(default_factory=dict)


def column_action(col: str, job: FileJob, spec: DeidentifySpec) -> str:
    """What happens to one column (the first rule that applies wins)."""
    read = col in job.read or any(col.startswith(p) for p in job.prefixes)
    if col in job.roles.patient_fields:
        return PSEUDONYMISE
    if col in spec.direct_identifiers or (col in job.identifiers and not read):
        return BLANK if read else REMOVE
    if col in job.roles.free_text or col in spec.free_text or (col in job.free_text and not read):
        if spec.free_text_action == "flag":
            return FLAG
        return BLANK if read else REMOVE
    if col in job.roles.dates:
        return SHIFT
    if read or col in job.structural:
        return KEEP
    if spec.unmapped_fields == "drop":
        return REMOVE
    if col in job.extra_dates or col in spec.dates:
        return SHIFT
    return KEEP_UNMAPPED


def _newline_of(path: Path) -> str:
    with path.open("rb") as fh:
        head = fh.read(1 << 16)
    first = head.split(b"\n", 1)[0]
    return "\r\n" if first.endswith(b"\r") else "\n"


def prepare(job: FileJob, spec: DeidentifySpec, settings: SiteSettings, site_id: str,
            default_formats: tuple[str, ...], workdir: Path) -> None:
    """Read the file and add the parsed patient key and dates (columns ``__key``, ``__d:``
    and ``__f:``)."""
    import polars as pl

    text = read_csv_text(job.path, job.fmt, display=job.rel, workdir=workdir)
    if text.broken:
        b = text.broken[0]
        raise InputError(
            f"{job.rel}: data row {b['row']}: {b['reason']}; a row that cannot be read cannot "
            f"be de-identified ({len(text.broken)} such row(s))",
            hint="fix the export (or re-export it) before de-identifying",
        )
    job.columns = list(text.columns)
    job.encoding = text.encoding
    job.newline = _newline_of(job.path)
    job.actions = {c: column_action(c, job, spec) for c in job.columns}
    for c, action in job.actions.items():
        if action == SHIFT:
            job.date_cols[c] = (job.roles.dates.get(c) or job.extra_dates.get(c)
                                or DateSpec(default_formats))
    pfields = [f for f in job.roles.patient_fields if f in job.columns]
    if job.date_cols and not pfields:
        raise ConfigError(
            f"{job.rel}: source {job.roles.source!r} has dates ({', '.join(job.date_cols)}) but "
            "no field that holds the patient id, so its dates cannot be shifted per patient",
            hint=f"add deidentify.patient_id_fields: {{{job.roles.source}: FIELD}} to site.yaml",
        )
    ctx = SourceContext(settings, job.columns, job.roles.source, [job.rel])
    exprs: list[pl.Expr] = []
    if pfields:
        t = ctx.field(pfields[0]).expr
        prefix = f"{site_id}-"
        # the patient_id operation strips an existing site prefix: so does the key
        local = pl.when(t.str.starts_with(prefix)).then(t.str.slice(len(prefix))).otherwise(t)
        exprs.append(local.alias("__key"))
    else:
        exprs.append(pl.lit(None, dtype=pl.String).alias("__key"))
    for c, ds in job.date_cols.items():
        v = parse_dates(ctx.field(c), ds.formats, excel_serial=ds.excel_serial,
                        partial=ds.partial)
        flags = [f.flag.fill_null(False) for f in v.failures]
        exprs.append(v.expr.alias(f"__d:{c}"))
        exprs.append((pl.any_horizontal(flags) if flags else pl.lit(False)).alias(f"__f:{c}"))
    job.frame = text.frame.with_columns(exprs)


def facts_of(job: FileJob) -> pl.DataFrame:
    """``key, date, role`` of every parsed date of the file (for offsets and age caps)."""
    import polars as pl

    from cart_registry.deid.patients import BIRTH, INFUSION, OTHER, empty_facts

    parts = []
    for c in job.date_cols:
        role = BIRTH if c in job.roles.birth else INFUSION if c in job.roles.infusion else OTHER
        parts.append(job.frame.select(
            pl.col("__key").alias("key"), pl.col(f"__d:{c}").alias("date"),
            pl.lit(role).alias("role")))
    return pl.concat(parts) if parts else empty_facts()


def rewrite(job: FileJob, patients: pl.DataFrame, cutoff: Any) -> tuple[pl.DataFrame, dict[
        str, dict[str, int]]]:
    """The de-identified frame (kept columns, in order) and counts per column and action."""
    import polars as pl

    frame = job.frame.join(patients.rename({"key": "__key"}), on="__key", how="left",
                           maintain_order="left")
    key = pl.col("__key")
    outs: list[pl.Expr] = []
    counts: list[pl.Expr] = []

    def count(col: str, what: str, expr: pl.Expr) -> None:
        counts.append(expr.fill_null(False).sum().alias(f"{col}\x1f{what}"))

    for c in job.columns:
        action = job.actions[c]
        orig = pl.col(c)
        if action == REMOVE:
            count(c, "cells_removed", orig.is_not_null())
            continue
        if action == PSEUDONYMISE:
            outs.append(pl.when(key.is_not_null()).then(pl.col("pseudonym")).otherwise(orig)
                        .alias(c))
            count(c, PSEUDONYMISE, key.is_not_null())
        elif action == SHIFT:
            ds = job.date_cols[c]
            d = pl.col(f"__d:{c}")
            failed = pl.col(f"__f:{c}")
            if c in job.roles.birth:
                capped = d.is_not_null() & pl.col("birth_cap").is_not_null() & (
                    d < pl.col("birth_cap"))
                count(c, "age_capped", capped)
                d = pl.when(capped).then(pl.col("birth_cap")).otherwise(d)
            new = (d + pl.duration(days=pl.col("offset"))).dt.strftime(ds.write_format)
            outs.append(
                pl.when(d.is_not_null() & key.is_not_null()).then(new)
                .when(d.is_not_null() | failed).then(pl.lit(None, dtype=pl.String))
                .otherwise(orig).alias(c))
            count(c, SHIFT, d.is_not_null() & key.is_not_null())
            count(c, "emptied_no_patient", d.is_not_null() & key.is_null())
            count(c, "emptied_unparseable", failed)
            if cutoff is not None:
                count(c, "after_cutoff_before_shift", d > pl.lit(cutoff))
        elif action == BLANK:
            outs.append(pl.lit(None, dtype=pl.String).alias(c))
            count(c, BLANK, orig.is_not_null())
        else:  # KEEP, KEEP_UNMAPPED, FLAG
            outs.append(orig)
            if action != KEEP:
                count(c, action, orig.is_not_null())
    out = frame.select(outs) if outs else frame.select([])
    tally: dict[str, dict[str, int]] = {}
    if counts:
        row = frame.select(counts).row(0, named=True)
        for name, n in row.items():
            col, what = name.split("\x1f", 1)
            if n:
                tally.setdefault(col, {})[what] = int(n)
    return out, tally


def encode_csv(frame: pl.DataFrame, fmt: CsvFormat, encoding: str, newline: str) -> bytes:
    """The frame as CSV bytes in the site's dialect and encoding."""
    if fmt.escape and fmt.escape != fmt.quote:
        # polars doubles quotes; a site whose reader expects an escape character gets one
        buf = io.StringIO()
        w = csv.writer(buf, delimiter=fmt.delimiter, quotechar=fmt.quote,
                       escapechar=fmt.escape, doublequote=False, lineterminator=newline)
        w.writerow(frame.columns)
        w.writerows(["" if v is None else v for v in r] for r in frame.iter_rows())
        text = buf.getvalue()
    else:
        text = frame.write_csv(separator=fmt.delimiter, quote_char=fmt.quote, null_value="",
                               line_terminator=newline)
    if not frame.columns:
        text = ""
    try:
        return text.encode(encoding)
    except UnicodeEncodeError as exc:  # pragma: no cover - input came in this encoding
        raise InputError(f"cannot write a cell in {encoding}: {exc.reason}") from None


# -------------------------------------------------------------------------- jobs per reader
def csv_jobs(mapping: SiteMapping, roles: dict[str, SourceRoles], export_dir: Path,
             spec: DeidentifySpec) -> list[FileJob]:
    from cart_registry.ingest.sources import fields_read, match_files

    reader = mapping.site.reader
    assert isinstance(reader, CsvReader)
    fmt = CsvFormat(reader.encoding, reader.delimiter, reader.quote, reader.escape)
    jobs: list[FileJob] = []
    seen: set[Path] = set()
    for name, src in reader.sources.items():
        where = mapping.site_source.where(["reader", "sources", name])
        read, prefixes = fields_read(mapping, name)
        for path in match_files(export_dir, src.files, f"source {name!r}, {where}",
                                required=src.required):
            if path in seen:
                raise ConfigError(f"{where}: {path.name} is read by two sources; deidentify "
                                  "needs one role per file")
            seen.add(path)
            jobs.append(FileJob(
                rel=path.resolve().relative_to(export_dir.resolve()).as_posix(), path=path,
                roles=roles.get(name, SourceRoles(name)), fmt=fmt, read=read, prefixes=prefixes,
                structural=set(src.columns or []), free_text=set(spec.free_text),
            ))
    return jobs


def redcap_jobs(mapping: SiteMapping, roles: dict[str, SourceRoles], export_dir: Path,
                spec: DeidentifySpec) -> tuple[list[FileJob], Path]:
    """Jobs for the records file(s); the dictionary is copied as it is."""
    from cart_registry.ingest.sources import fields_read, match_files
    from cart_registry.readers.redcap import read_dictionary

    reader = mapping.site.reader
    assert isinstance(reader, RedcapReader)
    fmt = CsvFormat(reader.encoding, reader.delimiter, reader.quote, reader.escape)
    where = mapping.site_source.where(["reader"])
    records = match_files(export_dir, reader.records, f"REDCap records, {where}", required=True)
    dict_path = match_files(export_dir, [reader.dictionary], f"REDCap dictionary, {where}",
                            required=True)[0]
    d = read_dictionary(dict_path, encoding=reader.dictionary_encoding or reader.encoding,
                        display=dict_path.name)
    read: set[str] = set()
    prefixes: set[str] = set()
    for form in d.forms:
        r, p = fields_read(mapping, form)
        read |= r
        prefixes |= p
    merged = merge_roles("records", [roles[f] for f in d.forms if f in roles])
    if d.record_id not in merged.patient_fields:
        merged.patient_fields.insert(0, d.record_id)
    identifiers = {f.name for f in d.fields if f.identifier} | set(REDCAP_DIRECT)
    free_text = {f.name for f in d.fields if f.field_type == "notes"} | set(spec.free_text)
    extra_dates = {
        f.name: DateSpec(REDCAP_DATE_FORMATS) for f in d.fields
        if f.validation.startswith(("date_", "datetime_"))
    } | {f"{form}_timestamp": DateSpec(REDCAP_DATE_FORMATS) for form in d.forms}
    structural = {d.record_id, *REDCAP_STRUCTURE} | {f"{form}_complete" for form in d.forms}
    jobs = [FileJob(
        rel=p.resolve().relative_to(export_dir.resolve()).as_posix(), path=p, roles=merged,
        fmt=fmt, read=read, prefixes=prefixes, structural=structural, identifiers=identifiers,
        free_text=free_text, extra_dates=extra_dates,
    ) for p in records]
    return jobs, dict_path


def run_jobs(
    jobs: list[FileJob],
    *,
    spec: DeidentifySpec,
    settings: SiteSettings,
    site_id: str,
    default_formats: tuple[str, ...],
    workdir: Path,
    make_patients: Callable[[pl.Series, pl.DataFrame], pl.DataFrame],
    cutoff: Any,
    write: Callable[[str, bytes], None],
) -> tuple[pl.DataFrame, dict[str, dict[str, dict[str, int]]], dict[str, int]]:
    """Prepare every file, build the patient table over all of them, rewrite and write.

    Returns the patient table, counts per file/column/action and rows per file.
    """
    import polars as pl

    for job in jobs:
        prepare(job, spec, settings, site_id, default_formats, workdir)
    keys = pl.concat([j.frame.get_column("__key") for j in jobs]) if jobs else pl.Series(
        "__key", [], dtype=pl.String)
    facts = pl.concat([facts_of(j) for j in jobs]) if jobs else None
    patients = make_patients(keys, facts if facts is not None else pl.DataFrame())
    report: dict[str, dict[str, dict[str, int]]] = {}
    rows: dict[str, int] = {}
    for job in jobs:
        out, tally = rewrite(job, patients, cutoff)
        write(job.rel, encode_csv(out, job.fmt, job.encoding, job.newline))
        report[job.rel] = tally
        rows[job.rel] = out.height
        job.frame = None  # the text of the file is no longer needed
    return patients, report, rows

