"""The canonical store: atomic submission partitions readable by DuckDB with hive partitions."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from cart_registry.canonical.issues import issues_table
from cart_registry.canonical.ledger import Ledger, LedgerMismatch
from cart_registry.canonical.store import (
    SubmissionWriter,
    attach_submission_views,
    clean_incomplete,
    list_submissions,
    submission_id_for,
)
from cart_registry.project import Project
from cart_registry.readers.base import SourceFileInfo
from cart_registry.standard.derive import polars_schema


@pytest.fixture()
def project(tmp_path: Path, repo_root: Path) -> Project:
    (tmp_path / "mappings").mkdir()
    shutil.copy(repo_root / "mappings" / "registry.yaml", tmp_path / "mappings" / "registry.yaml")
    return Project.find(tmp_path)


def _patient_frame(project: Project, sub: str) -> pl.DataFrame:
    t = project.standard().table("patient")
    row = {c.name: None for c in t.columns}
    row.update(
        patient_id="site_a-001", sex="female", birth_date=dt.date(2010, 1, 2),
        registry_status="included", site_id="site_a", submission_id=sub,
        source_file="records.csv", source_sha256="a" * 64, source_row=1, mapping_rule="m/patient",
    )
    return pl.DataFrame([row], schema=polars_schema(t))


def test_submission_id_is_deterministic() -> None:
    files = [SourceFileInfo("b.csv", "2" * 64, 3), SourceFileInfo("a.csv", "1" * 64, 3)]
    a = submission_id_for("site_a", files, "m1")
    assert a == submission_id_for("site_a", list(reversed(files)), "m1")
    assert a != submission_id_for("site_a", files, "m2")
    assert a.startswith("site_a-")


def test_write_commit_and_read_back(project: Project) -> None:
    w = SubmissionWriter(project, "site_a", "site_a-abc")
    w.write_table(project.standard().table("patient"), _patient_frame(project, "site_a-abc"))
    w.write_issues(issues_table([{"site_id": "site_a", "submission_id": "site_a-abc",
                                  "source_file": "records.csv", "source_row": 4,
                                  "reason_code": "date_parse", "reason": "31/02/2020 is not a date",
                                  "action": "cell_nulled"}]))
    assert list_submissions(project) == []  # nothing visible before commit
    w.commit({"received_at": "2023-07-01T00:00:00Z"})
    refs = list_submissions(project, "site_a")
    assert [r.submission_id for r in refs] == ["site_a-abc"]
    files = list((project.data_dir / "patient").rglob("*.parquet"))
    assert [p.parent.name for p in files] == ["submission_id=site_a-abc"]
    con = duckdb.connect()
    attach_submission_views(con, project, refs, include_catalog=False)
    got = con.execute("SELECT patient_id, site_id, submission_id, birth_date FROM patient").fetchall()
    assert got == [("site_a-001", "site_a", "site_a-abc", dt.date(2010, 1, 2))]
    assert con.execute("SELECT count(*) FROM relapse").fetchone() == (0,)
    assert con.execute("SELECT reason_code, source_row FROM ingest_issue").fetchall() == [
        ("date_parse", 4)
    ]


def test_uncommitted_submission_is_invisible_and_cleaned(project: Project) -> None:
    w = SubmissionWriter(project, "site_a", "site_a-zzz")
    w.write_table(project.standard().table("patient"), _patient_frame(project, "site_a-zzz"))
    # simulate a crash after partitions moved but before the manifest was written
    stage_part = next(w.stage.rglob("submission_id=site_a-zzz"))
    dest = project.data_dir / "patient" / "site_id=site_a" / "submission_id=site_a-zzz"
    dest.parent.mkdir(parents=True)
    shutil.move(str(stage_part), dest)
    assert list_submissions(project) == []
    removed = clean_incomplete(project)
    assert dest in removed and not dest.exists()
    assert not any(project.registry_dir.glob(".stage-*"))


def test_wrong_columns_are_refused(project: Project) -> None:
    w = SubmissionWriter(project, "site_a", "site_a-x")
    bad = _patient_frame(project, "site_a-x").drop("sex")
    with pytest.raises(Exception, match="missing \\['sex'\\]"):
        w.write_table(project.standard().table("patient"), bad)
    w.discard()


def test_ledger_must_balance() -> None:
    ledger = Ledger()
    e = ledger.entry("records.csv", "a" * 64)
    e.rows_read, e.rows_mapped, e.rows_quarantined = 10, 7, 2
    e.ignore("instrument not mapped: consent", 1)
    ledger.check()
    e.rows_mapped = 6
    with pytest.raises(LedgerMismatch, match="records.csv"):
        ledger.check()


def test_bad_site_id_is_refused(project: Project) -> None:
    with pytest.raises(Exception, match="invalid site id"):
        SubmissionWriter(project, "../etc", "x")


def _patients(project: Project, sub: str, n: int) -> pl.DataFrame:
    one = _patient_frame(project, sub)
    return pl.concat([one] * n).with_columns(
        pl.format("site_a-{}", pl.int_range(0, n)).alias("patient_id"),
        pl.int_range(1, n + 1, dtype=pl.Int64).alias("source_row"))


def test_large_tables_are_written_in_ordered_parts_and_read_back_whole(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    import cart_registry.canonical.store as store

    monkeypatch.setattr(store, "PART_MIN_ROWS", 3)
    monkeypatch.setattr(store.os, "cpu_count", lambda: 4)
    w = SubmissionWriter(project, "site_a", "site_a-big")
    w.write_table(project.standard().table("patient"), _patients(project, "site_a-big", 10))
    w.commit({"received_at": "2023-07-01T00:00:00Z"})
    part_dir = project.data_dir / "patient" / "site_id=site_a" / "submission_id=site_a-big"
    assert [p.name for p in store.partition_files(part_dir)] == [f"part-{k}.parquet" for k in range(3)]
    con = duckdb.connect()
    attach_submission_views(con, project, list_submissions(project), include_catalog=False)
    rows = con.execute("SELECT source_row FROM patient").fetchall()
    assert [r[0] for r in rows] == list(range(1, 11))  # every row, in source order


def test_files_carry_the_declared_types_and_refuse_nulls_where_none_may_be(
        project: Project) -> None:
    """Text is encoded from string views, yet an Arrow reader gets the declared schema."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from cart_registry.canonical.store import file_schema, partition_files

    patient = project.standard().table("patient")
    w = SubmissionWriter(project, "site_a", "site_a-types")
    w.write_table(patient, _patients(project, "site_a-types", 3))
    part_dir = w.stage / "patient" / "site_id=site_a" / "submission_id=site_a-types"
    (part,) = partition_files(part_dir)
    back = pq.read_table(part)
    declared = file_schema(patient)

    def shape(schema: pa.Schema) -> list[tuple[str, object, bool]]:
        # a Parquet list's item is called "element" when read back; its type is what counts
        return [(f.name, pa.list_(f.type.value_type) if pa.types.is_list(f.type) else f.type,
                 f.nullable) for f in schema]

    assert shape(back.schema) == shape(declared)
    assert any(pa.types.is_list(f.type) for f in declared)  # the list case is covered
    assert back.schema.metadata == declared.metadata
    assert back.column("patient_id").to_pylist() == ["site_a-0", "site_a-1", "site_a-2"]
    # a null where the standard allows none is refused by the write, not stored
    nulls = _patients(project, "site_a-types", 2).with_columns(
        pl.lit(None, dtype=pl.String).alias("sex"))
    with pytest.raises(Exception, match="sex"):
        w.write_table(patient, nulls)
    w.discard()


