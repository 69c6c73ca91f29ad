"""``run``: ingest, validate, load, export and report for every site of a project in one go.

Each stage is the library function its own command calls; this module only sequences them,
collects their results and decides the exit code. A site whose export folder is absent is
skipped and said so; a site refused at load (fatal findings, not validated) does not stop
the others, and the run exits 1 so that nobody mistakes it for a clean run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cart_registry.errors import ExitCode, ProjectError
from cart_registry.project import Project

#: called with a short description before each step (the CLI shows it as progress)
Progress = Callable[[str], None]


@dataclass(frozen=True)
class RunResult:
    sites: tuple[str, ...]
    skipped: tuple[str, ...]
    ingest: tuple[dict[str, Any], ...]
    validation: dict[str, Any]
    loads: tuple[dict[str, Any], ...]
    refused: tuple[str, ...]
    exports: dict[str, Any] | None
    report: dict[str, Any] | None
    files: dict[str, str] = field(default_factory=dict)
    validation_exit_code: int = 0

    @property
    def exit_code(self) -> int:
        if self.refused or self.validation_exit_code == int(ExitCode.DATA_FAILED):
            return int(ExitCode.DATA_FAILED)
        return int(ExitCode.OK)

    def to_json(self) -> dict[str, Any]:
        return {
            "sites": list(self.sites),
            "skipped": list(self.skipped),
            "ingest": list(self.ingest),
            "validation": self.validation,
            "loads": list(self.loads),
            "refused": list(self.refused),
            "exports": self.exports,
            "report": self.report,
            "files": self.files,
            "exit_code": self.exit_code,
        }


def _noop(_: str) -> None:
    return None


def run_pipeline(
    project: Project,
    exports_root: str | Path,
    *,
    sites: list[str] | None = None,
    received_at: dt.datetime | str | None = None,
    as_of: dt.date | None = None,
    progress: Progress = _noop,
) -> RunResult:
    """Run every stage for the sites of ``project`` whose export folder is under ``exports_root``.

    A site's export folder is ``exports_root/<site_id>``.
    """
    from cart_registry.canonical.store import clean_incomplete, get_submission
    from cart_registry.exports.adam import export_adam
    from cart_registry.ingest.run import ingest_submission
    from cart_registry.report.api import write_endpoint_report
    from cart_registry.validation.api import validate_submissions
    from cart_registry.warehouse.loading import load_sites

    root = Path(exports_root).expanduser().resolve()
    if not root.is_dir():
        raise ProjectError(f"exports folder not found: {root}")
    wanted = sites or project.site_ids()
    if not wanted:
        raise ProjectError(
            f"no site mappings in {project.mappings_dir}",
            hint="add mappings/<site>/site.yaml, e.g. with `cart-registry mapping init`",
        )
    present = [s for s in wanted if (root / s).is_dir()]
    skipped = tuple(s for s in wanted if s not in present)
    if not present:
        raise ProjectError(f"none of the sites {wanted} has a folder under {root}")

    clean_incomplete(project)  # debris of an interrupted earlier run, if any
    ingests = []
    refs = []
    for site in present:
        progress(f"ingest {site}")
        res = ingest_submission(project, root / site, site, received_at=received_at)
        ingests.append(res.to_json())
        refs.append(get_submission(project, site, res.submission_id))

    reports = project.reports_dir
    progress("validate (site reports)")
    site_report = validate_submissions(
        project, refs, audience="site", as_of=as_of, out_dir=reports / "validation"
    )
    progress("validate (coordinating-centre report)")
    validate_submissions(
        project, refs, audience="coordinating_center", as_of=as_of,
        out_dir=reports / "validation-coordinating-center", write_history=False,
    )

    progress("load into the registry")
    loads, refused = load_sites(project, present)

    exports = report = None
    if loads:
        progress("export ADaM datasets")
        exports = export_adam(project, project.exports_dir / "adam").to_json()
        progress("endpoint report")
        report = write_endpoint_report(project, reports / "endpoints", as_of=as_of).to_json()

    return RunResult(
        sites=tuple(present),
        skipped=skipped,
        ingest=tuple(ingests),
        validation={
            "run_id": site_report.run_id,
            "exit_code": site_report.exit_code,
            "counts_failed": site_report.counts_failed(),
        },
        loads=tuple(r.to_json() for r in loads),
        refused=tuple(str(e) for e in refused),
        exports=exports,
        report=report,
        files={
            "registry": str(project.db_path),
            "validation_report": str(reports / "validation" / "report.html"),
            "coordinating_center_report": str(
                reports / "validation-coordinating-center" / "report.html"
            ),
            "endpoint_report": str(reports / "endpoints" / "endpoints.html"),
            "adam": str(project.exports_dir / "adam"),
        },
        validation_exit_code=site_report.exit_code,
    )
