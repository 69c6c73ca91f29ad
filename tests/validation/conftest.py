"""Shared validation fixtures: a clean two-site registry and a site with every known defect."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cart_registry.canonical.store import SubmissionRef
from cart_registry.project import Project
from cart_registry.validation.api import validate_submissions
from cart_registry.validation.report import ValidationReport
from tests.validation.defects import Defect, defect_site
from tests.validation.factory import Rows, clean_site, make_project, write_submission

AS_OF = dt.date(2023, 7, 15)


@dataclass
class Registry:
    project: Project
    root: Path
    refs: list[SubmissionRef]
    report: ValidationReport
    rows: dict[str, Rows]


@pytest.fixture(scope="module")
def clean_registry(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> Registry:
    root = tmp_path_factory.mktemp("clean")
    project = make_project(root, repo_root)
    rows = {s: clean_site(s) for s in ("site_a", "site_b")}
    refs = [write_submission(project, s, r, root / "exports" / s) for s, r in rows.items()]
    report = validate_submissions(project, as_of=AS_OF, out_dir=root / "out")
    return Registry(project, root, refs, report, rows)


@dataclass
class DefectRegistry(Registry):
    placed: list[tuple[Defect, str]]


@pytest.fixture(scope="module")
def defect_registry(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> DefectRegistry:
    root = tmp_path_factory.mktemp("defects")
    project = make_project(root, repo_root)
    rows, placed = defect_site("site_d")
    issues = [
        {"source_file": "enrolment.csv", "source_row": 3, "source_key":
         "record=P003|event=baseline_arm_1|instrument=enrolment", "source_field": "enro_birth_date",
         "target_table": "patient", "target_column": "birth_date", "value": "2009-02-30",
         "reason_code": "date_parse", "reason": "'2009-02-30' is not a date", "action": "cell_nulled",
         "mapping_rule": "site_d.patient"},
        {"source_file": "cart_infusion.csv", "source_row": 5, "source_key": None,
         "source_field": "cart_construct_id", "target_table": "cart_infusion",
         "target_column": "construct_id", "value": "=cmd|' /C calc'!A0",
         "reason_code": "not_in_code_list", "reason": "not a product code",
         "action": "row_quarantined", "mapping_rule": "site_d.cart_infusion",
         "raw_row": "{\"secret\": \"raw row\"}"},
    ]
    ref = write_submission(project, "site_d", rows, root / "exports" / "site_d",
                           ingest_issues=issues)
    report = validate_submissions(project, as_of=AS_OF, out_dir=root / "out")
    return DefectRegistry(project, root, [ref], report, {"site_d": rows}, placed)


@pytest.fixture()
def fresh_project(tmp_path: Path, repo_root: Path) -> Iterator[Project]:
    yield make_project(tmp_path, repo_root)
