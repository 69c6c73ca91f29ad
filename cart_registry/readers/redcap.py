"""REDCap flat exports, read with the project's data dictionary.

A REDCap records export is "block-sparse": one row per record x event x repeat instance, with
the columns of every instrument side by side and blank where the row's instrument is another.
Blank therefore does not mean missing, and rows must be cut by instrument before mapping (as
REDCapTidieR does). This reader:

* reads the dictionary with UI headers ("Variable / Field Name", ...) or API headers
  (``field_name``, ...), and parses choices (``code, label | code, label``);
* reads the records file(s) as text (``csv_reader``), checks every column against the
  dictionary (checkbox expansions ``field___code``, ``<form>_complete``, ``<form>_timestamp``
  and the ``redcap_*`` system columns included) and turns a label export back into raw codes;
* yields one source table per instrument (form), named after the form, with the rows that
  belong to it: rows of that repeating instrument, and non-repeating rows where one of the
  form's fields has a value (a checkbox counts when ticked). Rows in no instrument are
  counted as ignored. Each row's key is ``record=..|event=..|instrument=..|instance=..``
  (``event`` only in longitudinal projects, ``instance`` only on repeated rows).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cart_registry.errors import InputError
from cart_registry.fsutil import sha256_file
from cart_registry.mapping.ops.checkbox import checkbox_suffix
from cart_registry.mapping.yamlsrc import suggest
from cart_registry.readers.base import FILE_COL, KEY_COL, ROW_COL, SourceFileInfo, SourceTable
from cart_registry.readers.csv_reader import CsvFormat, decode_all, detect_encoding, read_csv_text

if TYPE_CHECKING:
    import polars as pl

EVENT_COL = "redcap_event_name"
REPEAT_INSTRUMENT_COL = "redcap_repeat_instrument"
REPEAT_INSTANCE_COL = "redcap_repeat_instance"
DAG_COL = "redcap_data_access_group"
SURVEY_ID_COL = "redcap_survey_identifier"
SYSTEM_COLS = (EVENT_COL, REPEAT_INSTRUMENT_COL, REPEAT_INSTANCE_COL, DAG_COL, SURVEY_ID_COL)

#: UI export header -> API name of the dictionary columns
UI_HEADERS = {
    "Variable / Field Name": "field_name",
    "Form Name": "form_name",
    "Section Header": "section_header",
    "Field Type": "field_type",
    "Field Label": "field_label",
    "Choices, Calculations, OR Slider Labels": "select_choices_or_calculations",
    "Field Note": "field_note",
    "Text Validation Type OR Show Slider Number": "text_validation_type_or_show_slider_number",
    "Text Validation Min": "text_validation_min",
    "Text Validation Max": "text_validation_max",
    "Identifier?": "identifier",
    "Branching Logic (Show field only if...)": "branching_logic",
    "Required Field?": "required_field",
    "Custom Alignment": "custom_alignment",
    "Question Number (surveys only)": "question_number",
    "Matrix Group Name": "matrix_group_name",
    "Matrix Ranking?": "matrix_ranking",
    "Field Annotation": "field_annotation",
}
_REQUIRED = ("field_name", "form_name", "field_type")
#: field types whose dictionary choices are codes
CHOICE_TYPES = {"radio", "dropdown", "checkbox"}
#: field types that never appear as a column of a records export
NO_COLUMN_TYPES = {"descriptive"}
#: implicit choices of REDCap's two-valued types
IMPLICIT_CHOICES = {"yesno": {"1": "Yes", "0": "No"}, "truefalse": {"1": "True", "0": "False"}}
FORM_STATUS = {"0": "Incomplete", "1": "Unverified", "2": "Complete"}


@dataclass(frozen=True)
class RedcapField:
    name: str
    form: str
    field_type: str
    label: str
    #: code -> label, in dictionary order (radio, dropdown, checkbox, yesno, truefalse)
    choices: dict[str, str]
    validation: str
    identifier: bool
    #: 1-based line of the field in the dictionary file
    line: int

    @property
    def comma_decimal(self) -> bool:
        return self.validation.endswith("comma_decimal")

    def checkbox_columns(self, extra_codes: Iterable[str] = ()) -> dict[str, str]:
        """column -> code of a checkbox field's expansion columns (missing codes included)."""
        codes = list(self.choices) + [c for c in extra_codes if c not in self.choices]
        return {f"{self.name}___{checkbox_suffix(c)}": c for c in codes}


