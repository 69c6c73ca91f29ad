"""De-identify a FHIR export (Bundles and Bulk NDJSON), walking each resource once.

Three passes over the files, none holding more than one Bundle or one line at a time:

1. the registry's own FHIR reader finds what the mapping reads (first CAR T infusion per
   patient, free-text cells) exactly as ingest will;
2. a scan attributes every resource to its patient (``subject``, ``patient`` or any reference
   to a Patient, directly or through the resource it points to) and records its dates;
3. every resource is rewritten: ids and references pseudonymised consistently (a Patient id
   becomes the patient's pseudonym, any other id a keyed UUID), every date moved by the
   patient's offset, identifiers, names, contact details, narrative and notes removed.

Resources of types the registry does not read are left out (minimum necessary). A resource
whose patient cannot be told keeps no date. A line or file that is not JSON cannot be
de-identified and stops the run with its location.
"""

from __future__ import annotations

import datetime as dt
import gzip
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from cart_registry.deid.keys import SiteKey
from cart_registry.deid.spec import DeidentifySpec
from cart_registry.errors import InputError
from cart_registry.fhir import fhirtypes as ft

if TYPE_CHECKING:
    import polars as pl

    from cart_registry.fhir.options import FhirOptions

#: resource types the registry reads (docs/fhir-profile.md); others are not sent
REGISTRY_TYPES = ("Patient", "Condition", "Procedure", "Observation", "MedicationAdministration",
                  "AdverseEvent", "BiologicallyDerivedProduct")
#: Patient elements that identify or locate the person (HIPAA direct identifiers)
PATIENT_DIRECT = ("name", "telecom", "address", "photo", "contact", "communication")
#: deeper than this is not a clinical resource; refusing it keeps the walk bounded
MAX_DEPTH = 64
#: element names whose string value is a date whatever it looks like
_DATE_KEYS = frozenset({"birthDate", "date", "issued", "lastUpdated", "recordedDate",
                        "authoredOn", "recorded", "created", "timestamp", "start", "end",
                        "whenHandedOver", "whenPrepared", "dateAsserted", "detected"})
#: element names whose string is never a date to shift (codes, ids, URIs)
_NOT_DATES = frozenset({"id", "system", "url", "code", "version", "reference", "fullUrl",
                        "div", "resourceType", "status", "unit"})
_REL_RE = re.compile(r"^(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-\.]{1,64})"
                     r"(?P<hist>/_history/[A-Za-z0-9\-\.]{1,64})?$")
_ABS_RE = re.compile(r"^(?P<base>[A-Za-z][A-Za-z0-9+.\-]*://.+?)/(?P<type>[A-Z][A-Za-z]+)/"
                     r"(?P<id>[A-Za-z0-9\-\.]{1,64})(?P<hist>/_history/[A-Za-z0-9\-\.]{1,64})?$")
_DROP = object()
Target = tuple[str | None, str]  # (resource type or None for an unknown urn, id)


def _is_date_key(key: str) -> bool:
    return key in _DATE_KEYS or key.endswith(("DateTime", "Date", "Instant"))


def _looks_like_date(key: str, value: str) -> bool:
    if key in _NOT_DATES or not value[:1].isdigit():
        return False
    if not (ft.is_datetime(value) or ft.is_instant(value)):
        return False
    # a bare year or year-month is a date only where the element is one
    return len(value) >= 10 or _is_date_key(key)


def _full_date(value: str) -> dt.date | None:
    if len(value) < 10:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def shift_text(value: str, offset: int, cap: dt.date | None = None) -> str | None:
    """A FHIR date/dateTime moved by ``offset`` days, precision and time kept (partial dates
    move through the middle of their period). None when the result leaves the calendar."""
    try:
        if len(value) >= 10:
            day = dt.date.fromisoformat(value[:10])
            rest = value[10:]
        elif len(value) == 7:
            day, rest = dt.date(int(value[:4]), int(value[5:7]), 15), ""
        else:
            day, rest = dt.date(int(value[:4]), 7, 1), ""
        if cap is not None and day < cap:
            day = cap
        new = day + dt.timedelta(days=offset)
    except (ValueError, OverflowError):
        return None
    if len(value) >= 10:
        return new.isoformat() + rest
    if len(value) == 7:
        return f"{new.year:04d}-{new.month:02d}"
    return f"{new.year:04d}"


