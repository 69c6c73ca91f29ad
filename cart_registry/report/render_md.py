"""``endpoints.md``: the same content as the HTML, as GitHub-flavoured Markdown tables.

Cells are escaped for Markdown *and* HTML: most Markdown viewers pass raw HTML through, so
a ``<`` in a label must not become a tag, and a ``|`` must not split a cell.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import view
from .figures import FigureAsset
from .model import EndpointReportData

# "<" is the only character that can open HTML in a viewer that passes HTML through; "&" and
# ">" are left alone so that text reads naturally in a plain editor.
_ESCAPES = {
    "<": "&lt;",
    "|": "\\|",
    "\\": "\\\\",
    "`": "\\`",
    "*": "\\*",
    "_": "\\_",
    "[": "\\[",
    "]": "\\]",
}


def md_escape(text: str) -> str:
    """Escape one cell or line of text; newlines become spaces (a cell is one line)."""
    out = "".join(_ESCAPES.get(ch, ch) for ch in text)
    return " ".join(out.splitlines())


def _table(
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    right: set[int],
    *,
    headings: frozenset[int] = frozenset(),
) -> list[str]:
    """A pipe table; rows whose index is in ``headings`` show their first cell in bold."""
    head = "| " + " | ".join(md_escape(c) for c in columns) + " |"
    sep = "|" + "|".join("---:" if i in right else "---" for i in range(len(columns))) + "|"
    body = []
    for k, row in enumerate(rows):
        cells = [md_escape(c) for c in row]
        if k in headings:
            cells[0] = f"**{cells[0]}**"
        body.append("| " + " | ".join(cells) + " |")
    return [head, sep, *body]


def render_markdown(data: EndpointReportData, figures: Sequence[FigureAsset] = ()) -> str:
    m = data.meta
    cutoff = m.data_cutoff.isoformat() if m.data_cutoff else "not set"
    out = [
        f"# {md_escape(m.title)}",
        "",
        f"{md_escape(m.registry_name)} \u00b7 data cutoff {cutoff} \u00b7 report as of "
        f"{md_escape(m.as_of)} \u00b7 cart\\_registry {md_escape(m.tool_version)}",
        "",
    ]
    if data.missing:
        out += ["> **Not shown, or to check, in this report**", ">"]
        out += [f"> - {md_escape(x)}" for x in data.missing]
        out.append("")
    out += ["## Abstract table", ""]
    av = view.abstract_view(data)
    rows: list[tuple[str, ...]] = []
    headings: set[int] = set()
    for sec in av.sections:
        headings.add(len(rows))
        rows.append((sec.title, "", "", "", "", ""))
        rows += [
            (*r.cells[:5], r.cells[5] + (f" [{r.mark}]" if r.mark else "")) for r in sec.rows
        ]
    out += _table(view.ABSTRACT_COLUMNS, rows, right={1, 2, 3, 4}, headings=frozenset(headings))
    out.append("")
    out += [f"- \\[{m}\\] {md_escape(text)}" for m, text in av.footnotes]
    out += [
        "",
        "CR = complete remission. NE = not estimable; NR = not reached. Counts and aggregates "
        "only.",
        "",
    ]
    if figures:
        out += ["## Figures", ""]
        for i, f in enumerate(figures, 1):
            out += [
                f"![{md_escape(f.title)}]({f.png_name})",
                "",
                f"**Figure {i}. {md_escape(f.title)}.** {md_escape(f.caption)} "
                f"Vector version: [{md_escape(f.svg_name)}]({f.svg_name}).",
                "",
            ]
    for _group, title, tables in view.grouped_tables(data):
        out += [f"## {md_escape(title)}", ""]
        for t in tables:
            out += [f"### {md_escape(t.title)}", ""]
            out += _table(t.columns, t.rows, right={i for i, n in enumerate(t.numeric) if n})
            if t.note:
                out += ["", f"*{md_escape(t.note)}*"]
            out.append("")
    out += ["## Statistical methods", ""]
    out += [f"{i}. {md_escape(x)}" for i, x in enumerate(view.METHODS_TEXT, 1)]
    out += ["", "## Study settings and generation", ""]
    out += _table(("Setting", "Value"), view.settings_rows(data), right=set())
    out.append("")
    out += _table(("Item", "Value"), view.meta_rows(data), right=set())
    out += [f"\n{md_escape(n)}" for n in m.notes]
    return "\n".join(out) + "\n"
