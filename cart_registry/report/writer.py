"""Write the report files: ``endpoints.html``, ``endpoints.md``, ``endpoints.json`` and the
figures (PNG + SVG) beside them.

Each file is written to a temporary name in the output folder and renamed into place
(``fsutil``), figures first: a report never points at a figure that is not there yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cart_registry.fsutil import write_text_atomic

from .model import EndpointReportData

HTML_NAME, MD_NAME, JSON_NAME = "endpoints.html", "endpoints.md", "endpoints.json"


@dataclass(frozen=True)
class ReportResult:
    """What ``write_endpoint_report`` wrote."""

    out_dir: Path
    files: tuple[Path, ...]
    as_of: str
    data_cutoff: str | None
    abstract_rows: int
    figures: tuple[str, ...] = ()
    missing: tuple[str, ...] = field(default=())

    @property
    def html(self) -> Path:
        return self.out_dir / HTML_NAME

    @property
    def json_path(self) -> Path:
        return self.out_dir / JSON_NAME

    def to_json(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "files": [str(p) for p in self.files],
            "as_of": self.as_of,
            "data_cutoff": self.data_cutoff,
            "abstract_rows": self.abstract_rows,
            "figures": list(self.figures),
            "missing": list(self.missing),
        }


def write_report_files(
    data: EndpointReportData, out_dir: Path, *, figures: bool = True
) -> ReportResult:
    """Render ``data`` into ``out_dir`` (created if needed)."""
    from .figures import write_figures
    from .render_html import render_html
    from .render_json import render_json
    from .render_md import render_markdown

    out_dir.mkdir(parents=True, exist_ok=True)
    assets = write_figures(data, out_dir) if figures else []
    written: list[Path] = []
    for a in assets:
        written += [out_dir / a.png_name, out_dir / a.svg_name]
    # render everything before writing anything, so a failing renderer cannot leave a new
    # endpoints.json beside an old endpoints.html
    texts = (
        (JSON_NAME, render_json(data, assets)),
        (MD_NAME, render_markdown(data, assets)),
        (HTML_NAME, render_html(data, assets)),
    )
    for name, text in texts:
        write_text_atomic(out_dir / name, text)
        written.append(out_dir / name)
    return ReportResult(
        out_dir=out_dir,
        files=tuple(written),
        as_of=data.meta.as_of,
        data_cutoff=data.meta.data_cutoff.isoformat() if data.meta.data_cutoff else None,
        abstract_rows=len(data.abstract),
        figures=tuple(a.key for a in assets),
        missing=data.missing,
    )
