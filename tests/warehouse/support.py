"""Helpers for warehouse tests: small projects, submissions written through the store API."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from cart_registry.canonical.store import SubmissionWriter
from cart_registry.project import Project
from cart_registry.standard.derive import polars_schema

REPO_ROOT = Path(__file__).resolve().parents[2]


def new_project(root: Path, *, settings: dict[str, Any] | None = None) -> Project:
    """A project folder with the repository's settings (optionally overridden)."""
    (root / "mappings").mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_ROOT / "mappings" / "registry.yaml", root / "mappings" / "registry.yaml")
    if settings:
        raw = yaml.safe_load((root / "mappings" / "registry.yaml").read_text())
        raw["study"].update(settings)
        (root / "mappings" / "registry.yaml").write_text(yaml.safe_dump(raw))
    return Project.find(root)


def write_catalog(project: Project, rows: list[dict[str, Any]]) -> None:
    body = {"constructs": [{k: v for k, v in r.items() if v is not None} for r in rows]}
    project.construct_catalog_file.write_text(yaml.safe_dump(body, sort_keys=False))


def canonical_frame(project: Project, table: str, rows: list[dict[str, Any]], site: str,
                    sub: str) -> pl.DataFrame:
    """Rows of one table with every declared column (missing ones null) and provenance."""
    t = project.standard().table(table)
    out = []
    for i, r in enumerate(rows, start=1):
        rec: dict[str, Any] = {c.name: None for c in t.columns}
        rec.update(r)
        rec.update(site_id=site, submission_id=sub, source_file=f"{table}.csv",
                   source_sha256=hashlib.sha256(f"{sub}/{table}".encode()).hexdigest(),
                   source_row=i, mapping_rule=f"test/{table}")
        if "source_key" in rec and rec["source_key"] is None:
            rec["source_key"] = None
        out.append({k: rec[k] for k in t.column_names})
    return pl.DataFrame(out, schema=polars_schema(t), orient="row")


def write_submission(
    project: Project,
    site: str,
    sub: str,
    tables: dict[str, list[dict[str, Any]] | pl.DataFrame],
    *,
    received_at: str = "2023-07-01T00:00:00Z",
    validation: dict[str, Any] | None | str = "passed",
) -> str:
    """Commit a submission through ``SubmissionWriter`` and write its validation.json.

    ``validation``: "passed", "fatal" (one fatal finding), None (no validation.json), or a
    dict written as is.
    """
    w = SubmissionWriter(project, site, sub)
    std = project.standard()
    for name, data in tables.items():
        if isinstance(data, pl.DataFrame):
            frame = data
            t = std.table(name)
            prov = {"site_id": site, "submission_id": sub, "source_file": f"{name}.csv",
                    "source_sha256": hashlib.sha256(f"{sub}/{name}".encode()).hexdigest(),
                    "mapping_rule": f"test/{name}"}
            for col, value in prov.items():
                if col in t.column_names:
                    frame = frame.with_columns(pl.lit(value).alias(col))
            for col in ("source_row", "source_key"):
                if col in t.column_names and col not in frame.columns:
                    frame = frame.with_columns(pl.lit(None).alias(col))
            frame = frame.select(t.column_names).cast(polars_schema(t))  # type: ignore[arg-type]
        else:
            frame = canonical_frame(project, name, data, site, sub)
        w.write_table(std.table(name), frame)
    w.commit({"received_at": received_at,
              "files": [{"path": "export.csv", "sha256": hashlib.sha256(sub.encode()).hexdigest()}]})
    path = project.registry_dir / "submissions" / site / sub / "validation.json"
    if validation == "passed":
        body: dict[str, Any] | None = {
            "counts_failed": {"fatal": 0, "error": 0, "warning": 1, "info": 0},
            "status": "passed", "ruleset_version": "test"}
    elif validation == "fatal":
        body = {"counts_failed": {"fatal": 2, "error": 0, "warning": 0, "info": 0},
                "status": "failed", "ruleset_version": "test"}
    elif validation is None:
        body = None
    else:
        body = dict(validation)  # type: ignore[arg-type]
    if body is not None:
        path.write_text(json.dumps(body))
    return sub


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def truth_project(root: Path, seed: int = 0) -> Project:
    """The synthetic 'abstract' registry written as one submission per site (needs synth)."""
    from cart_registry.synth.truth import generate_truth

    project = new_project(root)
    truth = generate_truth("abstract", seed)
    frames = truth.tables
    write_catalog(project, frames["car_construct"].to_dicts())
    site_of = truth.patient_site
    for site in sorted(set(site_of.values())):
        tables: dict[str, list[dict[str, Any]] | pl.DataFrame] = {}
        for name, frame in frames.items():
            if name == "car_construct":
                continue
            if name == "site":
                tables[name] = frame.filter(pl.col("site_id") == site)
                continue
            pids = [p for p, s in site_of.items() if s == site]
            tables[name] = frame.filter(pl.col("patient_id").is_in(pids))
        write_submission(project, site, f"{site}-truth{seed}", tables)
    return project


