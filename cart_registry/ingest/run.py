"""``ingest_submission``: one site export folder -> one canonical submission, atomically.

Read (all text, with locators) -> map (columnar rules) -> conform (Pandera, per table) ->
account (row ledger, checked) -> write (zstd Parquet partitions, issues, ledger, manifest via
``SubmissionWriter``). Any error before the commit leaves nothing behind: the writer's
staging folder is discarded and no manifest appears.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cart_registry import __version__
from cart_registry.canonical.catalog import load_construct_rows
from cart_registry.deid.manifest import check_deidentified_input
from cart_registry.errors import ConfigError, InputError
from cart_registry.fsutil import write_text_atomic
from cart_registry.ingest.accounting import build_ledger, ledger_csv
from cart_registry.ingest.conform import conform_table
from cart_registry.ingest.result import IngestResult
from cart_registry.ingest.sources import SubmissionSources, read_sources
from cart_registry.mapping.apply import INDEX_COL, Provenance, RuleOutput, apply_rule, raw_rows_json
from cart_registry.mapping.context import SiteSettings
from cart_registry.mapping.ops import Defaults
from cart_registry.mapping.spec import SiteMapping, load_site_mapping
from cart_registry.mapping.yamlsrc import suggest
from cart_registry.project import Project, check_site_id

if TYPE_CHECKING:
    import polars as pl

    from cart_registry.standard import Standard, Table


def utc_iso(when: dt.datetime | str | None) -> str:
    """ISO 8601 UTC with a Z, from a datetime, an ISO string or now."""
    if when is None:
        when = dt.datetime.now(dt.UTC)
    elif isinstance(when, str):
        try:
            when = dt.datetime.fromisoformat(when.replace("Z", "+00:00"))
        except ValueError:
            raise InputError(f"received_at {when!r} is not an ISO date-time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def catalog_index(project: Project) -> tuple[dict[str, str], str | None]:
    """(lower-cased construct id and name -> construct id, catalog sha256)."""
    import hashlib

    rows = load_construct_rows(project)
    index: dict[str, str] = {}
    for r in rows:
        cid = str(r.get("construct_id"))
        index[cid.lower()] = cid
        if r.get("construct_name"):
            index.setdefault(str(r["construct_name"]).strip().lower(), cid)
    path = project.construct_catalog_file
    sha = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
    return index, sha


def site_settings(mapping: SiteMapping, catalog: dict[str, str],
                  sources: SubmissionSources | None = None) -> SiteSettings:
    d = mapping.site.defaults
    reader = mapping.site.reader
    return SiteSettings(
        site_id=mapping.site_id,
        defaults=Defaults(tuple(d.date_formats), getattr(reader, "decimal", "."),
                          tuple(d.true_values), tuple(d.false_values), d.list_separator),
        missing_codes=mapping.missing_codes,
        decimal=getattr(reader, "decimal", "."),
        value_sets=mapping.value_sets,
        catalog=catalog,
        dictionary=sources.dictionary if sources else None,
    )


def site_frame(standard: Standard, mapping: SiteMapping) -> pl.DataFrame:
    """The ``site`` row from site.yaml, checked against the standard."""
    import polars as pl

    from cart_registry.standard.derive import first_failure, pandera_schema, polars_schema

    table = standard.table("site")
    row = mapping.site.site.model_dump()
    frame = pl.DataFrame([{c: row.get(c) for c in table.column_names}],
                         schema=polars_schema(table), orient="row")
    first = first_failure(pandera_schema(table), frame)
    if first is not None:
        raise ConfigError(f"{mapping.site_source.where(['site', first['column']])}: site."
                          f"{first['column']}: fails {first['check']}")
    return frame


def map_submission(
    standard: Standard,
    mapping: SiteMapping,
    sources: SubmissionSources,
    settings: SiteSettings,
    prov: Provenance,
) -> list[RuleOutput]:
    """Apply every rule of every table file, in the standard's foreign-key order."""
    outputs: list[RuleOutput] = []
    for table in standard:
        tm = mapping.tables.get(table.name)
        if tm is None:
            continue
        for i, rule in enumerate(tm.spec.rules):
            src = sources.tables.get(rule.source)
            if src is None:
                raise ConfigError(
                    f"{tm.source.where(['rules', i, 'source'])}: rules[{i}].source: no source "
                    f"table {rule.source!r} in this export (have: {', '.join(sorted(sources.tables))})"
                    + suggest(rule.source, sources.tables)
                )
            outputs.append(apply_rule(settings, tm, i, table, src, prov))
    return outputs


