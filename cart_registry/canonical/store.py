"""Where canonical Parquet lives, and how a submission is written atomically.

Layout under the project's ``registry/``::

    data/<table>/site_id=<site>/submission_id=<id>/part-0.parquet   (hive-style partitions)
    data/_ingest_issue/site_id=<site>/submission_id=<id>/part-0.parquet
    submissions/<site>/<id>/manifest.json                             (written last)

The partition columns ``site_id`` and ``submission_id`` are carried by the folder names, not
inside the files (the Hive/Spark convention), so DuckDB ``read_parquet(...,
hive_partitioning=true)``, Spark and ``pyarrow.dataset(..., partitioning='hive')`` read them
directly. A submission exists only once its manifest exists: everything is first written to a
staging folder, partitions are renamed into place, and the manifest is renamed in last. A
crash before that leaves staging debris that ``clean_incomplete`` removes on the next run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from cart_registry.canonical.issues import ISSUE_SCHEMA, ISSUE_TABLE
from cart_registry.errors import ProjectError
from cart_registry.fsutil import write_text_atomic
from cart_registry.project import Project, check_site_id
from cart_registry.readers.base import SourceFileInfo
from cart_registry.standard import Table
from cart_registry.standard.derive import arrow_schema

if TYPE_CHECKING:
    import duckdb
    import polars as pl

PARTITION_COLS = ("site_id", "submission_id")
MANIFEST = "manifest.json"
PARQUET_OPTS: dict[str, Any] = {"compression": "zstd"}


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
    """Stage a submission's tables, issues and manifest; ``commit`` makes them visible."""

    def __init__(self, project: Project, site_id: str, submission_id: str) -> None:
        self.project = project
        self.site_id = check_site_id(site_id)
        self.submission_id = submission_id
        self.project.registry_dir.mkdir(parents=True, exist_ok=True)
        self.stage = Path(
            tempfile.mkdtemp(prefix=f".stage-{submission_id}.", dir=self.project.registry_dir)
        )
        self.written: dict[str, int] = {}

    def _write(self, name: str, table: pa.Table) -> None:
        dest = partition_dir(self.stage, name, self.site_id, self.submission_id)
        dest.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, dest / "part-0.parquet", **PARQUET_OPTS)
        self.written[name] = table.num_rows

    def write_table(self, table: Table, frame: pl.DataFrame | pa.Table) -> None:
        """Write one canonical table (all declared columns; partition columns are dropped)."""
        data = frame if isinstance(frame, pa.Table) else frame.to_arrow()
        missing = [c for c in table.column_names if c not in data.column_names]
        extra = [c for c in data.column_names if c not in table.column_names]
        if missing or extra:
            raise ProjectError(
                f"{table.name}: columns do not match the standard (missing {missing}, extra {extra})"
            )
        schema = file_schema(table)
        data = data.select(schema.names).cast(schema)
        self._write(table.name, data)

    def write_issues(self, issues: pa.Table) -> None:
        data = issues.select(ISSUE_SCHEMA.names).cast(ISSUE_SCHEMA)
        keep = [n for n in ISSUE_SCHEMA.names if n not in PARTITION_COLS]
        self._write(ISSUE_TABLE, data.select(keep))

    def commit(self, manifest: dict[str, Any]) -> Path:
        """Move the staged partitions into ``data/`` and write the manifest last."""
        data_root = self.project.data_dir
        try:
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


def clean_incomplete(project: Project) -> list[Path]:
    """Remove staging debris and partitions whose submission has no manifest."""
    removed: list[Path] = []
    reg = project.registry_dir
    if not reg.is_dir():
        return removed
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


def parquet_files(project: Project, table: str, refs: list[SubmissionRef]) -> list[Path]:
    out = []
    for r in refs:
        p = partition_dir(project.data_dir, table, r.site_id, r.submission_id) / "part-0.parquet"
        if p.is_file():
            out.append(p)
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