# ------------------------------------------------------------------------------ reading
@dataclass
class _File:
    rel: str
    path: Path
    kind: str  # 'json' | 'ndjson'


def _json_file(path: Path, rel: str, max_bytes: int) -> Any:
    from cart_registry.fhir.jsonio import parse

    if path.stat().st_size > max_bytes:
        raise InputError(f"{rel}: larger than {max_bytes} bytes; cannot be de-identified whole",
                         hint="send large exports as Bulk NDJSON")
    value, fault = parse(path.read_bytes())
    if fault is not None:
        raise InputError(f"{rel}: {fault}; a file that is not JSON cannot be de-identified")
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        raise InputError(f"{rel}: not a FHIR resource or Bundle (no resourceType)")
    return value


def _ndjson_lines(path: Path, rel: str, opts: FhirOptions) -> Iterator[dict[str, Any]]:
    from cart_registry.fhir.ndjson import iter_ndjson, open_binary

    fh = open_binary(path, max_decompressed_bytes=opts.max_decompressed_bytes, name=rel)
    try:
        for item in iter_ndjson(fh):
            if item.value is None:
                raise InputError(f"{rel}: line {item.line}: {item.fault}; a line that cannot be "
                                 "read cannot be de-identified",
                                 hint="fix the export (or export it again) first")
            if not isinstance(item.value.get("resourceType"), str):
                raise InputError(f"{rel}: line {item.line}: not a FHIR resource "
                                 "(no resourceType)")
            yield item.value
    finally:
        fh.close()


