"""``validate_submissions``: the library entry point behind ``cart-registry validate``."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from cart_registry.canonical.store import SubmissionRef, list_submissions
from cart_registry.errors import ConfigError, ProjectError
from cart_registry.fsutil import write_text_atomic
from cart_registry.project import Project
from cart_registry.validation.catalog import Catalog, Rule, load_catalog
from cart_registry.validation.report import ValidationReport, suppress

Audience = Literal["site", "coordinating_center"]
AUDIENCES: tuple[str, ...] = ("site", "coordinating_center")


def latest_refs(project: Project, sites: Sequence[str] | None = None) -> list[SubmissionRef]:
    """The latest complete submission of every site (or of the given sites)."""
    latest: dict[str, SubmissionRef] = {}
    for ref in list_submissions(project):
        latest[ref.site_id] = ref  # list_submissions is oldest first
    if sites:
        missing = sorted(set(sites) - set(latest))
        if missing:
            raise ProjectError(
                f"no complete submission for site(s) {missing}",
                hint="run `cart-registry ingest` for them first",
            )
        return [latest[s] for s in sorted(set(sites))]
    return [latest[s] for s in sorted(latest)]


def _earlier(project: Project, refs: list[SubmissionRef]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in refs:
        ids = [s.submission_id for s in list_submissions(project, r.site_id)]
        out[r.site_id] = ids[: ids.index(r.submission_id)] if r.submission_id in ids else ids
    return out


def rules_for(catalog: Catalog, audience: str) -> list[Rule]:
    return [r for r in catalog if r.audience == "all" or audience == "coordinating_center"]


def _input_files(ref: SubmissionRef) -> list[dict[str, Any]]:
    m = ref.manifest
    out = ref.source_files()
    if not out:  # fall back to the ledger, which names every file read
        from cart_registry.validation.workspace import _ledger_entries

        out = [{"path": str(e["source_file"]), "sha256": e.get("sha256")}
               for e in _ledger_entries(m)]
    return sorted(out, key=lambda f: f["path"])


def _metadata(
    project: Project, refs: list[SubmissionRef], catalog: Catalog, audience: str,
    as_of: dt.date, run_id: str, started: dt.datetime, finished: dt.datetime, settings: Any,
) -> dict[str, Any]:
    import duckdb
    import pyarrow

    from cart_registry import __version__
    from cart_registry.validation.workspace import source_format

    return {
        "run_id": run_id,
        "tool": "cart_registry",
        "tool_version": __version__,
        "ruleset_version": catalog.ruleset_version,
        "audience": audience,
        "as_of_date": as_of.isoformat(),
        "started_at": started.isoformat(),
        "finished_at": finished.isoformat(),
        "duration_seconds": round((finished - started).total_seconds(), 3),
        "python": platform.python_version(),
        "packages": {"duckdb": duckdb.__version__, "pyarrow": pyarrow.__version__},
        "settings": {
            "data_cutoff_date": settings.study.data_cutoff_date.isoformat(),
            "response_window_days": settings.study.response_window_days,
            "relapse_phenotype_window_days": settings.study.relapse_phenotype_window_days,
            "small_cell_max": settings.small_cell_max,
        },
        "inputs": [
            {
                "site_id": r.site_id,
                "submission_id": r.submission_id,
                "received_at": r.manifest.get("received_at"),
                "source_format": source_format(r.manifest),
                "files": _input_files(r),
            }
            for r in refs
        ],
    }


def _run_id(started: dt.datetime, refs: list[SubmissionRef], ruleset: str, audience: str) -> str:
    h = hashlib.sha256(f"{ruleset}|{audience}".encode())
    for r in refs:
        h.update(f"|{r.site_id}/{r.submission_id}".encode())
    return f"dq-{started.strftime('%Y%m%dT%H%M%S%fZ')}-{h.hexdigest()[:8]}"


def check_refs(refs: list[SubmissionRef]) -> None:
    seen: set[str] = set()
    for r in refs:
        if r.site_id in seen:
            raise ConfigError(
                f"two submissions of site {r.site_id!r} in one run",
                hint="validate one submission per site at a time; earlier ones are compared "
                "through the history",
            )
        seen.add(r.site_id)


def sql_listing(project: Project, *, audience: str = "site", as_of: dt.date | None = None) -> str:
    """Every statement a run would execute, without running anything (``--sql-only``)."""
    from cart_registry.settings import load_settings
    from cart_registry.validation.issues import display_sql, resolve_sql
    from cart_registry.validation.runner import rule_select_sql
    from cart_registry.validation.workspace import workspace_sql_listing

    settings = load_settings(project.settings_file)
    catalog = load_catalog(project.standard())
    out = [
        f"-- cart_registry validation, rule set {catalog.ruleset_version}, audience {audience}",
        workspace_sql_listing(project, settings, as_of or dt.date.today()),
    ]
    for rule in rules_for(catalog, audience):
        out.append(f"-- rule {rule.id} v{rule.version} ({rule.severity})\n"
                   f"INSERT INTO dq_violation {rule_select_sql(rule)};")
    out.append(resolve_sql().strip() + ";")
    out.append(display_sql(audience, "<pseudonym key>").strip() + ";")  # type: ignore[arg-type]
    return "\n\n".join(out) + "\n"


def validate_submissions(
    project: Project,
    refs: Sequence[SubmissionRef] | None = None,
    *,
    audience: Audience = "site",
    as_of: dt.date | None = None,
    out_dir: Path | None = None,
    sites: Sequence[str] | None = None,
    write_history: bool = True,
) -> ValidationReport:
    """Validate submissions (default: the latest complete one per site) and report.

    Writes ``validation.json`` beside each submission's manifest, appends the run to the
    ``dq`` history, and, with ``out_dir``, writes report.json, report.html, one
    queries_<site>.csv per site and ledger.csv there.
    """
    from cart_registry.settings import load_settings
    from cart_registry.validation import history, summaries
    from cart_registry.validation.issues import display_sql, pseudonym_salt, resolve_sql
    from cart_registry.validation.runner import compute_results, run_rules
    from cart_registry.validation.workspace import open_workspace

    if audience not in AUDIENCES:
        raise ConfigError(f"unknown audience {audience!r}; use one of {list(AUDIENCES)}")
    started = dt.datetime.now(dt.UTC)
    settings = load_settings(project.settings_file)
    standard = project.standard()
    catalog = load_catalog(standard)
    ref_list = list(refs) if refs is not None else latest_refs(project, sites)
    if sites and refs is not None:
        ref_list = [r for r in ref_list if r.site_id in set(sites)]
    if not ref_list:
        raise ProjectError("no complete submission to validate",
                           hint="run `cart-registry ingest` first")
    check_refs(ref_list)
    as_of = as_of or dt.date.today()
    rules = rules_for(catalog, audience)
    run_id = _run_id(started, ref_list, catalog.ruleset_version, audience)
    salt = pseudonym_salt(project.registry_dir)
    site_subs = [(r.site_id, r.submission_id) for r in ref_list]

    state = history.load_history(project.db_path, ref_list, _earlier(project, ref_list), as_of)
    con = open_workspace(project, ref_list, settings, as_of)
    try:
        con.register("__prev", state.prev_issues)
        con.execute("CREATE TEMP TABLE dq_prev_issue AS SELECT * FROM __prev")
        con.register("__waiv", state.waivers)
        con.execute("CREATE TEMP TABLE dq_waiver_active AS SELECT * FROM __waiv")
        runs = run_rules(con, rules)
        con.execute(resolve_sql())
        con.execute(display_sql(audience, salt))
        results = compute_results(con, rules, runs, site_subs)
        issues = summaries.issue_records(con)
        resolved = summaries.resolved_records(con, audience, salt, [r.id for r in rules])
        rates = summaries.critical_rates(con, standard)
        cards = summaries.site_scorecards(con, results, site_subs, state.previous, resolved, rates)
        top = summaries.top_issues(con)
        ledger = summaries.ledger_rows(con)
        queries = summaries.query_rows(con)
        history_issues = con.sql("SELECT * EXCLUDE (endpoints) FROM dq_issue").to_arrow_table()
    finally:
        con.close()

    k = settings.small_cell_max
    if audience == "coordinating_center":
        cards = summaries.suppress_scorecards(cards, k)
        rates = summaries.suppress_rates(rates, k)
        top = [dict(t, issues=suppress(t["issues"], k)) for t in top]
    finished = dt.datetime.now(dt.UTC)
    rule_map = {r.id: r for r in rules}
    report = ValidationReport(
        run_id=run_id,
        audience=audience,
        as_of=as_of,
        metadata=_metadata(project, ref_list, catalog, audience, as_of, run_id, started,
                           finished, settings),
        results=tuple(results),
        sites=tuple(cards),
        issues=tuple(issues),
        resolved=tuple(resolved),
        kahn_matrix=tuple(summaries.kahn_matrix(results, rule_map)),
        critical_field_rates=tuple(rates),
        top_issues=tuple(top),
        ledger=tuple(ledger),
        rules=tuple(r.summary() for r in rules),
        small_cell_max=k,
        out_dir=out_dir,
    )
    _write_submission_status(project, report, ref_list)
    if write_history:
        import pyarrow as pa

        history.save_run(
            project.db_path,
            {"run_id": run_id, "started_at": started.replace(tzinfo=None),
             "finished_at": finished.replace(tzinfo=None), "as_of_date": as_of,
             "audience": audience, "tool_version": report.metadata["tool_version"],
             "ruleset_version": catalog.ruleset_version, "exit_code": report.exit_code},
            _history_submissions(report, run_id, finished, state.previous, results, resolved),
            pa.Table.from_pylist([r.to_dict() for r in results]),
            history_issues,
        )
    if out_dir is not None:
        from cart_registry.validation.outputs import write_outputs

        write_outputs(report, out_dir, queries)
    return report


def _history_submissions(
    report: ValidationReport, run_id: str, finished: dt.datetime,
    previous: dict[str, str | None], results: list[Any], resolved: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    out = []
    by_site: dict[str, dict[str, int]] = {}
    for i in report.issues:
        d = by_site.setdefault(i["site_id"], {"new": 0, "persisting": 0, "waived": 0, "n": 0})
        d[i["status_vs_previous"]] += 1
        d["n"] += 1
    for card in report.sites:
        site = card["site_id"]
        failed = report.counts_failed(site)
        d = by_site.get(site, {"new": 0, "persisting": 0, "waived": 0, "n": 0})
        out.append({
            "run_id": run_id, "site_id": site, "submission_id": card["submission_id"],
            "previous_submission_id": previous.get(site),
            "status": "failed" if failed["fatal"] or failed["error"] else "passed",
            "failed_fatal": failed["fatal"], "failed_error": failed["error"],
            "failed_warning": failed["warning"], "failed_info": failed["info"],
            "n_issues": d["n"], "n_new": d["new"], "n_persisting": d["persisting"],
            "n_resolved": sum(1 for r in resolved if r["site_id"] == site),
            "n_waived": d["waived"], "validated_at": finished.replace(tzinfo=None),
        })
    return out


def _write_submission_status(
    project: Project, report: ValidationReport, refs: list[SubmissionRef]
) -> None:
    """``validation.json`` beside each manifest: the warehouse refuses fatal submissions."""
    for r in refs:
        failed = report.counts_failed(r.site_id)
        body = {
            "counts_failed": failed,
            "status": "failed" if failed["fatal"] or failed["error"] else "passed",
            "ruleset_version": report.metadata["ruleset_version"],
            "run_id": report.run_id,
            "as_of_date": report.as_of.isoformat(),
            "audience": report.audience,
        }
        path = project.registry_dir / "submissions" / r.site_id / r.submission_id / "validation.json"
        write_text_atomic(path, json.dumps(body, indent=2, sort_keys=True) + "\n")