@dataclass(frozen=True)
class RedcapDictionary:
    path: str
    fields: tuple[RedcapField, ...]
    #: header style found: 'ui' or 'api'
    style: str

    @property
    def record_id(self) -> str:
        return self.fields[0].name

    @property
    def forms(self) -> list[str]:
        return list(dict.fromkeys(f.form for f in self.fields))

    def field(self, name: str) -> RedcapField | None:
        return self._by_name.get(name)

    @property
    def _by_name(self) -> dict[str, RedcapField]:
        cached: dict[str, RedcapField] | None = self.__dict__.get("_by_name_cache")
        if cached is None:
            cached = {f.name: f for f in self.fields}
            object.__setattr__(self, "_by_name_cache", cached)
        return cached

    def form_fields(self, form: str) -> list[RedcapField]:
        return [f for f in self.fields if f.form == form]


def parse_choices(text: str) -> dict[str, str]:
    """``'1, Yes | 2, No'`` -> {'1': 'Yes', '2': 'No'} (a choice without a comma is its own
    label)."""
    out: dict[str, str] = {}
    for part in text.split("|"):
        part = part.strip()
        if not part:
            continue
        code, sep, label = part.partition(",")
        out[code.strip()] = label.strip() if sep else code.strip()
    return out


def read_dictionary(path: Path, *, encoding: str = "utf-8", display: str | None = None) -> RedcapDictionary:
    """Read a REDCap data dictionary with UI or API headers."""
    shown = display or path.name
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{shown}: cannot read the REDCap dictionary ({exc.strerror})") from None
    if not data.strip():
        raise InputError(f"{shown}: the REDCap dictionary is empty")
    enc = detect_encoding(data) if encoding == "detect" else encoding
    text = decode_all(data, enc, shown)
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:  # a field over the csv module's limit, a NUL byte
        raise InputError(f"{shown}: not a readable CSV dictionary ({exc})") from None
    header = [h.strip().lstrip("\ufeff") for h in rows[0]]
    if "field_name" in header:
        style, names = "api", header
    elif "Variable / Field Name" in header:
        style = "ui"
        names = [UI_HEADERS.get(h, h) for h in header]
    else:
        raise InputError(
            f"{shown}: line 1: not a REDCap data dictionary (expected a 'Variable / Field Name' "
            "or 'field_name' column)"
        )
    for req in _REQUIRED:
        if req not in names:
            ui = {v: k for k, v in UI_HEADERS.items()}[req]
            raise InputError(f"{shown}: line 1: missing dictionary column {ui!r} ({req})")
    idx = {n: i for i, n in enumerate(names)}

    def cell(row: list[str], name: str) -> str:
        i = idx.get(name)
        if i is None or i >= len(row):
            return ""
        v = row[i].strip()
        # dictionaries written by R carry NA for empty cells
        return "" if (v == "NA" and name not in ("field_name", "field_label")) else v

    fields: list[RedcapField] = []
    seen: set[str] = set()
    line = 1
    reader = csv.reader(io.StringIO(text, newline=""))
    next(reader)
    for row in reader:
        line = reader.line_num
        if not any(c.strip() for c in row):
            continue
        name = cell(row, "field_name")
        if not name:
            raise InputError(f"{shown}: line {line}: field without a name")
        if name in seen:
            raise InputError(f"{shown}: line {line}: field {name!r} is defined twice")
        seen.add(name)
        ftype = cell(row, "field_type").lower()
        choices_text = cell(row, "select_choices_or_calculations")
        if ftype in CHOICE_TYPES:
            choices = parse_choices(choices_text)
        else:
            choices = dict(IMPLICIT_CHOICES.get(ftype, {}))
        fields.append(
            RedcapField(
                name=name, form=cell(row, "form_name"), field_type=ftype,
                label=cell(row, "field_label"), choices=choices,
                validation=cell(row, "text_validation_type_or_show_slider_number").lower(),
                identifier=cell(row, "identifier").lower() == "y", line=line,
            )
        )
    if not fields:
        raise InputError(f"{shown}: the REDCap dictionary has a header but no fields")
    return RedcapDictionary(shown, tuple(fields), style)


