"""``endpoints.html``: one self-contained page (inline CSS, figures as base64 SVG, no script).

jinja2 runs with autoescape on and ``StrictUndefined``: every value is escaped as text, and
a typo in the template fails the render instead of printing an empty cell.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from . import view
from .figures import FigureAsset
from .model import EndpointReportData

TEMPLATES = Path(__file__).with_name("templates")


@dataclass(frozen=True)
class _FigureView:
    key: str
    title: str
    caption: str
    png_name: str
    svg_name: str
    data: str  # base64 SVG


def render_html(data: EndpointReportData, figures: Sequence[FigureAsset] = ()) -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = env.get_template("endpoints.html.j2")
    figs = [
        _FigureView(
            key=f.key,
            title=f.title,
            caption=f.caption,
            png_name=f.png_name,
            svg_name=f.svg_name,
            data=base64.b64encode(f.svg).decode("ascii"),
        )
        for f in figures
    ]
    cutoff = data.meta.data_cutoff.isoformat() if data.meta.data_cutoff else "not set"
    return template.render(
        meta=data.meta,
        cutoff=cutoff,
        abstract_columns=view.ABSTRACT_COLUMNS,
        abstract=view.abstract_view(data),
        groups=view.grouped_tables(data),
        figures=figs,
        methods=view.METHODS_TEXT,
        settings=view.settings_rows(data),
        meta_rows=view.meta_rows(data),
        missing=data.missing,
    )
