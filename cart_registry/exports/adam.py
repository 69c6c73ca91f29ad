"""``export_adam``: ADaM-style ADSL and ADTTE, and the canonical tables, as files.

The data sets are the ``adam.adsl`` and ``adam.adtte`` views over the registry's current
submissions, computed with the current settings (the same rows ``cart-registry endpoints``
fits its survival estimates on). Each is written as CSV and Parquet, and as SAS transport
(XPT version 5) when ``pyreadstat`` is installed; the canonical tables go out as Parquet.
``define.json`` beside them records the settings (and their hash), the submissions, the
variable labels and the conventions below. Every file is written under a temporary name and
renamed into place.

Conventions
-----------
* AVAL = ADT − STARTDT in days, without +1 (survival-package practice, not admiral's
  ``add_one``).
* CNSR 0 = event; 1 = last known alive / last contact; 2 = subsequent HSCT; 3 = subsequent
  CAR T.
* EVENTTYP (sponsor-defined, not standard ADaM; CIRB only): 1 relapse, 2 death without relapse
  (competing event), 0 censored.
* CSV cells are neutralised against spreadsheet formula injection: a text value that begins
  with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading apostrophe
  (``'=1+1``). Numbers and dates are written as they are. Parquet and XPT keep values
  unchanged.
* Free-text columns of the standard (PHI class with ``free_text``) are never exported.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cart_registry.fsutil import atomic_open, atomic_path, write_text_atomic
from cart_registry.project import Project
from cart_registry.settings import StudySettings, load_settings
from cart_registry.warehouse.connection import DEFAULT_LOCK_TIMEOUT
from cart_registry.warehouse.query import json_value
from cart_registry.warehouse.readonly import open_readonly
from cart_registry.warehouse.views import settings_hash, settings_record

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
DATASETS = {"ADSL": "adam.adsl", "ADTTE": "adam.adtte"}
DATASET_LABELS = {
    "ADSL": "Subject-Level Analysis Dataset",
    "ADTTE": "Time-to-Event Analysis Dataset",
}

#: variable labels (SAS XPT v5 allows 40 characters)
VARIABLE_LABELS: dict[str, str] = {
    "STUDYID": "Study Identifier",
    "USUBJID": "Unique Subject Identifier",
    "SUBJID": "Subject Identifier for the Study",
    "SITEID": "Study Site Identifier",
    "SEX": "Sex",
    "AGE": "Age at CART-A (completed years)",
    "AGEU": "Age Units",
    "AGECARTA": "Age at CART-A (years, days/365.25)",
    "REGSTAT": "Registry Status",
    "NCONSTR": "Number of Unique CAR Constructs",
    "COHORTFL": "Cohort Flag (>= 2 Unique Constructs)",
    "CARTADT": "CART-A First Infusion Date",
    "CARTACON": "CART-A Construct",
    "CARTBDT": "CART-B First Infusion Date",
    "CARTBCON": "CART-B Construct",
    "CARTATGT": "CART-A Target Antigens",
    "CARTBTGT": "CART-B Target Antigens",
    "ABINTDY": "CART-A to CART-B Interval (days)",
    "DIFFAGFL": "CART-B Different Antigen Flag",
    "ACRFL": "CR after CART-A Flag",
    "BCRFL": "CR after CART-B Flag",
    "BBESTRSP": "Best Response to CART-B",
    "BCRDT": "CART-B CR Date",
    "BRELFL": "Relapse after CART-B CR Flag",
    "BRELDT": "Relapse after CART-B CR Date",
    "DTHFL": "Death Flag (up to data cut-off)",
    "DTHDT": "Date of Death",
    "LSTALVDT": "Last Known Alive Date",
    "LASTSTAT": "Disease Status at Last Contact",
    "PARAMCD": "Parameter Code",
    "PARAM": "Parameter",
    "PARAMN": "Parameter (N)",
    "AVAL": "Analysis Value (days)",
    "AVALU": "Analysis Value Unit",
    "STARTDT": "Time-to-Event Origin Date",
    "ADT": "Analysis Date",
    "CNSR": "Censor (0 event,1 alive,2 HSCT,3 CAR T)",
    "EVENTTYP": "Event Type (1 relapse, 2 death, 0 cens)",
    "EVNTDESC": "Event or Censoring Description",
    "CNSDTDSC": "Censor Date Description",
    "SRCDOM": "Source Data (canonical table)",
    "STARTORG": "Origin of Time (infusion or CR date)",
    "CONSTRID": "Construct of the Course",
    "CNSRRULE": "Censoring (none, hsct, hsct_or_cart)",
}


@dataclass(frozen=True)
class ExportedFile:
    path: str
    dataset: str
    format: str
    rows: int
    sha256: str

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "dataset": self.dataset, "format": self.format,
                "rows": self.rows, "sha256": self.sha256}


@dataclass(frozen=True)
class ExportResult:
    out_dir: str
    files: tuple[ExportedFile, ...]
    settings_hash: str
    #: why XPT files were not written (None when they were)
    xpt_skipped: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "out_dir": self.out_dir,
            "files": [f.to_json() for f in self.files],
            "settings_hash": self.settings_hash,
            "xpt_skipped": self.xpt_skipped,
        }


# --------------------------------------------------------------------------- CSV
def neutralise(value: str) -> str:
    """A text cell that a spreadsheet would run as a formula, made inert."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return neutralise("|".join(str(v) for v in value))
    return neutralise(str(value))


