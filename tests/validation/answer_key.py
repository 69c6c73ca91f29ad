"""Match validation issues to the synthetic generator's answer key.

``sample_exports/with_defects/answer_key.csv`` lists every injected defect with its site,
record (REDCap record_id, EDC SUBJID, FHIR ResourceType/id), field (the site's own field or
FHIR element path) and rule tag. An issue matches a defect when site, record, field and rule
agree: the issue's rule answers to the tag (catalog ``answer_key_tags``, which include the
rule's domain numbers R01..R21), one of the issue's record locators is the defect's record
and one of its source fields is the defect's field.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class KeyRow:
    defect_id: str
    site_id: str
    source_file: str
    record: str
    field: str
    rule: str
    also_trips: tuple[str, ...]
    description: str


def read_key(path: Path) -> list[KeyRow]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [
            KeyRow(r["defect_id"], r["site_id"], r["source_file"], r["record"], r["field"],
                   r["rule"], tuple(t for t in r.get("also_trips", "").split(";") if t),
                   r["description"])
            for r in csv.DictReader(fh)
        ]


def records_of(issue: dict[str, Any]) -> set[str]:
    src = issue["source"]
    out = {src.get("record_id"), issue.get("patient")}
    fhir = src.get("fhir") or {}
    if fhir.get("resource_type"):
        out.add(f"{fhir['resource_type']}/{fhir['id']}")
    if issue.get("patient") and "-" in issue["patient"]:
        out.add(issue["patient"].split("-", 1)[1])  # '<site>-<local id>' -> local id
    for part in (src.get("locator") or "").split("|"):
        if part.startswith("record="):
            out.add(part[7:])
    return {x for x in out if x}


def norm_field(f: str) -> str:
    """FHIR element paths: drop slice filters ('coding[system=…].code' = 'coding.code')."""
    return re.sub(r"\[[^\]]*\]|\([^)]*\)", "", f.strip())


def fields_of(issue: dict[str, Any]) -> set[str]:
    f = issue["source"].get("field") or ""
    return {norm_field(x) for x in f.split(" + ") if x.strip()}


def matches(issue: dict[str, Any], key: KeyRow, tags: dict[str, tuple[str, ...]]) -> bool:
    """Site, record, field and rule agree.

    A row-level issue (a line that cannot be split into fields, a resource that cannot be
    parsed or resolved) has no field, and a row-level defect may name none: then the field
    cannot disagree and site, record and rule decide. An issue may name an element inside
    the defect's (``Observation.subject.reference`` for ``Observation.subject``). A file that
    cannot be parsed at all names no record, so its file decides.
    """
    fields = fields_of(issue)
    records = records_of(issue)
    # a file that cannot be parsed at all names no record: the file itself is the location
    whole_file = not records and issue["source"].get("file") == key.source_file
    return (
        issue["site_id"] == key.site_id
        and key.rule in tags.get(issue["rule"]["id"], ())
        and (key.record in records or whole_file)
        and (not key.field or not fields
             or any(f == want or f.startswith(want + ".") for want in [norm_field(key.field)]
                    for f in fields))
    )


def score(
    issues: list[dict[str, Any]], key: list[KeyRow], tags: dict[str, tuple[str, ...]]
) -> tuple[dict[str, bool], Counter[str], Counter[str]]:
    """(found per defect id, true positives per rule, false alarms per rule).

    FHIR defects are listed once per form that carries them; the defect counts as found
    when any of its rows is matched. A false alarm is an issue of a rule that matches no
    defect's primary rule or ``also_trips`` at the same record.
    """
    found: dict[str, bool] = {}
    tp: Counter[str] = Counter()
    matched_ids: set[int] = set()
    for k in key:
        hit = [i for i in issues if matches(i, k, tags)]
        found[k.defect_id] = found.get(k.defect_id, False) or bool(hit)
        for i in hit:
            if id(i) not in matched_ids:
                tp[i["rule"]["id"]] += 1
                matched_ids.add(id(i))
    fa: Counter[str] = Counter()
    explained = {(k.site_id, k.record) for k in key}
    for i in issues:
        if id(i) in matched_ids:
            continue
        near = any((i["site_id"], r) in explained for r in records_of(i))
        fa[i["rule"]["id"] + (" (same record as a defect)" if near else "")] += 1
    return found, tp, fa