def test_a_coded_column_is_stored_as_text_with_the_statistics_of_its_values(
        project: Project) -> None:
    """An Enum column goes to Parquet as a dictionary; readers see the declared string,
    and min/max are those of the values present, not of the whole value set."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from cart_registry.canonical.store import partition_files

    patient = project.standard().table("patient")
    sexes = list(patient.column("sex").values or ())
    present = sorted(sexes)[1:-1] or sorted(sexes)[:1]  # neither the first nor the last
    frame = _patients(project, "site_a-enum", len(present)).with_columns(
        pl.Series("sex", present).cast(pl.Enum(sexes)))
    w = SubmissionWriter(project, "site_a", "site_a-enum")
    w.write_table(patient, frame)
    (part,) = partition_files(w.stage / "patient" / "site_id=site_a" / "submission_id=site_a-enum")
    back = pq.read_table(part)
    assert back.schema.field("sex").type == pa.string()
    assert back.column("sex").to_pylist() == present
    column = pq.ParquetFile(part).metadata.row_group(0).column(
        back.schema.get_field_index("sex"))
    assert (column.statistics.min, column.statistics.max) == (min(present), max(present))
    w.discard()


def test_a_background_write_is_replaced_by_a_later_write_of_the_table(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    import cart_registry.canonical.store as store

    monkeypatch.setattr(store, "PART_MIN_ROWS", 3)
    monkeypatch.setattr(store.os, "cpu_count", lambda: 4)
    patient = project.standard().table("patient")
    w = SubmissionWriter(project, "site_a", "site_a-re")
    w.write_table(patient, _patients(project, "site_a-re", 12), background=True)
    w.write_table(patient, _patients(project, "site_a-re", 2), background=True)  # fewer rows
    w.commit({"received_at": "2023-07-01T00:00:00Z"})
    part_dir = project.data_dir / "patient" / "site_id=site_a" / "submission_id=site_a-re"
    assert [p.name for p in store.partition_files(part_dir)] == ["part-0.parquet"]
    assert list_submissions(project)[0].manifest["tables"] == {"patient": 2}


def test_a_failed_background_write_fails_the_commit_and_leaves_nothing(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    import cart_registry.canonical.store as store

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(store, "write_parquet", broken)
    w = SubmissionWriter(project, "site_a", "site_a-bad")
    w.write_table(project.standard().table("patient"), _patients(project, "site_a-bad", 2),
                  background=True)
    with pytest.raises(OSError, match="disk full"):
        w.commit({"received_at": "2023-07-01T00:00:00Z"})
    assert list_submissions(project) == []
    assert not w.stage.exists()
    assert not (project.data_dir / "patient").exists()


def test_cleanup_waits_for_an_ingest_in_progress(project: Project) -> None:
    """An ingest holds the registry lock shared from its scratch folder to its manifest: a
    cleanup started meanwhile (another `run`) waits instead of deleting its staging."""
    import threading

    from cart_registry.canonical.store import registry_lock

    w = SubmissionWriter(project, "site_a", "site_a-live")
    w.write_table(project.standard().table("patient"), _patient_frame(project, "site_a-live"))
    holding, release = threading.Event(), threading.Event()

    def ingest_in_progress() -> None:
        with registry_lock(project, exclusive=False):
            holding.set()
            release.wait(10)

    ingest = threading.Thread(target=ingest_in_progress)
    ingest.start()
    assert holding.wait(10)
    removed: list[list[Path]] = []
    cleanup = threading.Thread(target=lambda: removed.append(clean_incomplete(project)))
    cleanup.start()
    cleanup.join(0.5)
    assert cleanup.is_alive() and w.stage.exists()  # waiting, nothing deleted
    w.commit({"received_at": "2023-07-01T00:00:00Z"})
    release.set()
    ingest.join(10)
    cleanup.join(10)
    assert removed == [[]]  # the committed submission is not debris
    assert [r.submission_id for r in list_submissions(project)] == ["site_a-live"]


def test_concurrent_ingests_share_the_lock(project: Project) -> None:
    from cart_registry.canonical.store import registry_lock

    with registry_lock(project, exclusive=False), registry_lock(project, exclusive=False):
        pass  # a second shared holder does not wait for the first
