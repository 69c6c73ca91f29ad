"""Where canonical Parquet lives, and how a submission is written atomically.

Layout under the project's ``registry/``::

    data/<table>/site_id=<site>/submission_id=<id>/part-<k>.parquet   (hive-style partitions)
    data/_ingest_issue/site_id=<site>/submission_id=<id>/part-<k>.parquet
    submissions/<site>/<id>/manifest.json                             (written last)

The partition columns ``site_id`` and ``submission_id`` are carried by the folder names, not
inside the files (the Hive/Spark convention), so DuckDB ``read_parquet(...,
hive_partitioning=true)``, Spark and ``pyarrow.dataset(..., partitioning='hive')`` read them
directly. A submission exists only once its manifest exists: everything is first written to a
staging folder, partitions are renamed into place, and the manifest is renamed in last. A
crash before that leaves staging debris that ``clean_incomplete`` removes on the next run.
Ingests hold a shared lock on the registry folder and the cleanup an exclusive one, so a
cleanup never removes the staging, ledger or partitions of an ingest that is still running.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from cart_registry.canonical.issues import ISSUE_SCHEMA, ISSUE_TABLE
from cart_registry.errors import ProjectError
from cart_registry.fsutil import advisory_lock, write_text_atomic
from cart_registry.project import Project, check_site_id
from cart_registry.readers.base import SourceFileInfo
from cart_registry.standard import Table
from cart_registry.standard.derive import arrow_schema

if TYPE_CHECKING:
    import duckdb
    import polars as pl

PARTITION_COLS = ("site_id", "submission_id")
MANIFEST = "manifest.json"
#: the declared Arrow schema (with its metadata) goes in the files' key-value metadata, not
#: as the stored Arrow schema: text is encoded from string views, and a stored schema would
#: make every Arrow reader return views instead of the declared ``string``
PARQUET_OPTS: dict[str, Any] = {"compression": "zstd", "store_schema": False}
#: a table is written as several part files, encoded in parallel, from this many rows a part
PART_MIN_ROWS = 250_000


def submission_id_for(site_id: str, files: list[SourceFileInfo], mapping_digest: str) -> str:
    """Deterministic id: the same files under the same mapping are the same submission."""
    h = hashlib.sha256()
    h.update(site_id.encode())
    for f in sorted(files, key=lambda f: f.path):
        h.update(f"\0{f.path}\0{f.sha256}".encode())
    h.update(f"\0mapping\0{mapping_digest}".encode())
    return f"{site_id}-{h.hexdigest()[:12]}"


def file_schema(table: Table) -> pa.Schema:
    """Arrow schema of the files on disk: the table's schema less the partition columns."""
    full = arrow_schema(table)
    return pa.schema([f for f in full if f.name not in PARTITION_COLS], metadata=full.metadata)


def _view_type(t: pa.DataType) -> pa.DataType:
    if t == pa.string():
        return pa.string_view()
    if pa.types.is_list(t) and t.value_type == pa.string():
        return pa.list_(pa.string_view())
    return t


def encodable(data: pl.DataFrame | pa.Table, schema: pa.Schema) -> pa.Table:
    """``data`` as an Arrow table of ``schema``'s columns and types, ready to encode.

    A polars frame keeps its text as string views (no copy of the text: the conversion to
    ``string`` copied every value twice, and doubled the memory of a large submission), and
    a coded (``Enum``) column stays a dictionary, which Parquet stores as such; the file
    says ``string`` either way. The cast still refuses a null in a non-nullable column.
    """
    if isinstance(data, pa.Table):
        return data.select(schema.names).cast(schema)
    import polars as pl

    table = data.select(schema.names).to_arrow(compat_level=pl.CompatLevel.newest())
    views = pa.schema([
        f.with_type(pa.dictionary(t.index_type, pa.string()) if pa.types.is_dictionary(t)
                    else _view_type(f.type))
        for f, t in zip(schema, table.schema.types, strict=True)])
    return table.cast(views)


def write_parquet(table: pa.Table, path: Path, schema: pa.Schema) -> None:
    """One zstd Parquet file; readers see ``schema``'s types and its metadata."""
    with pq.ParquetWriter(path, table.schema, **PARQUET_OPTS) as writer:
        writer.write_table(table)
        if schema.metadata:
            writer.add_key_value_metadata(
                {k.decode(): v.decode() for k, v in schema.metadata.items()})


