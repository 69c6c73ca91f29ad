"""JSON files of a FHIR submission: a Bundle (any R4 type) or one bare resource.

A Bundle file is parsed whole (``max_file_bytes`` bounds it): per-patient Bundles are small,
and a JSON document cannot be split without a streaming parser. Its *rows* are its entries,
numbered from 0 as ``Bundle.entry[i]``; a bare resource file is one row, 0. Problems of the
Bundle itself (``Bundle.type``, a relative ``fullUrl``, a repeated ``self`` link, nulls in the
shell) are marked ``scope='bundle'``: they make the file invalid for a validator but do not
change any entry's data, so ingest reports them without quarantining entries.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cart_registry.fhir.fhirtypes import STATUS_CODES, URI_SCHEME_RE
from cart_registry.fhir.jsonio import parse
from cart_registry.fhir.records import Located, Problem
from cart_registry.fhir.structure import check_json_shape

#: largest JSON file read whole
MAX_FILE_BYTES = 512 << 20
_UNIQUE_LINKS = ("self", "first", "previous", "next", "last")


@dataclass
class JsonFileRead:
    file: str
    rows_read: int = 0
    entries: list[Located] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    #: rows that could not be used at all (they count as quarantined)
    bad_rows: set[int | None] = field(default_factory=set)
    #: rows that hold nothing to map, per reason
    ignored: Counter[str] = field(default_factory=Counter)
    is_bundle: bool = False
    bundle_type: str | None = None

    def problem(self, row: int | None, key: str | None, path: str | None, code: str,
                message: str, *, value: str | None = None, scope: str = "entry") -> None:
        self.problems.append(Problem(self.file, row, key, path, code, message, "error", value,
                                     {"scope": scope}))


def read_json_file(path: Path, rel: str, *, max_file_bytes: int = MAX_FILE_BYTES) -> JsonFileRead:
    out = JsonFileRead(file=rel)
    size = path.stat().st_size
    if size > max_file_bytes:
        out.rows_read = 1
        out.bad_rows.add(None)
        out.problem(None, None, None, "file_too_large",
                    f"{size} bytes is over the {max_file_bytes}-byte limit for one JSON file "
                    "(send large exports as Bulk NDJSON)", scope="file")
        return out
    value, fault = parse(path.read_bytes())
    if fault is not None:
        out.rows_read = 1
        out.bad_rows.add(None)
        out.problem(None, None, None, "invalid_json", str(fault), scope="file")
        return out
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        out.rows_read = 1
        out.bad_rows.add(None)
        out.problem(None, None, None, "not_a_resource",
                    "the file holds no FHIR resource (no resourceType)", scope="file")
        return out
    if value["resourceType"] != "Bundle":
        out.rows_read = 1
        out.entries.append(Located(value, rel, 0))
        return out
    _read_bundle(value, out)
    return out


def _read_bundle(bundle: dict[str, Any], out: JsonFileRead) -> None:
    out.is_bundle = True
    bkey = f"Bundle/{bundle['id']}" if isinstance(bundle.get("id"), str) else None
    btype = bundle.get("type")
    out.bundle_type = btype if isinstance(btype, str) else None
    if btype is None:
        out.problem(None, bkey, "Bundle.type", "missing_required",
                    "Bundle.type: minimum required = 1, but only found 0", scope="bundle")
    elif btype not in STATUS_CODES["Bundle.type"]:
        out.problem(None, bkey, "Bundle.type", "not_in_value_set",
                    f"{btype!r} is not a Bundle type", value=str(btype), scope="bundle")
    shell = {k: v for k, v in bundle.items() if k != "entry"}
    for p, code, msg, val in check_json_shape(shell, "Bundle"):
        out.problem(None, bkey, p, code, msg, value=val, scope="bundle")
    links = bundle.get("link")
    if isinstance(links, list):
        seen: set[str] = set()
        for i, link in enumerate(links):
            rel = link.get("relation") if isinstance(link, dict) else None
            if rel in _UNIQUE_LINKS and rel in seen:
                out.problem(None, bkey, f"Bundle.link[{i}]", "bundle_structure",
                            f"the link relation {rel!r} can only occur once", scope="bundle")
            if isinstance(rel, str):
                seen.add(rel)
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        out.rows_read = 1
        out.bad_rows.add(None)
        out.problem(None, bkey, "Bundle.entry", "invalid_type",
                    "Bundle.entry must be a JSON array", scope="file")
        return
    out.rows_read = len(entries)
    for i, entry in enumerate(entries):
        epath = f"Bundle.entry[{i}]"
        if not isinstance(entry, dict):
            out.bad_rows.add(i)
            out.problem(i, None, epath, "invalid_type", "a Bundle entry must be a JSON object")
            continue
        full_url = entry.get("fullUrl")
        if full_url is not None and (not isinstance(full_url, str)
                                     or not URI_SCHEME_RE.match(full_url)):
            out.problem(i, None, f"{epath}.fullUrl", "bundle_structure",
                        f"the fullUrl must be an absolute URL (not {full_url!r})",
                        value=str(full_url), scope="bundle")
            full_url = None
        eshell = {k: v for k, v in entry.items() if k != "resource"}
        for p, code, msg, val in check_json_shape(eshell, epath)[:20]:
            if p != f"{epath}.id":
                out.problem(i, None, p, code, msg, value=val, scope="bundle")
        res = entry.get("resource")
        if res is None:
            method = (entry.get("request") or {}).get("method") \
                if isinstance(entry.get("request"), dict) else None
            out.ignored[f"entry without a resource ({method or 'no request'}): Bundle"] += 1
            continue
        if not isinstance(res, dict) or not isinstance(res.get("resourceType"), str):
            out.bad_rows.add(i)
            out.problem(i, None, f"{epath}.resource", "not_a_resource",
                        "the entry's resource has no resourceType")
            continue
        out.entries.append(Located(res, out.file, i, full_url))
