"""``ValidationReport``: the result object of a validation run, and its JSON form.

Frozen; ``exit_code`` is derived from it (0 passed; 1 a fatal or error rule failed; 2 a rule
could not be evaluated and nothing failed), ``to_json()`` renders it against the versioned
JSON Schema ``report.schema.json`` shipped beside this module.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from cart_registry.errors import ExitCode
from cart_registry.validation.runner import RuleResult

#: version of the report.json layout (semver: a new optional field is a minor bump)
REPORT_SCHEMA_VERSION = "1.0.0"
SEVERITY_ORDER = ("fatal", "error", "warning", "info")
SUPPRESSED = "1-10"


def report_json_schema() -> dict[str, Any]:
    text = resources.files("cart_registry.validation").joinpath("report.schema.json").read_text(
        encoding="utf-8"
    )
    schema: dict[str, Any] = json.loads(text)
    return schema


def suppress(n: int | None, small_cell_max: int) -> int | str | None:
    """Counts 1..small_cell_max become '1-10' (CMS cell-size rule) in cross-site tables."""
    if n is None:
        return None
    return SUPPRESSED if 1 <= n <= small_cell_max else n


@dataclass(frozen=True)
class ValidationReport:
    run_id: str
    audience: str
    as_of: dt.date
    metadata: dict[str, Any]
    results: tuple[RuleResult, ...]
    sites: tuple[dict[str, Any], ...]
    issues: tuple[dict[str, Any], ...]
    resolved: tuple[dict[str, Any], ...]
    kahn_matrix: tuple[dict[str, Any], ...]
    critical_field_rates: tuple[dict[str, Any], ...]
    top_issues: tuple[dict[str, Any], ...]
    ledger: tuple[dict[str, Any], ...]
    rules: tuple[dict[str, Any], ...]
    small_cell_max: int = 10
    out_dir: Path | None = None
    files: tuple[str, ...] = field(default=())

    # ------------------------------------------------------------------ verdict
    @property
    def failed_results(self) -> list[RuleResult]:
        return [r for r in self.results if r.status == "fail"]

    @property
    def blocking_failures(self) -> list[RuleResult]:
        return [r for r in self.failed_results if r.severity in ("fatal", "error")]

    @property
    def errored(self) -> list[RuleResult]:
        return [r for r in self.results if r.status == "error"]

    @property
    def passed(self) -> bool:
        return not self.blocking_failures

    @property
    def exit_code(self) -> int:
        if self.blocking_failures:
            return int(ExitCode.DATA_FAILED)
        if self.errored:
            # a rule that could not run cannot vouch for the data: not a pass, not a data fault
            return int(ExitCode.USAGE_OR_INTERNAL)
        return int(ExitCode.OK)

    def counts_failed(self, site_id: str | None = None) -> dict[str, int]:
        out = dict.fromkeys(SEVERITY_ORDER, 0)
        for r in self.failed_results:
            if site_id is None or r.site_id == site_id:
                out[r.severity] += 1
        return out

    # ------------------------------------------------------------------ rendering
    def _results_for_json(self) -> list[dict[str, Any]]:
        cc = self.audience == "coordinating_center"
        out = []
        for r in self.results:
            d = r.to_dict()
            if cc:
                # cross-site table: small counts are suppressed, and so is the percentage
                # (it would give the count back)
                for k in ("num_violated", "num_waived", "num_denominator"):
                    d[k] = suppress(d[k], self.small_cell_max)
                if d["num_violated"] == SUPPRESSED or d["num_denominator"] == SUPPRESSED:
                    d["pct_violated"] = None
            out.append(d)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": REPORT_SCHEMA_VERSION,
            "metadata": self.metadata,
            "summary": {
                "status": "passed" if self.passed else "failed",
                "exit_code": self.exit_code,
                "counts_failed": self.counts_failed(),
                "rules_evaluated": len({r.rule_id for r in self.results}),
                "rules_errored": sorted({r.rule_id for r in self.errored}),
                "issues": len(self.issues),
                "issues_resolved": len(self.resolved),
            },
            "sites": list(self.sites),
            "kahn_matrix": list(self.kahn_matrix),
            "critical_field_error_rates": list(self.critical_field_rates),
            "top_issues": list(self.top_issues),
            "results": self._results_for_json(),
            "issues": list(self.issues),
            "resolved": list(self.resolved),
            "ledger": list(self.ledger),
            "rules": list(self.rules),
        }

    def to_json(self, indent: int | None = 2) -> str:
        # orjson: the stdlib encoder spends seconds on 1e5 issues (pure-Python indenting)
        import orjson

        option = orjson.OPT_INDENT_2 if indent else 0
        return orjson.dumps(self.to_dict(), option=option, default=str).decode("utf-8")

    def summary_lines(self) -> list[str]:
        """A few lines for the terminal."""
        lines = [
            f"run {self.run_id}  audience {self.audience}  as of {self.as_of.isoformat()}",
            f"rule set {self.metadata.get('ruleset_version')}",
        ]
        for s in self.sites:
            f = s["rules_failed"]
            lines.append(
                f"  {s['site_id']:<16} {s['status']:<7} failed rules: fatal {f['fatal']}, "
                f"error {f['error']}, warning {f['warning']}, info {f['info']}; issues "
                f"new {s['issues']['new']}, persisting {s['issues']['persisting']}, "
                f"resolved {s['issues']['resolved']}, waived {s['issues']['waived']}"
            )
        verdict = "PASSED" if self.passed else "FAILED"
        lines.append(f"{verdict}: {len(self.blocking_failures)} fatal/error rule(s) over threshold")
        if self.errored:
            lines.append(f"  {len(self.errored)} rule evaluation(s) raised an error")
        if self.out_dir is not None:
            lines.append(f"report: {self.out_dir / 'report.html'}")
        return lines