def partition_dir(root: Path, table: str, site_id: str, submission_id: str) -> Path:
    return root / table / f"site_id={site_id}" / f"submission_id={submission_id}"


@dataclass(frozen=True)
class SubmissionRef:
    site_id: str
    submission_id: str
    manifest: dict[str, Any]

    def source_files(self) -> list[dict[str, Any]]:
        """The site files behind the submission (path and sha256), sorted by path.

        Tolerates the older manifest shapes (a ``files`` mapping of path to hash).
        """
        files: Any = self.manifest.get("source_files") or self.manifest.get("files") or []
        if isinstance(files, dict):
            files = [
                {"path": k, "sha256": v if isinstance(v, str) else (v or {}).get("sha256")}
                for k, v in files.items()
            ]
        out: list[dict[str, Any]] = []
        for f in files if isinstance(files, list) else []:
            if isinstance(f, dict):
                out.append({"path": str(f.get("path", f.get("source_file", ""))),
                            "sha256": f.get("sha256")})
            elif isinstance(f, str):
                out.append({"path": f, "sha256": None})
        return sorted(out, key=lambda f: f["path"])


class SubmissionWriter:
    """Stage a submission's tables, issues and manifest; ``commit`` makes them visible.

    ``write_table(..., background=True)`` encodes a table in a writer thread while the
    caller goes on (ingest writes the mapped rows while it checks them, and writes again in
    the rare case that conformance set rows aside). A later write of the same table waits
    for the earlier one and replaces it; ``commit`` waits for every write and fails if one
    failed; ``discard`` waits too, so nothing is written after the staging folder is gone.
    """

    def __init__(self, project: Project, site_id: str, submission_id: str) -> None:
        self.project = project
        self.site_id = check_site_id(site_id)
        self.submission_id = submission_id
        self.project.registry_dir.mkdir(parents=True, exist_ok=True)
        self.stage = Path(
            tempfile.mkdtemp(prefix=f".stage-{submission_id}.", dir=self.project.registry_dir)
        )
        self.written: dict[str, int] = {}
        self._pending: dict[str, Future[None]] = {}
        self._pool: ThreadPoolExecutor | None = None

    def wait(self) -> None:
        """Wait for the background writes; the first failure is raised."""
        pending, self._pending = list(self._pending.values()), {}
        for future in pending:
            future.exception()  # all finish before any error propagates
        for future in pending:
            future.result()

    def _write(self, name: str, data: pl.DataFrame | pa.Table, schema: pa.Schema) -> None:
        """Write ``data`` as ``part-<k>.parquet`` files of ``schema``.

        Parquet encoding is single-threaded per file, so a large table is cut into one part
        per core (row order kept: part k holds the k-th slice) and the parts are encoded side
        by side; each thread also converts its own slice to Arrow.
        """
        dest = partition_dir(self.stage, name, self.site_id, self.submission_id)
        if dest.exists():  # written before (a speculative write): replaced whole
            shutil.rmtree(dest)
        dest.mkdir(parents=True, exist_ok=True)
        rows = data.num_rows if isinstance(data, pa.Table) else data.height
        parts = max(1, min(os.cpu_count() or 1, rows // PART_MIN_ROWS))
        step = -(-rows // parts) if rows else 0

        def write_part(k: int) -> None:
            piece = data.slice(k * step, step) if parts > 1 else data
            write_parquet(encodable(piece, schema), dest / f"part-{k}.parquet", schema)

        if parts == 1:
            write_part(0)
        else:
            with ThreadPoolExecutor(max_workers=parts) as pool:
                list(pool.map(write_part, range(parts)))
        self.written[name] = rows

    def write_table(self, table: Table, frame: pl.DataFrame | pa.Table, *,
                    background: bool = False) -> None:
        """Write one canonical table (all declared columns; partition columns are dropped),
        now or, with ``background``, in the writer thread."""
        names = frame.column_names if isinstance(frame, pa.Table) else frame.columns
        missing = [c for c in table.column_names if c not in names]
        extra = [c for c in names if c not in table.column_names]
        if missing or extra:
            raise ProjectError(
                f"{table.name}: columns do not match the standard (missing {missing}, extra {extra})"
            )
        earlier = self._pending.pop(table.name, None)
        if earlier is not None:
            earlier.result()
        if not background:
            self._write(table.name, frame, file_schema(table))
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parquet")
        self._pending[table.name] = self._pool.submit(
            self._write, table.name, frame, file_schema(table))

    def write_issues(self, issues: pa.Table) -> None:
        keep = [n for n in ISSUE_SCHEMA.names if n not in PARTITION_COLS]
        self._write(ISSUE_TABLE, issues, pa.schema([ISSUE_SCHEMA.field(n) for n in keep],
                                                   metadata=ISSUE_SCHEMA.metadata))

    def commit(self, manifest: dict[str, Any]) -> Path:
        """Move the staged partitions into ``data/`` and write the manifest last."""
        data_root = self.project.data_dir
        try:
            self.wait()
            for name in self.written:
                src = partition_dir(self.stage, name, self.site_id, self.submission_id)
                dst = partition_dir(data_root, name, self.site_id, self.submission_id)
                dst.parent.mkdir(parents=True, exist_ok=True)
                if dst.exists():  # a previous, incomplete attempt of the same submission
                    shutil.rmtree(dst)
                os.replace(src, dst)
            mdir = self.project.registry_dir / "submissions" / self.site_id / self.submission_id
            mdir.mkdir(parents=True, exist_ok=True)
            body = dict(manifest)
            body.update(
                site_id=self.site_id,
                submission_id=self.submission_id,
                tables=dict(sorted(self.written.items())),
            )
            write_text_atomic(mdir / MANIFEST, json.dumps(body, indent=2, sort_keys=True, default=str))
            return mdir / MANIFEST
        finally:
            self.discard()

    def discard(self) -> None:
        for future in self._pending.values():
            future.exception()  # finished, whatever the outcome, before the folder goes
        self._pending = {}
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        shutil.rmtree(self.stage, ignore_errors=True)


def list_submissions(project: Project, site_id: str | None = None) -> list[SubmissionRef]:
    """Complete submissions (with a manifest), oldest first by received time."""
    base = project.registry_dir / "submissions"
    if not base.is_dir():
        return []
    refs = []
    sites = [check_site_id(site_id)] if site_id else sorted(p.name for p in base.iterdir())
    for site in sites:
        for mdir in sorted((base / site).glob("*")) if (base / site).is_dir() else []:
            mpath = mdir / MANIFEST
            if mpath.is_file():
                manifest = json.loads(mpath.read_text(encoding="utf-8"))
                refs.append(SubmissionRef(site, mdir.name, manifest))
    return sorted(refs, key=lambda r: (str(r.manifest.get("received_at", "")), r.submission_id))


def get_submission(project: Project, site_id: str, submission_id: str) -> SubmissionRef:
    for ref in list_submissions(project, site_id):
        if ref.submission_id == submission_id:
            return ref
    raise ProjectError(f"no complete submission {submission_id!r} for site {site_id!r}")


def registry_lock(project: Project, *, exclusive: bool) -> contextlib.AbstractContextManager[None]:
    """The registry folder's write lock. Every ingest holds it shared from its first scratch
    file to its manifest, so that a cleanup (exclusive) never mistakes the staging folder,
    ledger or partitions of an ingest still running for debris, however many ingests run at
    once."""
    project.registry_dir.mkdir(parents=True, exist_ok=True)
    return advisory_lock(project.registry_dir, exclusive=exclusive)


def clean_incomplete(project: Project) -> list[Path]:
    """Remove staging debris and partitions whose submission has no manifest; waits for
    ingests in progress to finish first."""
    if not project.registry_dir.is_dir():
        return []
    with registry_lock(project, exclusive=True):
        return _clean_incomplete(project)


def _clean_incomplete(project: Project) -> list[Path]:
    removed: list[Path] = []
    reg = project.registry_dir
    # .stage-*: a writer's staging folder; .ingest-*: an ingest's scratch folder (reader
    # transcodes); both are left behind by a process killed half-way
    for stage in [*reg.glob(".stage-*"), *reg.glob(".ingest-*")]:
        shutil.rmtree(stage, ignore_errors=True)
        removed.append(stage)
    # a submission folder without its manifest (ledger written, killed before the commit)
    # and temporary files of atomic writes stopped half-way
    for mdir in reg.glob("submissions/*/*"):
        if mdir.is_dir() and not (mdir / MANIFEST).is_file():
            shutil.rmtree(mdir, ignore_errors=True)
            removed.append(mdir)
    for tmp in reg.glob("submissions/*/*/.*.tmp"):
        tmp.unlink(missing_ok=True)
        removed.append(tmp)
    complete = {(r.site_id, r.submission_id) for r in list_submissions(project)}
    if project.data_dir.is_dir():
        for part in project.data_dir.glob("*/site_id=*/submission_id=*"):
            key = (part.parent.name.split("=", 1)[1], part.name.split("=", 1)[1])
            if key not in complete:
                shutil.rmtree(part, ignore_errors=True)
                removed.append(part)
    return removed


def partition_files(folder: Path) -> list[Path]:
    """The part files of one partition, in part order (row order of the table)."""
    parts = [p for p in folder.glob("part-*.parquet") if p.stem[5:].isdigit()]
    return sorted(parts, key=lambda p: int(p.stem[5:]))


def parquet_files(project: Project, table: str, refs: list[SubmissionRef]) -> list[Path]:
    out: list[Path] = []
    for r in refs:
        out += partition_files(partition_dir(project.data_dir, table, r.site_id, r.submission_id))
    return out


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def canonical_select_sql(project: Project, table: Table, refs: list[SubmissionRef]) -> str:
    """A SELECT over the given submissions' Parquet for one table, typed exactly as declared.

    With no files it returns a typed zero-row SELECT, so views built on it always bind.
    """
    from cart_registry.standard.derive import duckdb_type

    files = parquet_files(project, table.name, refs)
    cols = ", ".join(
        f'CAST("{c.name}" AS {duckdb_type(c)}) AS "{c.name}"' for c in table.columns
    )
    if not files:
        nulls = ", ".join(f'CAST(NULL AS {duckdb_type(c)}) AS "{c.name}"' for c in table.columns)
        return f"SELECT {nulls} WHERE false"
    listing = "[" + ", ".join(_sql_str(str(p)) for p in files) + "]"
    return (
        f"SELECT {cols} FROM read_parquet({listing}, hive_partitioning = true, "
        f"hive_types_autocast = false)"
    )


def issues_select_sql(project: Project, refs: list[SubmissionRef]) -> str:
    files = parquet_files(project, ISSUE_TABLE, refs)
    names = ", ".join(f'"{f.name}"' for f in ISSUE_SCHEMA)
    if not files:
        nulls = ", ".join(
            f'CAST(NULL AS {"BIGINT" if f.type == pa.int64() else "VARCHAR"}) AS "{f.name}"'
            for f in ISSUE_SCHEMA
        )
        return f"SELECT {nulls} WHERE false"
    listing = "[" + ", ".join(_sql_str(str(p)) for p in files) + "]"
    return f"SELECT {names} FROM read_parquet({listing}, hive_partitioning = true, hive_types_autocast = false)"


def attach_submission_views(
    con: duckdb.DuckDBPyConnection,
    project: Project,
    refs: list[SubmissionRef],
    *,
    schema: str = "main",
    include_catalog: bool = True,
) -> None:
    """Create one view per canonical table (and ``ingest_issue``) over the given submissions.

    ``car_construct`` comes from the central catalog (``mappings/constructs.yaml``) unless a
    submission carries its own rows.
    """
    from cart_registry.canonical.catalog import construct_catalog_arrow

    standard = project.standard()
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    for table in standard:
        sql = canonical_select_sql(project, table, refs)
        if table.name == "car_construct" and include_catalog:
            cat = construct_catalog_arrow(project)
            con.register(f"__catalog_{schema}", cat)
            sql = f"SELECT * FROM __catalog_{schema}"
        con.execute(f"CREATE OR REPLACE VIEW {schema}.{table.name} AS {sql}")
    con.execute(f"CREATE OR REPLACE VIEW {schema}.ingest_issue AS {issues_select_sql(project, refs)}")