def _norm_name(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.strip().lower()).strip("_")


@dataclass
class RedcapExport:
    """A records export cut by instrument, with what the ledger needs."""

    dictionary: RedcapDictionary
    tables: dict[str, SourceTable]
    files: list[SourceFileInfo]
    rows_read: dict[str, int]
    rows_ignored: dict[str, dict[str, int]]
    broken: list[dict[str, Any]] = field(default_factory=list)
    encodings: dict[str, str] = field(default_factory=dict)
    longitudinal: bool = False
    #: the whole export as read (text), for tests and onboarding
    frame: pl.DataFrame | None = None

    @property
    def record_ids(self) -> list[str]:
        assert self.frame is not None
        rid = self.dictionary.record_id
        return list(dict.fromkeys(self.frame.get_column(rid).to_list()))


def _known_columns(d: RedcapDictionary, missing_codes: Iterable[str]) -> dict[str, str]:
    """column -> form for every column a records export of this dictionary may have."""
    out: dict[str, str] = {}
    for f in d.fields:
        if f.field_type in NO_COLUMN_TYPES:
            continue
        if f.field_type == "checkbox":
            for col in f.checkbox_columns(missing_codes):
                out[col] = f.form
        else:
            out[f.name] = f.form
    for form in d.forms:
        out[f"{form}_complete"] = form
        out[f"{form}_timestamp"] = form
    return out


def _label_maps(d: RedcapDictionary, columns: list[str], forms: list[str]) -> dict[str, dict[str, str]]:
    """column -> {label: raw code} to undo a label export."""
    maps: dict[str, dict[str, str]] = {}
    for f in d.fields:
        if f.field_type == "checkbox":
            for col, code in f.checkbox_columns().items():
                if col in columns:
                    maps[col] = {"Checked": "1", "Unchecked": "0", f.choices.get(code, code): "1"}
        elif f.choices and f.name in columns and f.name != d.record_id:
            maps[f.name] = {label: code for code, label in f.choices.items()}
    for form in forms:
        col = f"{form}_complete"
        if col in columns:
            maps[col] = {label: code for code, label in FORM_STATUS.items()}
    return maps