def reader_issues(sources: SubmissionSources, prov: Provenance) -> pl.DataFrame:
    """Rows a reader could not split or parse (quarantined with their raw text), and what
    it reports without setting rows aside (``reported``)."""
    import polars as pl

    from cart_registry.mapping.apply import empty_issues

    found = [(x, "row_quarantined") for x in sources.broken] + [
        (x, "reported") for x in sources.notices]
    if not found:
        return empty_issues()
    return pl.DataFrame({
        "site_id": [prov.site_id] * len(found),
        "submission_id": [prov.submission_id] * len(found),
        "source_file": [x["source_file"] for x, _ in found],
        "source_sha256": [prov.sha256.get(x["source_file"]) for x, _ in found],
        "source_row": [None if x.get("row") is None else int(x["row"]) for x, _ in found],
        "source_key": [x.get("source_key") for x, _ in found],
        "source_field": [x.get("source_field") for x, _ in found],
        "target_table": [None] * len(found),
        "target_column": [None] * len(found),
        "value": [x.get("value") for x, _ in found],
        "reason_code": [x["reason_code"] for x, _ in found],
        "reason": [x["reason"] for x, _ in found],
        "action": [action for _, action in found],
        "mapping_rule": [None] * len(found),
        "raw_row": [x.get("raw") if action == "row_quarantined" else None for x, action in found],
    }, schema=empty_issues().schema)


def conform_all(
    standard: Standard,
    outputs: list[RuleOutput],
    sources: SubmissionSources,
    on_mapped: Callable[[Table, pl.DataFrame], None] | None = None,
) -> tuple[dict[str, pl.DataFrame], list[pl.DataFrame]]:
    """Per table: concatenate its rules' rows and keep those that conform.

    ``on_mapped`` sees each table's mapped rows (its declared columns) before they are
    checked; conformance only ever removes rows, so a table that keeps as many rows as it
    was given is exactly what ``on_mapped`` saw.
    """
    import polars as pl

    by_rule = {o.rule_id: sources.tables[o.source].frame for o in outputs}

    def raw(rows: pl.DataFrame) -> pl.Series:
        out = pl.Series("raw_row", [None] * rows.height, dtype=pl.String)
        if INDEX_COL not in rows.columns or rows.height == 0:
            return out
        parts = []
        keyed = rows.select("mapping_rule", INDEX_COL).with_row_index("__o")
        for (rule_id,), grp in keyed.group_by("mapping_rule"):
            src = by_rule.get(str(rule_id))
            if src is None:
                continue
            js = raw_rows_json(src, grp.get_column(INDEX_COL))
            parts.append(pl.DataFrame({"__o": grp.get_column("__o"), "raw_row": js}))
        if not parts:
            return out
        joined = keyed.select("__o").join(pl.concat(parts), on="__o", how="left")
        return joined.get_column("raw_row")

    written: dict[str, pl.DataFrame] = {}
    issues: list[pl.DataFrame] = []
    tables: dict[str, Table] = {t.name: t for t in standard}
    for name in dict.fromkeys(o.table for o in outputs):
        frames = [o.frame for o in outputs if o.table == name]
        if len(frames) > 1:
            # a column one rule hands over coded (Enum) and another as text is text
            mixed = {c for c in frames[0].columns if len({f.schema[c] for f in frames}) > 1}
            frames = [f.with_columns(pl.col(c).cast(pl.String) for c in mixed) for f in frames]
        frame = pl.concat(frames, how="vertical") if len(frames) > 1 else frames[0]
        if on_mapped is not None:
            on_mapped(tables[name], frame.select(tables[name].column_names))
        good, bad = conform_table(tables[name], frame, raw)
        written[name] = good
        if bad.height:
            issues.append(bad)
    return written, issues


def _manifest_dir(project: Project, site_id: str, submission_id: str) -> Path:
    return project.registry_dir / "submissions" / site_id / submission_id


def ingest_submission(
    project: Project,
    export_dir: str | Path,
    site_id: str,
    *,
    received_at: dt.datetime | str | None = None,
) -> IngestResult:
    """Map one site export folder to a canonical submission (see the module docstring).

    ``received_at`` (default: now, UTC) is recorded in the manifest; pass a fixed value for
    reproducible tests. Raises ``ConfigError`` for mapping problems, ``InputError`` for files
    that cannot be read; data problems in rows or cells become ingest issues instead.
    """
    from cart_registry.canonical.store import registry_lock

    project.registry_dir.mkdir(parents=True, exist_ok=True)
    with registry_lock(project, exclusive=False):
        return _ingest_submission(project, export_dir, site_id, received_at)


