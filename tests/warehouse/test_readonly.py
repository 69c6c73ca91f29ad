"""Readers see today's settings: stored views are reused only when they match them."""

from __future__ import annotations

from pathlib import Path

import yaml

from cart_registry.warehouse.endpoints import endpoint_table
from cart_registry.warehouse.loading import load_submission
from cart_registry.warehouse.query import run_sql
from cart_registry.warehouse.views import settings_hash
from tests.warehouse.conftest import constructs
from tests.warehouse.support import new_project, write_submission
from tests.warehouse.test_settings_change import COHORT


def test_a_settings_change_reaches_readers_without_a_reload(tmp_path: Path) -> None:
    project = new_project(tmp_path)
    tables = {k: list(v) for k, v in COHORT.items()}
    tables["car_construct"] = constructs()
    write_submission(project, "s1", "s1-001", tables)
    load_submission(project, "s1")
    q = "SELECT DISTINCT STARTORG FROM adam.adtte WHERE PARAMCD = 'RFSB'"
    assert run_sql(project, q).rows == (("cr_date",),)
    raw = yaml.safe_load(project.settings_file.read_text())
    raw["study"]["rfs_origin"] = "infusion_date"
    project.settings_file.write_text(yaml.safe_dump(raw))
    assert run_sql(project, q).rows == (("infusion_date",),)
    et = endpoint_table(project)
    assert et.settings["rfs_origin"] == "infusion_date"
    from cart_registry.settings import load_settings

    assert et.settings_hash == settings_hash(load_settings(project.settings_file).study)
    assert run_sql(project, "SELECT settings_hash FROM study.settings").rows == (
        (et.settings_hash,),)
