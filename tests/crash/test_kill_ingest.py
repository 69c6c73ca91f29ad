"""Ingest and deidentify write atomically: killed at many points, they leave either the
complete result or nothing visible; ``clean_incomplete`` removes the debris and the next run
succeeds."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from cart_registry.canonical.store import clean_incomplete, list_submissions, partition_dir
from tests.crash.support import NEW_AT, OLD_AT, SITE, Driver, any_temp, spread
from tests.deid.support import SAMPLE, make_project

KILL_POINTS = 8


def _files(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _complete(project: object, site: str, sub: str) -> None:
    """A visible submission is whole: every table of its manifest, with its row count."""
    import pyarrow.parquet as pq

    reg = project.registry_dir  # type: ignore[attr-defined]
    manifest = json.loads((reg / "submissions" / site / sub / "manifest.json").read_text())
    for table, n in manifest["tables"].items():
        part = partition_dir(project.data_dir, table, site, sub)  # type: ignore[attr-defined]
        assert pq.ParquetFile(part / "part-0.parquet").metadata.num_rows == n, table
    for name in ("ledger.json", "ledger.csv"):
        assert (reg / "submissions" / site / sub / name).is_file()


@pytest.mark.slow
def test_killed_ingests_leave_nothing_half_written(tmp_path: Path) -> None:
    from cart_registry.ingest import ingest_submission

    project = make_project(tmp_path / "p", policy="none", sites=())
    old = ingest_submission(project, SAMPLE / SITE, SITE, received_at=OLD_AT).submission_id
    old_files = _files(project.registry_dir)
    # the ingest killed is another site's (REDCap: one file, 11 tables, about half a second)
    site, export = "site_redcap", SAMPLE / "site_redcap"
    args = (str(project.root), str(export), site, NEW_AT)

    probe = Driver("ingest", *args)
    probe.start()
    new, duration = probe.finish()

    def forget_new() -> None:  # the test's reset, not a recovery step
        shutil.rmtree(project.registry_dir / "submissions" / site / new, ignore_errors=True)
        for part in project.data_dir.glob(f"*/site_id={site}/submission_id={new}"):
            shutil.rmtree(part)

    outcomes: Counter[str] = Counter()
    for delay in spread(duration, KILL_POINTS, reach=1.4):
        forget_new()
        driver = Driver("ingest", *args)
        driver.kill_after(delay, driver.start())
        visible = [r.submission_id for r in list_submissions(project)]
        assert visible in ([old], [old, new]), visible
        if new in visible:
            _complete(project, site, new)
        outcomes["complete" if new in visible else "absent"] += 1
        # the old submission is untouched whatever happened
        now = _files(project.registry_dir)
        assert {k: v for k, v in now.items() if k in old_files} == old_files
        # debris (staging folders, partitions without a manifest) is removed by the next run
        clean_incomplete(project)
        assert not any_temp(project.registry_dir)
        for part in project.data_dir.glob("*/site_id=*/submission_id=*"):
            sub = part.name.split("=", 1)[1]
            assert sub in visible, part
        res = ingest_submission(project, export, site, received_at=NEW_AT)
        assert res.submission_id == new and res.ok
        _complete(project, site, new)
    print(f"\ningest: {KILL_POINTS} kill points over {duration:.2f} s -> {dict(outcomes)}; "
          "0 partial submissions")
    assert outcomes["absent"] >= 3


@pytest.mark.slow
def test_killed_deidentify_leaves_the_old_output_or_the_new(tmp_path: Path) -> None:
    from cart_registry.deid.api import deidentify_export
    from tests.deid.support import site_key, tiny_site

    project, export = tiny_site(tmp_path)
    out = tmp_path / "outbox" / "site_tiny"
    deidentify_export(project, export, "site_tiny", out, site_key())
    shutil.copytree(out, tmp_path / "first")
    before = _files(out)
    with (export / "followup.csv").open("a") as fh:  # the next run writes something else
        fh.write("P4,2023-04-04,A,\n")
    args = (str(project.root), str(export), "site_tiny", str(out))
    probe = Driver("deid", *args)
    probe.start()
    _, duration = probe.finish()
    after = _files(out)
    assert after != before

    outcomes: Counter[str] = Counter()
    for delay in spread(duration, KILL_POINTS, reach=1.6):
        shutil.rmtree(out)
        shutil.copytree(tmp_path / "first", out)
        driver = Driver("deid", *args)
        driver.kill_after(delay, driver.start())
        if out.exists():
            now = _files(out)
            assert now in (before, after), sorted(now)  # one whole output, never a mix
            outcomes["old" if now == before else "new"] += 1
        else:
            # killed between the two renames of the swap: the old output is whole, aside
            aside = out.parent / f".{out.name}.old"
            assert _files(aside) == before
            outcomes["old, aside"] += 1
        # the next run recovers and leaves no debris
        deidentify_export(project, export, "site_tiny", out, site_key())
        assert _files(out) == after
        assert not [p.name for p in out.parent.iterdir() if p.name.startswith(".")]
    print(f"\ndeidentify: {KILL_POINTS} kill points over {duration:.2f} s -> "
          f"{dict(outcomes)}; 0 mixed outputs")