def read_redcap_export(
    records: list[Path],
    dictionary: Path,
    fmt: CsvFormat,
    *,
    export_dir: Path | None = None,
    values: str = "raw",
    unknown_columns: str = "error",
    missing_codes: Iterable[str] = (),
    dictionary_encoding: str | None = None,
    workdir: Path | None = None,
) -> RedcapExport:
    """Read REDCap records file(s) with their dictionary and cut them by instrument."""
    import polars as pl

    def rel(p: Path) -> str:
        if export_dir is not None:
            try:
                return p.resolve().relative_to(export_dir.resolve()).as_posix()
            except ValueError:
                pass
        return p.name

    missing = list(missing_codes)
    d = read_dictionary(dictionary, encoding=dictionary_encoding or fmt.encoding,
                        display=rel(dictionary))
    known = _known_columns(d, missing)
    frames: list[pl.DataFrame] = []
    files: list[SourceFileInfo] = []
    rows_read: dict[str, int] = {}
    broken: list[dict[str, Any]] = []
    encodings: dict[str, str] = {}
    for path in records:
        shown = rel(path)
        text = read_csv_text(path, fmt, display=shown, workdir=workdir)
        encodings[shown] = text.encoding
        if text.columns[0] != d.record_id:
            raise InputError(
                f"{shown}: header: the first column is {text.columns[0]!r}, the dictionary's "
                f"record id field is {d.record_id!r}"
            )
        for col in text.columns:
            if col in known or col in SYSTEM_COLS:
                continue
            if unknown_columns == "error":
                hint = suggest(col, [*known, *SYSTEM_COLS])
                raise InputError(
                    f"{shown}: header: column {col!r} is not in the REDCap dictionary "
                    f"{rel(dictionary)}{hint}",
                    hint="export the matching dictionary, or set reader.unknown_columns: ignore",
                )
        files.append(SourceFileInfo(shown, sha256_file(path), path.stat().st_size))
        rows_read[shown] = text.rows_read
        broken += [dict(b, source_file=shown) for b in text.broken]
        frames.append(text.frame)
    frame = pl.concat(frames, how="diagonal") if len(frames) > 1 else frames[0]
    columns = [c for c in frame.columns if c not in (ROW_COL, KEY_COL, FILE_COL)]

    if values == "label":
        maps = _label_maps(d, columns, d.forms)
        exprs = [pl.col(c).str.strip_chars().replace(m) for c, m in maps.items()]
        if REPEAT_INSTRUMENT_COL in columns:
            forms = {_norm_name(f): f for f in d.forms}
            ri = pl.col(REPEAT_INSTRUMENT_COL)
            # a label export names the repeating instrument by its label ("Blood Pressure")
            exprs.append(
                ri.str.to_lowercase().str.replace_all(r"[^a-z0-9]+", "_").str.strip_chars("_")
                .replace(forms)
            )
        if exprs:
            frame = frame.with_columns(exprs)

    longitudinal = EVENT_COL in columns
    rid = d.record_id
    key_parts: list[pl.Expr] = [pl.lit("record="), pl.col(rid).fill_null("")]
    if longitudinal:
        key_parts += [pl.lit("|event="), pl.col(EVENT_COL).fill_null("")]
    has_ri = REPEAT_INSTRUMENT_COL in columns
    has_inst = REPEAT_INSTANCE_COL in columns
    sys_cols = [c for c in (EVENT_COL, REPEAT_INSTRUMENT_COL, REPEAT_INSTANCE_COL, DAG_COL)
                if c in columns]

    checkbox_of = {
        col: f.name for f in d.fields if f.field_type == "checkbox"
        for col in f.checkbox_columns(missing)
    }
    tables: dict[str, SourceTable] = {}
    claimed: list[pl.Expr] = []
    for form in d.forms:
        form_cols = [c for c in columns if known.get(c) == form and c != rid]
        checkbox_cols = [c for c in form_cols if c in checkbox_of]
        data_cols = [c for c in form_cols if c in d._by_name]
        has_data_terms = [pl.col(c).is_not_null() for c in data_cols]
        has_data_terms += [pl.col(c).str.strip_chars() == "1" for c in checkbox_cols]
        has_data = pl.any_horizontal(has_data_terms).fill_null(False) if has_data_terms else pl.lit(False)
        if has_ri:
            ri = pl.col(REPEAT_INSTRUMENT_COL)
            mask = (ri == form).fill_null(False) | (ri.is_null() & has_data)
        else:
            mask = has_data
        claimed.append(mask)
        parts = [*key_parts, pl.lit(f"|instrument={form}")]
        if has_inst:
            inst = pl.col(REPEAT_INSTANCE_COL)
            key = pl.when(inst.is_not_null()).then(
                pl.concat_str([*parts, pl.lit("|instance="), inst])
            ).otherwise(pl.concat_str(parts))
        else:
            key = pl.concat_str(parts)
        keep = [rid, *sys_cols, *form_cols]
        sliced = frame.filter(mask).select(
            *[pl.col(c) for c in keep], key.alias(KEY_COL), pl.col(ROW_COL), pl.col(FILE_COL)
        )
        tables[form] = SourceTable(
            name=form, frame=sliced, files=list(files),
            field_paths={c: c for c in keep}, rows_read=dict(rows_read),
        )
    unclaimed = frame.filter(~pl.any_horizontal(claimed)) if claimed else frame
    ignored: dict[str, dict[str, int]] = {}
    counts = unclaimed.group_by(FILE_COL).len()
    for file, n in counts.iter_rows():
        ignored.setdefault(file, {})["row holds no data of any instrument"] = int(n)
    return RedcapExport(d, tables, files, rows_read, ignored, broken, encodings, longitudinal,
                        frame)