def _entries(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    entries = bundle.get("entry")
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


# ------------------------------------------------------------------------------ attribution
class _Attribution:
    """Which patient each resource belongs to (original Patient ids)."""

    def __init__(self) -> None:
        self.full_urls: dict[str, tuple[str, str]] = {}
        self.direct: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.links: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
        self.resolved: dict[tuple[str, str], set[str]] = {}

    def target(self, ref: str) -> Target | None:
        if ref.startswith("urn:uuid:") or ref.startswith("urn:oid:"):
            hit = self.full_urls.get(ref)
            return hit if hit else (None, ref)
        m = _REL_RE.match(ref) or _ABS_RE.match(ref)
        if m:
            return m.group("type"), m.group("id")
        hit = self.full_urls.get(ref)
        return hit if hit else None

    def patients_of(self, res: dict[str, Any], refs: list[str]) -> set[str]:
        if res.get("resourceType") == "Patient" and isinstance(res.get("id"), str):
            return {res["id"]}
        out: set[str] = set()
        for ref in refs:
            t = self.target(ref)
            if t is not None and t[0] == "Patient":
                out.add(t[1])
        return out

    def note(self, res: dict[str, Any], refs: list[str]) -> None:
        rtype, rid = res.get("resourceType"), res.get("id")
        if not isinstance(rtype, str) or not isinstance(rid, str):
            return
        key = (rtype, rid)
        self.direct[key] |= self.patients_of(res, refs)
        for ref in refs:
            t = self.target(ref)
            if t is not None and t[0] not in (None, "Patient"):
                self.links[key].add((str(t[0]), t[1]))

    def resolve(self) -> None:
        self.resolved = {k: set(v) for k, v in self.direct.items()}
        for _ in range(3):  # a grade Observation -> its AdverseEvent -> the Patient
            changed = False
            for key, targets in self.links.items():
                if self.resolved.get(key):
                    continue
                found: set[str] = set()
                for t in targets:
                    found |= self.resolved.get(t, set())
                if found:
                    self.resolved[key] = found
                    changed = True
            if not changed:
                break

    def patient(self, res: dict[str, Any], refs: list[str]) -> str | None:
        rtype, rid = res.get("resourceType"), res.get("id")
        pats: set[str] = set()
        if isinstance(rtype, str) and isinstance(rid, str):
            pats = self.resolved.get((rtype, rid), set())
        if not pats:
            pats = self.patients_of(res, refs)
        return next(iter(pats)) if len(pats) == 1 else None


def _walk_strings(node: Any, depth: int, out: Callable[[str, str], None], key: str = "") -> None:
    """Call ``out(key, value)`` for every string in a JSON value (bounded depth)."""
    if depth > MAX_DEPTH:
        raise InputError(f"a resource is nested deeper than {MAX_DEPTH} levels; not FHIR")
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "contained":
                continue  # contained resources belong to their container, refs are local
            _walk_strings(v, depth + 1, out, str(k))
    elif isinstance(node, list):
        for v in node:
            _walk_strings(v, depth + 1, out, key)
    elif isinstance(node, str):
        out(key, node)


def _refs_and_dates(res: dict[str, Any]) -> tuple[list[str], list[dt.date]]:
    refs: list[str] = []
    dates: list[dt.date] = []

    def visit(key: str, value: str) -> None:
        if key == "reference":
            refs.append(value)
        elif _looks_like_date(key, value):
            d = _full_date(value)
            if d is not None:
                dates.append(d)

    _walk_strings(res, 0, visit)
    return refs, dates


# ------------------------------------------------------------------------------ rewriting
@dataclass
class _Rewriter:
    key: SiteKey
    spec: DeidentifySpec
    offsets: dict[str, int]
    caps: dict[str, dt.date]
    attribution: _Attribution
    pseudonym_system: str | None
    free_text_paths: dict[tuple[str, str], list[list[str]]]
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)

    def count(self, where: str, what: str, n: int = 1) -> None:
        self.counts[(where, what)] += n

    def new_id(self, rtype: str | None, old: str) -> str:
        return self.key.local_pseudonym(old) if rtype == "Patient" else self.key.resource_id(old)

    def reference(self, ref: str, where: str) -> str:
        if ref.startswith("#"):
            return ref
        if ref.startswith("urn:uuid:"):
            return "urn:uuid:" + self.key.resource_id(ref[9:])
        m = _REL_RE.match(ref)
        if m:
            return f"{m.group('type')}/{self.new_id(m.group('type'), m.group('id'))}" + (
                m.group("hist") or "")
        m = _ABS_RE.match(ref)
        if m:
            return (f"{m.group('base')}/{m.group('type')}/"
                    f"{self.new_id(m.group('type'), m.group('id'))}{m.group('hist') or ''}")
        # a conditional reference (Patient?identifier=mrn|123), an oid, anything else may
        # carry an identifier: it becomes an opaque keyed urn
        self.count(where, "reference_replaced")
        return "urn:uuid:" + self.key.resource_id("ref:" + ref)

    def resource(self, res: dict[str, Any], patient: str | None) -> dict[str, Any]:
        rtype = str(res.get("resourceType"))
        rid = res.get("id")
        body = dict(res)
        if rtype == "Patient":
            for k in PATIENT_DIRECT:
                if k in body:
                    del body[k]
                    self.count(f"Patient.{k}", "removed")
            idents = body.pop("identifier", None)
            kept = self._patient_identifiers(idents, str(rid) if isinstance(rid, str) else "")
            if kept:
                body["identifier"] = kept
        for path in self.spec.direct_identifiers:
            tname, _, rest = path.partition(".")
            if rest and tname in (rtype, "*"):
                n = _remove_path(body, rest.split("."))
                if n:
                    self.count(f"{rtype}.{rest}", "removed", n)
        if isinstance(rid, str):
            for parts in self.free_text_paths.get((rtype, rid), []):
                if self.spec.free_text_action == "drop":
                    n = _remove_path(body, parts)
                    if n:
                        self.count(f"{rtype}.{'.'.join(parts)}", "free_text_removed", n)
                else:
                    self.count(f"{rtype}.{'.'.join(parts)}", "flagged_free_text")
        offset = self.offsets.get(patient) if patient is not None else None
        cap = self.caps.get(patient) if patient is not None and rtype == "Patient" else None
        out = self.node(body, rtype, offset, cap, 0, top=True)
        assert isinstance(out, dict)
        return out

    def _patient_identifiers(self, idents: Any, rid: str) -> list[dict[str, Any]]:
        """Only the registry pseudonym identifier survives, with the pseudonym as value."""
        kept: list[dict[str, Any]] = []
        for ident in idents if isinstance(idents, list) else []:
            system = ident.get("system") if isinstance(ident, dict) else None
            if self.pseudonym_system and system == self.pseudonym_system and rid:
                kept.append({"system": system, "value": self.key.local_pseudonym(rid)})
                self.count("Patient.identifier", "pseudonymised")
            else:
                self.count("Patient.identifier", "removed")
        return kept

    def node(self, value: Any, where: str, offset: int | None, cap: dt.date | None,
             depth: int, key: str = "", top: bool = False) -> Any:
        if depth > MAX_DEPTH:
            raise InputError(f"a {where} resource is nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, dict):
            return self.obj(value, where, offset, cap, depth, top)
        if isinstance(value, list):
            items = [self.node(v, where, offset, cap, depth + 1, key) for v in value]
            return [v for v in items if v is not _DROP] or _DROP
        if isinstance(value, str) and _looks_like_date(key, value):
            path = f"{where}.{key}"
            if offset is None:
                self.count(path, "removed_no_patient")
                return _DROP
            new = shift_text(value, offset, cap if key == "birthDate" else None)
            if new is None:
                self.count(path, "removed_out_of_calendar")
                return _DROP
            if key == "birthDate" and cap is not None and (_full_date(value) or cap) < cap:
                self.count(path, "age_capped")
            self.count(path, "date_shifted")
            return new
        return value

    def obj(self, value: dict[str, Any], where: str, offset: int | None, cap: dt.date | None,
            depth: int, top: bool) -> Any:
        out: dict[str, Any] = {}
        is_reference = "reference" in value and isinstance(value.get("reference"), str)
        for k, v in value.items():
            path = f"{where}.{k}"
            if top and k == "id" and isinstance(v, str):
                out[k] = self.new_id(where, v)
                self.count(path, "pseudonymised")
                continue
            if k == "reference" and isinstance(v, str):
                out[k] = self.reference(v, path)
                continue
            if k == "identifier" and not (top and where == "Patient"):
                # the Patient's own identifiers were filtered in resource()
                self.count(path, "removed")
                continue
            if is_reference and k == "display":
                self.count(path, "removed")  # a reference's display may be the patient's name
                continue
            if (k == "text" and isinstance(v, dict) and "div" in v) or k == "note":
                if self.spec.free_text_action == "drop":
                    self.count(path, "free_text_removed")
                    continue
                self.count(path, "flagged_free_text")
            if k == "contained" and isinstance(v, list):
                out[k] = [self.node(c, str(c.get("resourceType", where))
                                    if isinstance(c, dict) else where, offset, None, depth + 1)
                          for c in v]
                continue
            new = self.node(v, where, offset, cap, depth + 1, k)
            if new is not _DROP:
                out[k] = new
        return out or _DROP


def _remove_path(node: Any, parts: list[str]) -> int:
    """Remove ``a.b.c`` (arrays traversed, ``[filter]`` ignored) from a resource; how many."""
    if not parts:
        return 0
    name = parts[0].split("[", 1)[0]
    if isinstance(node, list):
        return sum(_remove_path(n, parts) for n in node)
    if not isinstance(node, dict) or name not in node:
        return 0
    if len(parts) == 1:
        del node[name]
        return 1
    return _remove_path(node[name], parts[1:])


# ------------------------------------------------------------------------------ driver
@dataclass
class FhirOutcome:
    patients: pl.DataFrame
    counts: dict[str, dict[str, int]]
    dropped_types: dict[str, int]
    files: dict[str, int]
    renamed: int


def deidentify_fhir(
    export_dir: Path,
    opts: FhirOptions,
    *,
    key: SiteKey,
    spec: DeidentifySpec,
    free_text_columns: dict[str, set[str]],
    make_patients: Callable[[pl.Series, pl.DataFrame], pl.DataFrame],
    write: Callable[[str, bytes], None],
) -> FhirOutcome:
    import polars as pl

    from cart_registry.deid.patients import BIRTH, INFUSION, OTHER
    from cart_registry.fhir.export import BULK_MANIFEST, list_files, read_export

    keep_types = set(spec.fhir_resource_types or REGISTRY_TYPES)
    root = export_dir.resolve()
    files = [_File(p.relative_to(root).as_posix(), p,
                   "ndjson" if p.name.endswith((".ndjson", ".ndjson.gz")) else "json")
             for p in list_files(root, opts.form)]

    # 1. what the registry's reader takes from the export
    read = read_export(root, opts)
    anchors: list[tuple[str, dt.date, str]] = []
    for row in read.rows.get("fhir:infusion", []):
        d = _full_date(str(row.get("infusion_date") or ""))
        if d is not None and row.get("patient_id"):
            anchors.append((str(row["patient_id"]), d, INFUSION))
    free_text_paths: dict[tuple[str, str], list[list[str]]] = defaultdict(list)
    for table, rows in read.rows.items():
        for col in free_text_columns.get(table, set()) & set(read.paths.get(table, {})):
            parts = read.paths[table][col].split(".")[1:]
            for row in rows:
                skey = row.get("_source_key")
                if row.get(col) is not None and isinstance(skey, str) and "/" in skey:
                    rtype, rid = skey.split("/", 1)
                    free_text_paths[(rtype, rid)].append(parts)

    # 2. attribution and dates. Only Bundles have fullUrls (urn:uuid references): they are
    # indexed first. Dates of a resource whose patient is plain (subject: Patient/x) go
    # straight into that patient's facts; only the others wait for the link resolution.
    att = _Attribution()
    for f in files:
        if f.kind == "json":
            for res, full_url in _resources(f, opts):
                t, i = res.get("resourceType"), res.get("id")
                if full_url and isinstance(t, str) and isinstance(i, str):
                    att.full_urls[full_url] = (t, i)
    keys: set[str] = set()
    facts: list[tuple[str, dt.date, str]] = list(anchors)
    pending: list[tuple[dict[str, Any], list[str], list[dt.date]]] = []

    def add(pid: str, res: dict[str, Any], dates: list[dt.date]) -> None:
        keys.add(pid)
        if res.get("resourceType") == "Patient":
            b = _full_date(str(res.get("birthDate") or ""))
            if b is not None:
                facts.append((pid, b, BIRTH))
            dates = [d for d in dates if d != b]
        if dates:
            facts.extend([(pid, min(dates), OTHER), (pid, max(dates), OTHER)])

    for f in files:
        for res, _ in _resources(f, opts):
            refs, dates = _refs_and_dates(res)
            att.note(res, refs)
            direct = att.patients_of(res, refs)
            if len(direct) == 1:
                add(next(iter(direct)), res, dates)
            elif not direct:
                pending.append(({"resourceType": res.get("resourceType"),
                                 "id": res.get("id")}, refs,
                                [min(dates), max(dates)] if dates else []))
    att.resolve()
    for stub, refs, dates in pending:
        pid = att.patient(stub, refs)
        if pid is not None:
            add(pid, stub, dates)
    pending.clear()
    patients = make_patients(
        pl.Series("key", sorted(keys), dtype=pl.String),
        pl.DataFrame(facts, schema={"key": pl.String, "date": pl.Date, "role": pl.String},
                     orient="row"),
    )
    offsets = dict(zip(patients.get_column("key").to_list(),
                       patients.get_column("offset").to_list(), strict=True))
    caps = {k: c for k, c, capped in patients.select("key", "birth_cap", "birth_capped")
            .iter_rows() if capped}

    # 3. rewrite
    rw = _Rewriter(key, spec, offsets, caps, att, opts.conventions.pseudonym_system,
                   dict(free_text_paths))
    dropped: Counter[str] = Counter()
    written: dict[str, int] = {}
    used_names: set[str] = set()
    renamed = 0
    for f in files:
        if f.kind == "ndjson":
            lines: list[bytes] = []
            for res in _ndjson_lines(f.path, f.rel, opts):
                rtype = str(res["resourceType"])
                if rtype not in keep_types:
                    dropped[rtype] += 1
                    continue
                refs, _ = _refs_and_dates(res)
                lines.append(orjson.dumps(rw.resource(res, att.patient(res, refs))))
            if not lines:
                continue
            data = b"\n".join(lines) + b"\n"
            if f.rel.endswith(".gz"):
                data = gzip.compress(data, mtime=0)
            write(f.rel, data)
            written[f.rel] = len(lines)
            continue
        doc = _json_file(f.path, f.rel, opts.max_file_bytes)
        out_doc, pid = _rewrite_json(doc, rw, att, keep_types, dropped)
        if out_doc is None:
            continue
        folder = f.rel.rsplit("/", 1)[0] + "/" if "/" in f.rel else ""
        stem = key.local_pseudonym(pid) if pid else f"fhir-{key.token('file', f.rel)}"
        name = f"{folder}{stem}.json"
        if name in used_names:
            name = f"{folder}{stem}-{key.token('file', f.rel, 8)}.json"
        used_names.add(name)
        renamed += name != f.rel
        write(name, orjson.dumps(out_doc, option=orjson.OPT_INDENT_2))
        written[name] = len(_entries(out_doc)) if out_doc.get("resourceType") == "Bundle" else 1
    for manifest in sorted(root.rglob(BULK_MANIFEST)):
        rel = manifest.relative_to(root).as_posix()
        write(rel, _bulk_manifest(manifest, rel, written))
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for (where, what), n in sorted(rw.counts.items()):
        counts[where][what] = n
    return FhirOutcome(patients, dict(counts), dict(dropped), written, renamed)


def _resources(f: _File, opts: FhirOptions) -> Iterator[tuple[dict[str, Any], str | None]]:
    """(resource, fullUrl) of every resource in a file (Bundle entries or NDJSON lines)."""
    if f.kind == "ndjson":
        for res in _ndjson_lines(f.path, f.rel, opts):
            yield res, None
        return
    doc = _json_file(f.path, f.rel, opts.max_file_bytes)
    if doc.get("resourceType") != "Bundle":
        yield doc, None
        return
    for e in _entries(doc):
        entry_res = e.get("resource")
        if isinstance(entry_res, dict):
            url = e.get("fullUrl")
            yield entry_res, url if isinstance(url, str) else None


def _rewrite_json(doc: dict[str, Any], rw: _Rewriter, att: _Attribution, keep: set[str],
                  dropped: Counter[str]) -> tuple[dict[str, Any] | None, str | None]:
    """A Bundle (or bare resource) rewritten, and its single patient when it has one."""
    if doc.get("resourceType") != "Bundle":
        rtype = str(doc["resourceType"])
        if rtype not in keep:
            dropped[rtype] += 1
            return None, None
        refs, _ = _refs_and_dates(doc)
        pid = att.patient(doc, refs)
        return rw.resource(doc, pid), pid if rtype == "Patient" else None
    pats = {e["resource"]["id"] for e in _entries(doc)
            if isinstance(e.get("resource"), dict)
            and e["resource"].get("resourceType") == "Patient"
            and isinstance(e["resource"].get("id"), str)}
    pid = next(iter(pats)) if len(pats) == 1 else None
    entries = []
    for e in _entries(doc):
        res = e.get("resource")
        new: dict[str, Any] = {}
        if isinstance(e.get("fullUrl"), str):
            new["fullUrl"] = rw.reference(e["fullUrl"], "Bundle.entry.fullUrl")
        if isinstance(res, dict):
            rtype = str(res.get("resourceType"))
            if rtype not in keep:
                dropped[rtype] += 1
                continue
            refs, _ = _refs_and_dates(res)
            new["resource"] = rw.resource(res, att.patient(res, refs))
        request = e.get("request")
        if isinstance(request, dict):
            new["request"] = {k: (rw.reference(v, "Bundle.entry.request.url")
                                  if k == "url" and isinstance(v, str) else v)
                              for k, v in request.items() if k in ("method", "url")}
        entries.append(new)
    shell: dict[str, Any] = {"resourceType": "Bundle"}
    if isinstance(doc.get("id"), str):
        shell["id"] = rw.key.resource_id(doc["id"])
    if isinstance(doc.get("type"), str):
        shell["type"] = doc["type"]
    offset = rw.offsets.get(pid) if pid else None
    ts = doc.get("timestamp")
    if isinstance(ts, str) and offset is not None:
        moved = shift_text(ts, offset)
        if moved is not None:
            shell["timestamp"] = moved
    if entries:
        shell["entry"] = entries
    return shell, pid


def _bulk_manifest(path: Path, rel: str, written: dict[str, int]) -> bytes:
    """The Bulk ``manifest.json`` listing the files written, with their new counts."""
    try:
        body = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise InputError(f"{rel}: not valid JSON ({exc})") from None
    if not isinstance(body, dict):
        raise InputError(f"{rel}: not a Bulk Data manifest")
    folder = rel.rsplit("/", 1)[0] + "/" if "/" in rel else ""
    outputs = []
    listed = body.get("output")
    for item in listed if isinstance(listed, list) else []:
        url = item.get("url") if isinstance(item, dict) else None
        if not isinstance(url, str):
            continue
        name = folder + url.rstrip("/").rsplit("/", 1)[-1]
        if name in written:
            outputs.append({k: v for k, v in item.items() if k in ("type", "url")}
                           | {"count": written[name]})
    keep = {k: body[k] for k in ("transactionTime", "requiresAccessToken") if k in body}
    keep["request"] = "$export (de-identified copy)"
    keep["output"] = outputs
    keep["error"] = []
    return orjson.dumps(keep, option=orjson.OPT_INDENT_2)