def _ingest_submission(project: Project, export_dir: str | Path, site_id: str,
                       received_at: dt.datetime | str | None) -> IngestResult:
    import polars as pl

    from cart_registry.canonical.issues import ISSUE_SCHEMA
    from cart_registry.canonical.store import SubmissionWriter, submission_id_for

    t0 = time.perf_counter()
    site_id = check_site_id(site_id)
    received = utc_iso(received_at)
    folder = Path(export_dir).expanduser()
    if not folder.is_dir():
        raise InputError(f"export folder not found: {folder}")
    folder = folder.resolve()
    standard = project.standard()
    mapping = load_site_mapping(project.site_mapping_dir(site_id), site_id=site_id,
                                table_names=standard.table_names)
    catalog, catalog_sha = catalog_index(project)
    site_row = site_frame(standard, mapping)
    # a de-identified export carries deid-manifest.json; its mode must match the site's
    # date_shift_policy, and a site that promises shifted dates must send one
    deidentified = check_deidentified_input(folder, mapping)

    project.registry_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".ingest-", dir=project.registry_dir))
    try:
        sources = read_sources(mapping, folder, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    submission_id = submission_id_for(site_id, sources.files, mapping.digest)
    prov = Provenance(site_id, submission_id, {f.path: f.sha256 for f in sources.files})
    settings = site_settings(mapping, catalog, sources)

    outputs = map_submission(standard, mapping, sources, settings, prov)

    writer = SubmissionWriter(project, site_id, submission_id)
    mdir = _manifest_dir(project, site_id, submission_id)
    had_manifest = (mdir / "manifest.json").is_file()
    try:
        # the mapped rows are encoded to Parquet while they are checked: most submissions
        # conform whole, and a table that lost rows to quarantine is written again below
        mapped: dict[str, int] = {}

        def write_mapped(table: Table, frame: pl.DataFrame) -> None:
            mapped[table.name] = frame.height
            writer.write_table(table, frame, background=True)

        written, conform_issues = conform_all(standard, outputs, sources, write_mapped)
        for table in standard:
            if table.name in written and written[table.name].height != mapped[table.name]:
                writer.write_table(table, written[table.name], background=True)
        issue_frames = [reader_issues(sources, prov), *[o.issues for o in outputs],
                        *conform_issues]
        issues = pl.concat([f for f in issue_frames if f.height] or [issue_frames[0]],
                           how="vertical_relaxed")

        ledger = build_ledger(sources, [(o.source, o.used) for o in outputs], written, issues)
        ledger.check()

        by_reason = dict(sorted(Counter(issues.get_column("reason_code").to_list()).items()))
        by_action = dict(sorted(Counter(issues.get_column("action").to_list()).items()))
        lineage = [entry for o in outputs for entry in o.lineage]
        manifest: dict[str, Any] = {
            "kind": "ingest",
            "received_at": received,
            "tool_version": __version__,
            "mapping_version": mapping.site.mapping_version,
            "mapping_digest": mapping.digest,
            "mapping_files": mapping.file_digests,
            "construct_catalog_sha256": catalog_sha,
            "export_format": mapping.site.site.export_format,
            "reader": mapping.site.reader.kind,
            "encodings": sources.encodings,
            "source_files": [
                {"path": f.path, "sha256": f.sha256, "size_bytes": f.size_bytes}
                for f in sources.files
            ],
            "row_counts": {"site": 1, **{t: f.height for t, f in written.items()}},
            "issues": {"total": issues.height, "by_reason": by_reason, "by_action": by_action},
            "ledger": ledger.to_list(),
            "ledger_totals": ledger.totals(),
            "lineage": lineage,
            "deidentified": deidentified,
        }

        writer.write_table(standard.table("site"), site_row)
        writer.write_issues(issues.to_arrow().cast(ISSUE_SCHEMA))
        # the ledger files go beside the manifest before it exists: a submission without a
        # manifest does not exist, whatever else its folder holds
        mdir.mkdir(parents=True, exist_ok=True)
        write_text_atomic(mdir / "ledger.json", json.dumps(
            {"submission_id": submission_id, "entries": ledger.to_list(),
             "totals": ledger.totals()}, indent=2, sort_keys=True))
        write_text_atomic(mdir / "ledger.csv", ledger_csv(ledger))
        writer.wait()
        manifest["duration_seconds"] = round(time.perf_counter() - t0, 3)
        manifest_path = writer.commit(manifest)
    except BaseException:
        writer.discard()
        if not had_manifest:
            shutil.rmtree(mdir, ignore_errors=True)
        raise

    tables = {"site": 1, **{t: f.height for t, f in written.items()}}
    return IngestResult(
        site_id=site_id,
        submission_id=submission_id,
        export_dir=str(folder),
        received_at=received,
        manifest_path=str(manifest_path),
        mapping_version=mapping.site.mapping_version,
        mapping_digest=mapping.digest,
        tables=tables,
        issues_by_reason=by_reason,
        issues_by_action=by_action,
        ledger=ledger.to_list(),
        totals=ledger.totals(),
        seconds=round(time.perf_counter() - t0, 3),
        encodings=dict(sources.encodings),
    )