# ------------------------------------------------------------------ in-memory view fixtures
DEFAULT_CONSTRUCTS: list[dict[str, Any]] = [
    {"construct_id": "tisa-cel", "target_antigens": ["CD19"]},
    {"construct_id": "cd19-b", "target_antigens": ["CD19"]},
    {"construct_id": "cd22-a", "target_antigens": ["CD22"]},
    {"construct_id": "cd19x22", "target_antigens": ["CD19", "CD22"]},
]


def _site_of(row: dict[str, Any]) -> str:
    pid = row.get("patient_id")
    if isinstance(pid, str) and "-" in pid:
        return pid.split("-", 1)[0]
    return "site_a"


def insert_given(con: Any, given: dict[str, list[dict[str, Any]]]) -> None:
    """Replace every canonical table's rows with the given ones (provenance filled in)."""
    import pyarrow as pa

    from cart_registry.standard import load_standard
    from cart_registry.standard.derive import arrow_type

    std = load_standard()
    data = dict(given)
    data.setdefault("car_construct", DEFAULT_CONSTRUCTS)
    for t in std:
        con.execute(f"DELETE FROM canonical.{t.name}")
    for name, rows in data.items():
        t = std.table(name)
        full = []
        for r in rows:
            unknown = set(r) - set(t.column_names)
            if unknown:
                raise ValueError(f"{name}: unknown column(s) {sorted(unknown)}")
            rec: dict[str, Any] = {c: None for c in t.column_names}
            rec.update(site_id="registry" if name == "car_construct" else _site_of(r))
            if "submission_id" in rec:
                rec.update(submission_id="test", source_file=f"{name}.csv",
                           source_sha256="0" * 64, mapping_rule="test")
            rec.update(r)
            full.append(rec)
        schema = pa.schema([pa.field(c.name, arrow_type(c)) for c in t.columns])
        con.register("__given", pa.Table.from_pylist(full, schema=schema))
        con.execute(f"INSERT INTO canonical.{name} SELECT * FROM __given")
        con.unregister("__given")


_BUILT: dict[str, Any] = {}


def fixture_connection(
    given: dict[str, list[dict[str, Any]]],
    settings: dict[str, Any] | None = None,
    *,
    materialize: bool = False,
) -> Any:
    """An in-memory DuckDB with canonical tables holding ``given``, and every view.

    Views are lazy, so one connection per settings is built once and reused: each call only
    replaces the rows (a build costs about half a second; a test module makes dozens).
    ``materialize`` builds a fresh connection whose derived and ADaM layers are tables,
    which is faster when a test reads every view.
    """
    import duckdb

    from cart_registry.settings import StudySettings
    from cart_registry.standard import load_standard
    from cart_registry.warehouse.layout import create_empty_canonical
    from cart_registry.warehouse.views import build_views

    if materialize:
        std = load_standard()
        con = duckdb.connect()
        create_empty_canonical(con, std)
        insert_given(con, given)
        build_views(con, StudySettings(**(settings or {})), standard=std, materialize=True)
        return con
    key = json.dumps(settings or {}, sort_keys=True, default=str)
    con = _BUILT.get(key)
    if con is None:
        std = load_standard()
        con = duckdb.connect()
        create_empty_canonical(con, std)
        build_views(con, StudySettings(**(settings or {})), standard=std)
        _BUILT[key] = con
    insert_given(con, given)
    return con


def query_records(con: Any, sql: str) -> list[dict[str, Any]]:
    cur = con.execute(sql)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
