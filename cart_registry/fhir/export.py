"""Read a FHIR export folder into the registry's source tables.

Files: ``*.ndjson`` / ``*.ndjson.gz`` (Bulk Data, streamed, see ``bulkscan``) and ``*.json``
(a Bundle of any type, or one bare resource) anywhere under the folder, in sorted order; a
Bulk ``manifest.json`` is not data, but every file its ``output`` lists must be present.

Every row read (an NDJSON line or a Bundle entry) ends in exactly one place: a source table
row, a quarantined row (``broken``, with a located reason), or an ignored row with a reason
per resource type. ``FhirRead.check_balance`` verifies that before the mapping sees anything.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from cart_registry.errors import InputError, ProjectError
from cart_registry.fhir.bulkscan import scan_file
from cart_registry.fhir.bundle import read_json_file
from cart_registry.fhir.flatten import TABLES, Flattener
from cart_registry.fhir.options import FhirOptions
from cart_registry.fhir.records import Located, Problem
from cart_registry.fhir.selection import Selector, not_used_reason
from cart_registry.fsutil import sha256_file
from cart_registry.readers.base import SourceFileInfo, SourceTable

if TYPE_CHECKING:
    import polars as pl

BULK_MANIFEST = "manifest.json"
_FAULT_CODES = {"json": "invalid_json", "not_object": "not_a_resource",
                "no_resource_type": "not_a_resource", "too_long": "line_too_long"}


@dataclass
class FhirRead:
    """Everything read from one export folder, before mapping."""

    files: list[SourceFileInfo] = field(default_factory=list)
    rows_read: dict[str, int] = field(default_factory=dict)
    rows_ignored: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    #: quarantined rows: located problems (several may name one row)
    problems: list[Problem] = field(default_factory=list)
    #: problems of a Bundle's own elements: they make a file invalid but change no data
    warnings: list[Problem] = field(default_factory=list)
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    paths: dict[str, dict[str, str]] = field(default_factory=dict)
    #: which engine read each NDJSON file ('duckdb' or 'python')
    engines: dict[str, str] = field(default_factory=dict)

    def ignored_by_type(self) -> Counter[str]:
        """Ignored rows per resource type (the reason's text after its last ': ')."""
        out: Counter[str] = Counter()
        for reasons in self.rows_ignored.values():
            for reason, n in reasons.items():
                out[reason.rsplit(": ", 1)[-1]] += n
        return out

    def check_balance(self) -> None:
        """Rows read = rows in tables + quarantined rows + ignored rows, per file."""
        placed: dict[str, set[int]] = defaultdict(set)
        for rows in self.rows.values():
            for r in rows:
                placed[r["_source_file"]].add(int(r["_source_row"]))
        bad: dict[str, set[int]] = defaultdict(set)
        for p in self.problems:
            bad[p.file].add(int(p.row or 0))
        for path, n in self.rows_read.items():
            both = placed[path] & bad[path]
            ignored = sum(self.rows_ignored.get(path, Counter()).values())
            total = len(placed[path] | bad[path]) + ignored
            if both or total != n:
                raise ProjectError(
                    f"FHIR reader lost track of rows in {path}: read {n}, in tables "
                    f"{len(placed[path])}, quarantined {len(bad[path])}, ignored {ignored}, "
                    f"both placed and quarantined {len(both)} (this is a bug; please report it)")

    # -- to the mapping engine's shapes ---------------------------------------------------
    def source_tables(self) -> list[SourceTable]:
        import polars as pl

        from cart_registry.readers.base import FILE_COL, KEY_COL, ROW_COL

        out = []
        first = True
        for name, columns in TABLES.items():
            schema: dict[str, Any] = {c: pl.String for c in columns}
            schema.update({ROW_COL: pl.Int64, KEY_COL: pl.String, FILE_COL: pl.String})
            rows = self.rows.get(name, [])
            frame = pl.DataFrame(rows, schema=schema, orient="row") if rows else \
                pl.DataFrame(schema=schema)
            fed = {r[FILE_COL] for r in rows}
            out.append(SourceTable(
                name=name,
                frame=frame,
                files=list(self.files) if first else [f for f in self.files if f.path in fed],
                field_paths=dict(self.paths.get(name, {})),
                rows_read=dict(self.rows_read),
                # the reader's ignored rows are carried once, on the first table
                rows_ignored={k: dict(v) for k, v in self.rows_ignored.items()} if first else {},
            ))
            first = False
        return out

    def broken(self) -> list[dict[str, Any]]:
        """Quarantined rows as the ingest engine's reader issues (one per problem)."""
        return [_reader_issue(p, int(p.row or 0)) for p in self.problems]

    def notices(self) -> list[dict[str, Any]]:
        """Problems of a Bundle's own elements as reader issues that change no data: the
        entries stay in; the issue is reported (``bundle_shell``) so that the site still
        hears that its Bundle breaks FHIR's rules."""
        out = []
        for p in self.warnings:
            issue = _reader_issue(p, p.row)
            out.append(dict(issue, reason_code=BUNDLE_SHELL,
                            reason=f"{p.reason_code}: {issue['reason']}"))
        return out


#: reason code of a problem in a Bundle's own elements (reported; no entry is quarantined)
BUNDLE_SHELL = "bundle_shell"


def _reader_issue(p: Problem, row: int | None) -> dict[str, Any]:
    return {
        "source_file": p.file,
        "row": row,
        "source_key": p.key,
        "source_field": p.path,
        "value": p.value,
        "reason_code": p.reason_code,
        "reason": p.message if p.path is None else f"{p.path}: {p.message}",
        "raw": p.extra.get("raw"),
    }


def list_files(export_dir: Path, form: str) -> list[Path]:
    """Data files of the export, sorted; checks a Bulk manifest's ``output`` list."""
    if not export_dir.is_dir():
        raise InputError(f"export folder not found: {export_dir}")
    out = []
    for p in sorted(export_dir.rglob("*")):
        if not p.is_file() or p.name.startswith("."):
            continue
        name = p.name
        is_bulk = name.endswith((".ndjson", ".ndjson.gz"))
        # deid-manifest.json describes a de-identified export (cart_registry.deid); not data
        is_json = name.endswith(".json") and name not in (BULK_MANIFEST, "deid-manifest.json")
        if (is_bulk and form in ("auto", "bulk")) or (is_json and form in ("auto", "bundles")):
            out.append(p)
    manifest = export_dir / BULK_MANIFEST
    if manifest.is_file() and form in ("auto", "bulk"):
        try:
            body = orjson.loads(manifest.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise InputError(f"{manifest}: not valid JSON ({exc})") from None
        outputs = body.get("output") if isinstance(body, dict) else None
        for item in outputs if isinstance(outputs, list) else []:
            url = item.get("url") if isinstance(item, dict) else None
            if isinstance(url, str) and url:
                name = url.rstrip("/").rsplit("/", 1)[-1]
                if not (export_dir / name).is_file():
                    raise InputError(f"{manifest}: output file {name!r} is listed but missing "
                                     "from the export folder")
    if not out:
        raise InputError(f"{export_dir}: no FHIR files (*.ndjson, *.ndjson.gz, *.json) found")
    if form == "auto":
        # One export is one form: a folder holding a Bulk export and Bundles of the same
        # patients would count every resource twice. Bulk NDJSON wins when both are present.
        bulk = [p for p in out if p.name.endswith((".ndjson", ".ndjson.gz"))]
        out = bulk or out
    return out


def read_export(export_dir: Path, options: FhirOptions | None = None) -> FhirRead:
    """Read, select, check, resolve and flatten one FHIR export folder."""
    opts = options or FhirOptions()
    selector = Selector(opts.conventions)
    result = FhirRead()
    candidates: list[Located] = []
    root = export_dir.resolve()
    for path in list_files(root, opts.form):
        rel = path.relative_to(root).as_posix()
        sha: str | None = None
        if path.name.endswith((".ndjson", ".ndjson.gz")):
            found, sha = _read_ndjson(path, rel, selector, opts, result)
            candidates += found
        else:
            candidates += _read_json(path, rel, selector, opts, result)
        result.files.append(SourceFileInfo(rel, sha or sha256_file(path), path.stat().st_size))
    flat = Flattener(candidates, selector, strict=opts.strict).run()
    result.problems += flat.problems
    for loc, reason in flat.ignored:
        result.rows_ignored[loc.file][reason] += 1
    result.rows = flat.rows
    result.paths = flat.paths
    result.check_balance()
    return result


def _read_ndjson(path: Path, rel: str, selector: Selector, opts: FhirOptions,
                 result: FhirRead) -> tuple[list[Located], str | None]:
    try:
        scan = scan_file(path, rel, selector, use_duckdb=opts.use_duckdb,
                         max_decompressed_bytes=opts.max_decompressed_bytes)
    except InputError as exc:  # a gzip bomb or a corrupt gzip stream: the file is refused
        result.rows_read[rel] = 1
        result.problems.append(Problem(rel, 0, None, None, "file_unreadable", str(exc)))
        return [], None
    result.engines[rel] = scan.engine
    result.rows_read[rel] = scan.rows_read
    for rtype, n in scan.not_candidate.items():
        result.rows_ignored[rel][not_used_reason(rtype)] += n
    for f in scan.faults:
        result.problems.append(Problem(rel, f.line, None, None,
                                       _FAULT_CODES.get(f.fault_kind or "", "invalid_json"),
                                       f.fault or "unreadable line", "error", None,
                                       {"raw": f.excerpt}))
    return scan.candidates, scan.sha256


def _read_json(path: Path, rel: str, selector: Selector, opts: FhirOptions,
               result: FhirRead) -> list[Located]:
    read = read_json_file(path, rel, max_file_bytes=opts.max_file_bytes)
    result.rows_read[rel] = read.rows_read
    for reason, n in read.ignored.items():
        result.rows_ignored[rel][reason] += n
    for p in read.problems:
        if p.extra.get("scope") == "bundle":
            result.warnings.append(p)
        else:
            if p.row is None:
                p.row = 0
            result.problems.append(p)
    out = []
    for loc in read.entries:
        if selector.candidate(loc.resource):
            out.append(loc)
        else:
            result.rows_ignored[rel][not_used_reason(loc.type)] += 1
    return out


def frames_for_tests(read: FhirRead) -> dict[str, pl.DataFrame]:
    """The source tables as frames by name (handy in tests and notebooks)."""
    return {t.name: t.frame for t in read.source_tables()}