def write_csv(path: Path, table: pa.Table) -> None:
    with atomic_open(path, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(table.column_names)
        for row in table.to_pylist():
            w.writerow([csv_cell(row[c]) for c in table.column_names])


# --------------------------------------------------------------------------- Parquet / XPT
def write_parquet(path: Path, table: pa.Table, metadata: dict[str, str]) -> None:
    import pyarrow.parquet as pq

    meta = dict(table.schema.metadata or {})
    meta.update({k.encode(): v.encode() for k, v in metadata.items()})
    with atomic_path(path) as tmp:
        pq.write_table(table.replace_schema_metadata(meta), tmp, compression="zstd")


def xpt_available() -> str | None:
    """None when XPT can be written, else why not."""
    try:
        import pyreadstat  # noqa: F401
    except ImportError:
        return ("pyreadstat is not installed; SAS transport (XPT) files were skipped "
                "(pip install pyreadstat)")
    return None


def write_xpt(path: Path, dataset: str, table: pa.Table) -> None:
    """SAS transport version 5: names <= 8 characters, labels <= 40, dates as DATE9."""
    import pyarrow as pa
    import pyreadstat

    long = [c for c in table.column_names if len(c) > 8]
    if long:
        raise ValueError(f"{dataset}: XPT v5 names must be <= 8 characters: {long}")
    frame = table.to_pandas(date_as_object=True)
    formats = {f.name: "DATE9" for f in table.schema if pa.types.is_date(f.type)}
    labels = {c: VARIABLE_LABELS.get(c, c)[:40] for c in table.column_names}
    with atomic_path(path) as tmp:
        pyreadstat.write_xport(
            frame, str(tmp), file_label=DATASET_LABELS.get(dataset, dataset)[:40],
            column_labels=labels, table_name=dataset, file_format_version=5,
            variable_format=formats,
        )


# --------------------------------------------------------------------------- export
def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _arrow(con: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    rel = con.sql(sql)
    # DuckDB 2 names it to_arrow_table; 1.x (which pyproject still allows) calls it arrow
    fetch = getattr(rel, "to_arrow_table", None) or getattr(rel, "arrow")  # noqa: B009
    table: pa.Table = fetch()
    return table


def _define(
    project: Project, study: StudySettings, datasets: dict[str, pa.Table],
    submissions: list[dict[str, Any]], files: list[ExportedFile], xpt_skipped: str | None,
) -> dict[str, Any]:
    from cart_registry import __version__

    return {
        "study_id": study.study_id,
        "generated_at_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "tool": "cart_registry",
        "tool_version": __version__,
        "registry": str(project.db_path),
        "settings_hash": settings_hash(study),
        "settings": settings_record(study),
        "submissions": submissions,
        "conventions": {
            "AVAL": "ADT - STARTDT in days, without +1",
            "CNSR": {"0": "event", "1": "last known alive / last contact",
                     "2": "subsequent HSCT", "3": "subsequent CAR T"},
            "EVENTTYP": {"note": "sponsor-defined competing-risk variable, not standard "
                                 "ADaM; CIRB only",
                         "0": "censored", "1": "relapse", "2": "death without relapse"},
            "USUBJID": "pseudonymous registry patient id (<site>-<local id or pseudonym>)",
            "csv_formula_rule": "text cells starting with = + - @ tab or CR get a leading "
                                "apostrophe; Parquet and XPT values are unchanged",
            "free_text": "free-text columns of the standard are not exported",
        },
        "datasets": {
            name: {
                "label": DATASET_LABELS[name],
                "rows": t.num_rows,
                "variables": [{"name": f.name, "label": VARIABLE_LABELS.get(f.name, f.name),
                               "type": str(f.type)} for f in t.schema],
            }
            for name, t in datasets.items()
        },
        "xpt_skipped": xpt_skipped,
        "files": [f.to_json() for f in files],
    }


def export_adam(
    project: Project,
    out_dir: Path | None = None,
    *,
    settings: StudySettings | None = None,
    formats: tuple[str, ...] = ("csv", "parquet", "xpt"),
    canonical: bool = True,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> ExportResult:
    """Write ADSL, ADTTE (and the canonical tables) for the registry's current submissions."""
    study = settings or load_settings(project.settings_file).study
    out = (out_dir or project.exports_dir).resolve()
    digest = settings_hash(study)
    meta = {"cart_registry.settings_hash": digest,
            "cart_registry.settings": json.dumps(settings_record(study), sort_keys=True)}
    xpt_skipped = xpt_available() if "xpt" in formats else "XPT not requested"
    files: list[ExportedFile] = []
    standard = project.standard()
    with open_readonly(project, settings=study, lock_timeout=lock_timeout,
                       materialize=True) as con:
        datasets = {name: _arrow(con, f"SELECT * FROM {view} ORDER BY ALL")
                    for name, view in DATASETS.items()}
        subs = [
            {k: json_value(v) for k, v in zip(("site_id", "submission_id"), r, strict=True)}
            for r in con.execute("SELECT site_id, submission_id FROM admin.current_submission "
                                 "ORDER BY site_id").fetchall()
        ] if con.execute("SELECT count(*) FROM duckdb_views() WHERE schema_name = 'admin' "
                         "AND view_name = 'current_submission'").fetchone() == (1,) else []
        tables = {}
        if canonical:
            for t in standard:
                cols = ", ".join(f'"{c.name}"' for c in t.columns if not c.free_text)
                tables[t.name] = _arrow(con, f"SELECT {cols} FROM canonical.{t.name}")
    for name, table in datasets.items():
        stem = name.lower()
        if "csv" in formats:
            p = out / f"{stem}.csv"
            write_csv(p, table)
            files.append(ExportedFile(str(p), name, "csv", table.num_rows, _sha(p)))
        if "parquet" in formats:
            p = out / f"{stem}.parquet"
            write_parquet(p, table, meta)
            files.append(ExportedFile(str(p), name, "parquet", table.num_rows, _sha(p)))
        if "xpt" in formats and xpt_skipped is None:
            p = out / f"{stem}.xpt"
            write_xpt(p, name, table)
            files.append(ExportedFile(str(p), name, "xpt", table.num_rows, _sha(p)))
    for name, table in tables.items():
        p = out / "canonical" / f"{name}.parquet"
        write_parquet(p, table, meta)
        files.append(ExportedFile(str(p), f"canonical.{name}", "parquet", table.num_rows,
                                  _sha(p)))
    define = _define(project, study, datasets, subs, files, xpt_skipped)
    write_text_atomic(out / "define.json", json.dumps(define, indent=2, default=str) + "\n")
    return ExportResult(out_dir=str(out), files=tuple(files), settings_hash=digest,
                        xpt_skipped=xpt_skipped)
