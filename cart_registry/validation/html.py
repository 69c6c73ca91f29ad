"""Render ``report.html``: one self-contained file (inline CSS and JS, no CDN, works offline).

Jinja2 with autoescape on: every value from the data is HTML-escaped, including values a site
typed (a ``<script>`` in a free-text cell is shown, never run). The issue table is capped
(``MAX_HTML_ISSUES``) to keep the page light; report.json and the query lists have them all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cart_registry.validation.report import ValidationReport

MAX_HTML_ISSUES = 5000


def _env() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("cart_registry.validation", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(report: ValidationReport) -> str:
    data = report.to_dict()
    matrix: dict[str, dict[str, Any]] = {}
    for cell in data["kahn_matrix"]:
        matrix.setdefault(cell["category"], {})[cell["context"]] = cell
    results_by_rule: dict[str, list[dict[str, Any]]] = {}
    for r in data["results"]:
        results_by_rule.setdefault(r["rule_id"], []).append(r)
    failing = [
        r for r in data["results"] if r["status"] in ("fail", "error")
    ]
    issues = data["issues"][:MAX_HTML_ISSUES]
    return str(
        _env().get_template("report.html.j2").render(
            r=data,
            meta=data["metadata"],
            summary=data["summary"],
            matrix=matrix,
            failing=failing,
            issues=issues,
            issues_total=len(data["issues"]),
            issues_capped=len(data["issues"]) > MAX_HTML_ISSUES,
            sites=[s["site_id"] for s in data["sites"]],
            rule_ids=sorted({i["rule"]["id"] for i in issues}),
            cc=report.audience == "coordinating_center",
        )
    )
