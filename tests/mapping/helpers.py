"""Shared helpers for the mapping and ingest tests: throw-away projects and tiny sites."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path
from typing import Any

import polars as pl

from cart_registry.mapping.context import SiteSettings, SourceContext
from cart_registry.mapping.ops import Defaults
from cart_registry.project import Project
from tests.conftest import copy_site_mapping

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_exports"


def make_project(root: Path, sites: tuple[str, ...] = ("site_redcap", "site_edc")) -> Project:
    """A project folder using the repository's standard, catalog and the given site mappings."""
    (root / "mappings").mkdir(parents=True, exist_ok=True)
    for name in ("registry.yaml", "constructs.yaml"):
        src = REPO / "mappings" / name
        if src.is_file():
            shutil.copy(src, root / "mappings" / name)
    for site in sites:
        copy_site_mapping(site, root / "mappings")
    return Project.find(root)


def write(path: Path, text: str, encoding: str = "utf-8", newline: str = "\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = textwrap.dedent(text).lstrip("\n")
    if newline != "\n":
        body = body.replace("\n", newline)
    path.write_bytes(body.encode(encoding))
    return path


#: a tiny CSV site used by the bad-input tests: patients + infusions
TINY_SITE = """\
mapping_version: "t1"
site:
  site_id: site_tiny
  export_format: csv_other
  date_shift_policy: none
  data_cutoff_date: 2023-06-30
reader:
  kind: csv
  delimiter: ","
  missing_codes: [UNK]
  sources:
    patients: {files: [patients.csv]}
defaults:
  date_formats: ["%d/%m/%Y", "%Y-%m-%d"]
"""
TINY_PATIENT = """\
table: patient
rules:
  - id: patients
    source: patients
    columns:
      patient_id: {op: patient_id, from: pid}
      sex: {op: map_values, from: sex, values: {F: female, M: male}}
      birth_date: dob
      registry_status: {op: constant, value: included}
      prior_hsct_count: n_hsct
"""
TINY_DATA = """\
pid,sex,dob,n_hsct
P1,F,01/02/2010,0
P2,M,2011-03-04,1
"""


def tiny_project(root: Path, data: str | bytes | None = TINY_DATA, patient_yaml: str = TINY_PATIENT,
                 site_yaml: str = TINY_SITE) -> tuple[Project, Path]:
    """(project, export folder) of the tiny site."""
    project = make_project(root / "proj", sites=())
    site_dir = project.mappings_dir / "site_tiny"
    write(site_dir / "site.yaml", site_yaml)
    write(site_dir / "patient.yaml", patient_yaml)
    export = root / "export"
    export.mkdir(parents=True, exist_ok=True)
    if data is not None:
        target = export / "patients.csv"
        if isinstance(data, bytes):
            target.write_bytes(data)
        else:
            write(target, data)
    return project, export


def context(frame: pl.DataFrame, *, missing: tuple[str, ...] = (), decimal: str = ".",
            catalog: dict[str, str] | None = None, **defaults: Any) -> SourceContext:
    settings = SiteSettings(
        site_id="site_t", defaults=Defaults(**defaults) if defaults else Defaults(),
        missing_codes=frozenset(missing), decimal=decimal, catalog=catalog or {},
    )
    return SourceContext(settings, frame.columns, "test")


def run_rule(frame: pl.DataFrame, rule: Any, **kw: Any) -> tuple[list[Any], list[bool]]:
    """Evaluate one column rule (dict or field name) over ``frame``: (values, failed flags)."""
    from pydantic import TypeAdapter

    from cart_registry.mapping.apply import build_rule
    from cart_registry.mapping.ops import ColumnSpec

    spec = TypeAdapter(ColumnSpec).validate_python(rule)
    ctx = context(frame, **kw)
    v = build_rule(ctx, spec)
    flags = [f.flag.fill_null(False) for f in v.failures]
    out = frame.with_row_index("__r").select(
        pl.col("__r"),  # keeps literals (constant) one per row, as in the engine
        v.expr.alias("value"),
        (pl.any_horizontal(flags) if flags else pl.lit(False)).alias("failed"),
    )
    return out.get_column("value").to_list(), out.get_column("failed").to_list()


def props(n: int = 60) -> Any:
    """Hypothesis settings of these folders: deterministic and small (the suite must be fast)."""
    from hypothesis import HealthCheck, settings

    return settings(max_examples=n, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])


def sample_site(site: str, *, defects: bool = False) -> Path:
    """The generator's sample export of a site (skips the test when it is not there)."""
    import pytest

    folder = SAMPLE / "with_defects" / site if defects else SAMPLE / site
    if not folder.is_dir():
        pytest.skip(f"{folder} not present (sample exports are written by `cart-registry synth`)")
    return folder
