"""``mapping init``: a first mapping drafted from a REDCap data dictionary.

Each REDCap field (name, label, choices, validation) and each canonical column (name,
description, value set) become bags of tokens; a form goes to the table whose columns its
fields match best, a column to its best field, a choice to its best canonical value. The
scores are token overlaps (with a few registry synonyms: dob, dx, tox ...) plus a bonus when
the kinds agree (a dated field for a date column, a choice field for a coded column). Every
guess below the "sure" score, and every required column left unmapped, gets a ``# TODO:``
comment with the reason, so that a data manager reviews exactly those lines. The draft is
valid YAML and loads as a mapping; ``mapping check`` then says what is still missing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from cart_registry.errors import ConfigError
from cart_registry.readers.redcap import RedcapDictionary, RedcapField
from cart_registry.standard import Column, ColumnType, Standard, Table

SURE = 0.6
MAYBE = 0.25
#: short forms seen in registry forms -> the words of the standard
SYNONYMS: dict[str, list[str]] = {
    "dob": ["birth", "date"], "bday": ["birth", "date"], "dx": ["diagnosis"],
    "diag": ["diagnosis"], "gender": ["sex"], "inf": ["infusion"], "tox": ["toxicity"],
    "ld": ["lymphodepletion"], "fu": ["follow", "up", "contact"], "hsct": ["transplant"],
    "sct": ["transplant"], "bmt": ["transplant"], "tx": ["transplant"], "wt": ["weight"],
    "weight": ["weight"], "temp": ["temperature"], "tmax": ["temperature", "max"],
    "pct": ["percent"], "mrd": ["mrd"], "cns": ["cns"], "icd10": ["icd"], "ag": ["antigen"],
    "rel": ["relapse"], "th": ["therapy"], "da": ["assessment"], "resp": ["response"],
    "vital": ["vital", "status"], "death": ["death"], "cause": ["cause"], "blina": ["blinatumomab"],
    "ino": ["inotuzumab"], "cyto": ["cytogenetic"], "cytogen": ["cytogenetic"],
    "product": ["construct"], "car": ["construct"], "id": ["id"], "female": ["female"],
    "male": ["male"], "dead": ["dead"], "deceased": ["dead"], "alive": ["alive"],
    "crs": ["crs"], "icans": ["icans"], "grade": ["grade"], "onset": ["onset"],
    "demographics": ["patient"], "demographic": ["patient"], "enrollment": ["patient"],
    "registration": ["patient"], "baseline": ["patient"], "survival": ["follow", "up"],
}
#: words too common in registry columns to be evidence on their own
GENERIC = {"date": 0.2, "id": 0.2, "status": 0.3, "type": 0.3, "result": 0.4, "value": 0.3,
           "max": 0.4, "min": 0.4, "percent": 0.4, "number": 0.3, "total": 0.4, "start": 0.5,
           "end": 0.5, "site": 0.4, "form": 0.2, "record": 0.2}
_STOP = {"the", "of", "a", "an", "and", "or", "in", "on", "at", "to", "for", "by", "is", "as",
         "with", "from", "if", "when", "this", "that", "be", "per", "not", "no", "yes", "s"}


def tokens(*texts: str) -> set[str]:
    out: set[str] = set()
    for text in texts:
        for raw in re.split(r"[^A-Za-z0-9]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", text or "")):
            t = raw.lower()
            if not t or t in _STOP:
                continue
            out.update(SYNONYMS.get(t, [t[:-1] if len(t) > 4 and t.endswith("s") else t]))
    return out


def _same(x: str, y: str) -> bool:
    # equal, or one is a prefix of the other (spontaneous/spontaneously, cytogenetic/s)
    return x == y or (min(len(x), len(y)) >= 5 and (x.startswith(y) or y.startswith(x)))


def similarity(a: set[str], b: set[str]) -> float:
    """Share of the smaller bag found in the other (overlap coefficient, fuzzy tokens)."""
    if not a or not b:
        return 0.0
    small, big = (a, b) if len(a) <= len(b) else (b, a)
    total = sum(GENERIC.get(x, 1.0) for x in small)
    hit = sum(GENERIC.get(x, 1.0) for x in small if any(_same(x, y) for y in big))
    return hit / total


def _kind_bonus(f: RedcapField, c: Column) -> float:
    coded = c.values is not None
    choice = f.field_type in ("radio", "dropdown")
    if c.type is ColumnType.DATE:
        return 0.3 if f.validation.startswith("date") else -0.3
    if c.type is ColumnType.BOOL:
        return 0.3 if f.field_type in ("yesno", "truefalse") else (0.1 if f.field_type == "checkbox" else -0.2)
    if c.type is ColumnType.LIST_STRING:
        return 0.3 if f.field_type == "checkbox" else -0.1
    if coded:
        return 0.2 if choice else -0.2
    if c.type in (ColumnType.INT, ColumnType.FLOAT):
        ok = f.validation.startswith(("number", "integer")) or f.field_type in ("calc", "slider")
        return 0.2 if ok else -0.2
    return 0.0


@dataclass(frozen=True)
class Guess:
    field: RedcapField
    score: float


def best_field(col: Column, fields: list[RedcapField], taken: set[str]) -> Guess | None:
    ctoks = tokens(col.name, col.name) | tokens(col.description)
    name_toks = tokens(col.name)
    best: Guess | None = None
    for f in fields:
        if f.name in taken or f.field_type in ("descriptive", "file", "sql"):
            continue
        ftoks = tokens(f.name, f.label)
        s = 0.7 * similarity(name_toks, ftoks) + 0.3 * similarity(ctoks, ftoks)
        if s == 0:
            continue  # a matching kind alone is no evidence
        s += _kind_bonus(f, col)
        if best is None or s > best.score:
            best = Guess(f, round(s, 2))
    return best


def best_value(label: str, code: str, values: tuple[str, ...]) -> tuple[str, float]:
    lt = tokens(label, code)
    scored = sorted(((similarity(lt, tokens(v)), v) for v in values), reverse=True)
    return scored[0][1], round(scored[0][0], 2)


def _q(value: str) -> str:
    """A YAML-safe scalar (JSON strings are valid YAML)."""
    return json.dumps(value, ensure_ascii=False)


def _form_score(form: str, fields: list[RedcapField], table: Table) -> float:
    cols = [c for c in table.business_columns if c.name != "patient_id"]
    if not cols:
        return 0.0
    hits = 0.0
    for c in cols:
        g = best_field(c, fields, set())
        if g and g.score >= MAYBE:
            hits += min(g.score, 1.0)
    name_bonus = similarity(tokens(form), tokens(table.name))
    return 0.5 * hits / len(cols) ** 0.5 + 0.5 * name_bonus


def _is_surrogate(table: Table, col: Column) -> bool:
    return col.name in table.primary_key and col.name != "patient_id" and col.name.endswith("_id")


def _column_lines(table: Table, col: Column, fields: list[RedcapField], rid: str,
                  taken: set[str]) -> list[str]:
    """YAML lines (indented for `columns:`) for one canonical column."""
    ind = "      "
    if col.name == "patient_id":
        return [f"{ind}patient_id: {{op: patient_id, from: {_q(rid)}}}"]
    if _is_surrogate(table, col):
        return [
            f"{ind}# TODO: check the natural key; add redcap_event_name for a longitudinal "
            "project, drop redcap_repeat_instance for a non-repeating form",
            f"{ind}{col.name}: {{op: surrogate_key, method: join, from: [{_q(rid)}, "
            f"\"redcap_repeat_instance\"], label: {_q(table.name[:8])}}}",
        ]
    if col.name == "infusion_id":
        return [f"{ind}# TODO: the infusion this row belongs to: reuse cart_infusion's "
                "infusion_id recipe, or leave unmapped if the form does not say"]
    g = best_field(col, fields, taken)
    required = not col.nullable
    if g is None or g.score < MAYBE:
        if required:
            hint = f"one of {', '.join(col.values[:6])}" if col.values else col.type.value
            return [f"{ind}# TODO: required column {col.name} ({hint}): no field matched; map "
                    "a field or use {op: constant, value: ...}"]
        return []
    f = g.field
    taken.add(f.name)
    unsure = g.score < SURE
    lines: list[str] = []
    if unsure:
        lines.append(f"{ind}# TODO: unsure match (score {g.score}): {f.name!r} "
                     f"\"{f.label[:60]}\" for {col.name} ({col.description[:60]})")
    if col.type is ColumnType.LIST_STRING and f.field_type == "checkbox":
        lines.append(f"{ind}{col.name}:")
        lines += [f"{ind}  op: checkbox_set", f"{ind}  field: {_q(f.name)}", f"{ind}  codes:"]
        lines += _code_lines(f, col, ind + "    ")
        return lines
    if col.type is ColumnType.BOOL and f.field_type == "checkbox":
        codes = [c for c, lab in f.choices.items() if tokens(lab) & {"yes", "true"}] or list(f.choices)[:1]
        lines.append(f"{ind}# TODO: which ticked choice(s) mean true?")
        lines.append(f"{ind}{col.name}: {{op: checkbox_bool, field: {_q(f.name)}, codes: "
                     f"[{', '.join(_q(c) for c in codes)}]}}")
        return lines
    if col.values is not None and f.choices:
        lines.append(f"{ind}{col.name}:")
        lines += [f"{ind}  op: map_values", f"{ind}  from: {_q(f.name)}", f"{ind}  values:"]
        lines += _code_lines(f, col, ind + "    ")
        return lines
    if col.values is not None:
        lines.append(f"{ind}# TODO: {f.name!r} has no choices; list its codes -> "
                     f"{', '.join(col.values[:8])}")
        lines.append(f"{ind}{col.name}: {{op: map_values, from: {_q(f.name)}, values: {{}}}}")
        return lines
    if f.comma_decimal:
        lines.append(f"{ind}# comma decimal field: read with ',' as decimal mark")
    if col.unit and f.label and re.search(r"°?\bF\b|fahrenheit", f.label, re.I) and col.unit == "°C":
        lines.append(f"{ind}# TODO: the label suggests °F: use convert_units (degF -> degC)")
    lines.append(f"{ind}{col.name}: {_q(f.name)}")
    return lines


def _code_lines(f: RedcapField, col: Column, ind: str) -> list[str]:
    out = []
    values = col.values or ()
    for code, label in f.choices.items():
        if not values:
            out.append(f"{ind}{_q(code)}: {_q(code)}  # TODO: {label!r}; no value set")
            continue
        v, s = best_value(label, code, values)
        todo = "" if s >= SURE else f"  # TODO: unsure ({s}) for {label!r}; one of {', '.join(values)}"
        out.append(f"{ind}{_q(code)}: {_q(v)}{todo}")
    return out


def draft_site_yaml(site_id: str, dictionary_name: str, d: RedcapDictionary) -> str:
    return "\n".join([
        "# yaml-language-server: $schema=../mapping.schema.json",
        f"# Draft made by `cart-registry mapping init` from {dictionary_name}: review every",
        "# TODO, then run `cart-registry mapping check " + site_id + " EXPORT_DIR`.",
        'mapping_version: "0.1.0"',
        "site:",
        f"  site_id: {site_id}",
        "  site_label: null  # TODO: the site's name",
        "  country: null  # TODO: ISO 3166-1 alpha-2, e.g. US",
        "  export_format: redcap_csv",
        "  date_shift_policy: none  # TODO: none | per_patient_shift | intervals_only",
        "  pseudonym_key_version: null",
        "  data_cutoff_date: 2000-01-01  # TODO: the site's data cut-off date",
        "reader:",
        "  kind: redcap",
        "  records: [records.csv]  # TODO: the records export file name(s) or glob",
        f"  dictionary: {_q(dictionary_name)}",
        "  encoding: detect",
        "  values: raw",
        "  missing_codes: []  # TODO: the project's missing-data codes, e.g. [UNK, NA]",
        "defaults:",
        '  date_formats: ["%Y-%m-%d"]',
        '  true_values: ["1"]',
        '  false_values: ["0"]',
        f"# record id field: {d.record_id}; forms: {', '.join(d.forms)}",
        "",
    ])


def draft_from_redcap(dictionary: Path, site_id: str, standard: Standard, *,
                      encoding: str = "detect") -> dict[str, str]:
    """File name -> YAML text of a drafted site mapping."""
    from cart_registry.readers.redcap import read_dictionary

    d = read_dictionary(dictionary, encoding=encoding)
    rid = d.record_id
    files = {"site.yaml": draft_site_yaml(site_id, dictionary.name, d)}
    by_form = {form: d.form_fields(form) for form in d.forms}
    for table in standard:
        if table.name in ("site", "car_construct"):
            continue
        scored = sorted(((_form_score(form, fs, table), form) for form, fs in by_form.items()),
                        reverse=True)
        if not scored or scored[0][0] < 0.35:
            continue
        score, form = scored[0]
        taken = {rid}
        lines = [
            "# yaml-language-server: $schema=../mapping.schema.json",
            f"# Draft from form {form!r} (match {score:.2f}); review every TODO.",
            f"table: {table.name}",
            "rules:",
            f"  - id: {re.sub(r'[^a-z0-9_]', '_', form.lower()).strip('_') or 'form'}",
            f"    source: {_q(form)}",
        ]
        if score < SURE:
            lines.insert(2, f"# TODO: unsure that form {form!r} holds {table.name} "
                            f"(score {score:.2f}); other forms: "
                            + ", ".join(f for _, f in scored[1:4]))
        lines.append("    columns:")
        body: list[str] = []
        for col in table.business_columns:
            body += _column_lines(table, col, by_form[form], rid, taken)
        lines += body
        files[f"{table.name}.yaml"] = "\n".join(lines) + "\n"
    return files


def write_draft(files: dict[str, str], out: Path, *, force: bool = False) -> list[Path]:
    """Write the draft files; refuse to overwrite existing ones unless ``force``."""
    from cart_registry.fsutil import write_text_atomic

    existing = [out / n for n in files if (out / n).exists()]
    if existing and not force:
        raise ConfigError(
            f"{out}: {len(existing)} mapping file(s) already exist (e.g. {existing[0].name}); "
            "refusing to overwrite",
            hint="use --force, or --out another folder",
        )
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files.items():
        write_text_atomic(out / name, text)
        written.append(out / name)
    return written
