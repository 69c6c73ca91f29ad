"""Loading: one transaction per submission, history, audit log, idempotence, gates, locks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import duckdb
import pytest

from cart_registry.errors import ConfigError, DataValidationFailed, ProjectError
from cart_registry.project import Project
from cart_registry.warehouse.loading import NotValidated, load_sites, load_submission
from tests.warehouse.support import REPO_ROOT, d, new_project, write_submission


def _patients(site: str, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    return {
        "patient": [{"patient_id": f"{site}-{i}", "sex": "male", "registry_status": "included",
                     "birth_date": d("2010-01-01")} for i in ids],
        "cart_infusion": [{"infusion_id": f"{site}-{i}-1", "patient_id": f"{site}-{i}",
                           "construct_id": "tisa-cel", "infusion_date": d("2020-01-01"),
                           "infusion_intent": "initial"} for i in ids],
    }


def _q(project: Project, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(project.db_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture()
def project(tmp_path: Path) -> Project:
    p = new_project(tmp_path)
    write_submission(p, "site_a", "site_a-001", _patients("site_a", ["1", "2"]),
                     received_at="2023-07-01T00:00:00Z")
    return p


def test_loading_twice_changes_nothing(project: Project) -> None:
    first = load_submission(project, "site_a")
    assert (first.status, first.action, first.rows["patient"]) == ("loaded", "load", 2)
    again = load_submission(project, "site_a")
    assert again.status == "already_current" and not again.changed and again.audit_id is None
    assert _q(project, "SELECT count(*) FROM admin.audit_log") == [(1,)]
    assert _q(project, "SELECT count(*) FROM admin.submission") == [(1,)]
    assert _q(project, "SELECT site_id, submission_id FROM admin.current_submission") == [
        ("site_a", "site_a-001")]
    assert _q(project, "SELECT count(*) FROM store.patient") == [(2,)]


def test_a_newer_submission_replaces_the_current_one(project: Project) -> None:
    load_submission(project, "site_a")
    write_submission(project, "site_a", "site_a-002", _patients("site_a", ["1", "2", "3"]),
                     received_at="2023-08-01T00:00:00Z")
    write_submission(project, "site_b", "site_b-001", _patients("site_b", ["9"]))
    res, refused = load_sites(project)
    assert refused == []
    assert {(r.site_id, r.status, r.previous_submission_id) for r in res} == {
        ("site_a", "replaced", "site_a-001"), ("site_b", "loaded", None)}
    # exactly one current submission per site; canonical shows only current rows
    assert _q(project, "SELECT site_id, submission_id FROM admin.current_submission "
                       "ORDER BY 1") == [("site_a", "site_a-002"), ("site_b", "site_b-001")]
    assert _q(project, "SELECT count(*) FROM canonical.patient") == [(4,)]
    # the old submission stays in the history and in the store
    assert _q(project, "SELECT submission_id FROM admin.submission ORDER BY 1") == [
        ("site_a-001",), ("site_a-002",), ("site_b-001",)]
    assert _q(project, "SELECT count(*) FROM store.patient") == [(6,)]
    audit = _q(project, "SELECT audit_id, action, site_id, submission_id, "
                        "previous_submission_id, os_user, input_hashes_json "
                        "FROM admin.audit_log ORDER BY audit_id")
    assert [a[1:5] for a in audit] == [
        ("load", "site_a", "site_a-001", None),
        ("replace", "site_a", "site_a-002", "site_a-001"),
        ("load", "site_b", "site_b-001", None),
    ]
    assert all(a[5] for a in audit)
    hashes = json.loads(audit[1][6])
    assert set(hashes["parquet"]) == {"patient", "cart_infusion"}
    assert hashes["source_files"][0]["path"] == "export.csv"
    # going back to the old submission: no new store rows, a new audit row
    back = load_submission(project, "site_a", "site_a-001")
    assert (back.status, back.action, back.previous_submission_id) == (
        "reactivated", "replace", "site_a-002")
    assert _q(project, "SELECT count(*) FROM store.patient") == [(6,)]
    assert _q(project, "SELECT count(*) FROM canonical.patient") == [(3,)]
    # the audit log only grows: earlier rows are unchanged
    assert _q(project, "SELECT audit_id, action, site_id, submission_id, "
                       "previous_submission_id, os_user, input_hashes_json "
                       "FROM admin.audit_log ORDER BY audit_id")[:3] == audit


def test_validation_gates(project: Project) -> None:
    write_submission(project, "site_b", "site_b-001", _patients("site_b", ["1"]),
                     validation="fatal")
    write_submission(project, "site_c", "site_c-001", _patients("site_c", ["1"]),
                     validation=None)
    with pytest.raises(DataValidationFailed, match="2 fatal finding"):
        load_submission(project, "site_b")
    with pytest.raises(NotValidated, match="not validated"):
        load_submission(project, "site_c")
    with pytest.raises(ConfigError, match="--force needs --reason"):
        load_submission(project, "site_b", force=True)
    # refusals happen inside the (rolled-back) transaction: nothing was written
    assert _q(project, "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'admin'") == [
        (0,)]
    forced = load_submission(project, "site_b", force=True, reason="waived by the PI")
    assert (forced.forced, forced.action, forced.validation_status) == (
        True, "force-load", "failed")
    row = _q(project, "SELECT forced, reason, validation_status FROM admin.submission "
                      "WHERE submission_id = 'site_b-001'")
    assert row == [(True, "waived by the PI", "failed")]
    assert _q(project, "SELECT action, reason FROM admin.audit_log") == [
        ("force-load", "waived by the PI")]
    # force on a clean submission is not an override
    ok = load_submission(project, "site_a", force=True, reason="routine")
    assert (ok.forced, ok.action) == (False, "load")
    results, refused = load_sites(project)
    assert [type(e) for e in refused] == [NotValidated]


def test_a_failed_check_rolls_the_whole_load_back(project: Project) -> None:
    load_submission(project, "site_a")
    write_submission(project, "site_a", "site_a-002", _patients("site_a", ["1", "2", "3"]),
                     received_at="2023-08-01T00:00:00Z")
    manifest = project.registry_dir / "submissions" / "site_a" / "site_a-002" / "manifest.json"
    body = json.loads(manifest.read_text())
    body["tables"]["cart_infusion"] = 99
    manifest.write_text(json.dumps(body))
    with pytest.raises(ProjectError, match="manifest says 99"):
        load_submission(project, "site_a")
    assert _q(project, "SELECT submission_id FROM admin.current_submission") == [("site_a-001",)]
    assert _q(project, "SELECT count(*) FROM store.patient") == [(2,)]
    assert _q(project, "SELECT count(*) FROM admin.audit_log") == [(1,)]


def _python(code: str, project: Project) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), str(project.root)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_second_writer_waits_then_names_the_lock(project: Project) -> None:
    load_submission(project, "site_a")
    holder = _python("""
        import sys, time, duckdb
        from cart_registry.project import Project
        con = duckdb.connect(str(Project.find(sys.argv[1]).db_path))
        print("locked", flush=True)
        time.sleep(30)
    """, project)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        write_submission(project, "site_a", "site_a-002", _patients("site_a", ["3"]),
                         received_at="2023-08-01T00:00:00Z")
        with pytest.raises(ProjectError) as info:
            load_submission(project, "site_a", lock_timeout=0.5)
        msg = str(info.value)
        assert f"locked by process {holder.pid}" in msg and str(project.db_path) in msg
        assert "\n" not in msg
    finally:
        holder.kill()
        holder.wait()
    # once the holder is gone the load goes through
    assert load_submission(project, "site_a", lock_timeout=5).status == "replaced"


def test_a_crash_mid_load_leaves_the_old_submission(project: Project) -> None:
    load_submission(project, "site_a")
    write_submission(project, "site_a", "site_a-002", _patients("site_a", ["1", "2", "3"]),
                     received_at="2023-08-01T00:00:00Z")
    crash = _python("""
        import os, sys
        import cart_registry.warehouse.loading as loading
        from cart_registry.project import Project

        def die(*args, **kwargs):
            os._exit(3)  # the process dies inside the transaction, after the inserts

        loading._refresh_views = die
        loading.load_submission(Project.find(sys.argv[1]), "site_a")
    """, project)
    _, err = crash.communicate(timeout=120)
    assert crash.returncode == 3, err
    assert _q(project, "SELECT submission_id FROM admin.current_submission") == [("site_a-001",)]
    assert _q(project, "SELECT count(*) FROM store.patient") == [(2,)]
    assert _q(project, "SELECT count(*) FROM admin.submission") == [(1,)]
    assert _q(project, "SELECT count(*) FROM admin.audit_log") == [(1,)]
    assert load_submission(project, "site_a").status == "replaced"
    assert _q(project, "SELECT count(*) FROM canonical.patient") == [(3,)]


def test_a_submission_breaking_the_standard_is_not_loaded(tmp_path: Path) -> None:
    project = new_project(tmp_path)
    tables = _patients("site_a", ["1"])
    tables["patient"] = tables["patient"] * 2  # a key twice within one submission
    write_submission(project, "site_a", "site_a-dup", tables)
    with pytest.raises(ProjectError, match="table patient breaks the standard's constraints"):
        load_submission(project, "site_a")
    assert _q(project, "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'admin'") == [
        (0,)]
