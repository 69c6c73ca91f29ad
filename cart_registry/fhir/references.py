"""Resolving references inside one submission, without guessing.

Forms understood (R4 references.html and bundle.html "Resolving references in Bundles"):

* ``#id``: a resource contained in the referencing resource (``#`` alone: the container);
* ``urn:uuid:...`` / ``urn:oid:...``: the entry whose ``fullUrl`` is exactly that;
* absolute ``http(s)://base/Type/id[/_history/v]``: the entry with that ``fullUrl`` (and, with
  a version, the matching ``meta.versionId``);
* relative ``Type/id[/_history/v]``: first as an absolute URL on the base of the referencing
  entry's RESTful ``fullUrl`` (the Bundle rule), then by type and id across the submission
  (bulk files have no fullUrl, and the registry's Bundles use ``urn:uuid`` fullUrls).

The answer is one target, or a reason: ``unresolved`` (nothing matches, or only the wrong
version or type) or ``ambiguous`` (several resources match and nothing says which). A caller
turns those into ingest issues with reason codes ``unresolved_reference`` /
``ambiguous_reference``; no fallback picks one of several candidates.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from cart_registry.fhir.records import Located

_REL_RE = re.compile(
    r"^(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-\.]{1,64})"
    r"(?:/_history/(?P<version>[A-Za-z0-9\-\.]{1,64}))?$"
)
_ABS_RE = re.compile(
    r"^(?P<base>[A-Za-z][A-Za-z0-9+.\-]*://.+?)/(?P<type>[A-Z][A-Za-z]+)/"
    r"(?P<id>[A-Za-z0-9\-\.]{1,64})(?:/_history/(?P<version>[A-Za-z0-9\-\.]{1,64}))?$"
)

Status = Literal["ok", "unresolved", "ambiguous"]


@dataclass(frozen=True, slots=True)
class Resolution:
    status: Status
    target: Located | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _version(res: dict[str, Any]) -> str | None:
    meta = res.get("meta")
    v = meta.get("versionId") if isinstance(meta, dict) else None
    return v if isinstance(v, str) else None


def restful_base(full_url: str | None) -> str | None:
    """``http://x/fhir`` from ``http://x/fhir/Observation/1`` (None for urn: or odd URLs)."""
    if not full_url:
        return None
    m = _ABS_RE.match(full_url)
    return m.group("base") if m else None


class ReferenceIndex:
    """Resources of a submission by ``fullUrl`` and by ``(type, id)``."""

    def __init__(self, resources: Iterable[Located] = ()) -> None:
        self.by_url: dict[str, list[Located]] = defaultdict(list)
        self.by_key: dict[tuple[str, str], list[Located]] = defaultdict(list)
        for loc in resources:
            self.add(loc)

    def add(self, loc: Located) -> None:
        if loc.full_url:
            m = _ABS_RE.match(loc.full_url)
            url = (f"{m.group('base')}/{m.group('type')}/{m.group('id')}"
                   if m and m.group("version") else loc.full_url)
            self.by_url[url].append(loc)
        rid = loc.id
        if rid is None and loc.full_url and loc.full_url.startswith("urn:uuid:"):
            rid = loc.full_url[len("urn:uuid:"):]
        if rid is not None:
            self.by_key[(loc.type, rid)].append(loc)

    def duplicates(self) -> list[list[Located]]:
        """Groups of resources that share a type and id (each group > 1)."""
        out = []
        for group in self.by_key.values():
            if len(group) > 1:
                versions = {_version(g.resource) for g in group}
                if len(versions) < len(group):  # distinct versions of one resource are fine
                    out.append(group)
        return out

    # -- resolution ---------------------------------------------------------------------
    def resolve(self, ref: Any, source: Located, expected: Iterable[str] = ()) -> Resolution:
        """Resolve a reference string found in ``source``; ``expected`` limits target types."""
        if not isinstance(ref, str) or not ref:
            return Resolution("unresolved", message="the reference is empty or not a string")
        want = frozenset(expected)
        if ref.startswith("#"):
            return self._contained(ref[1:], source, want)
        if ref.startswith(("urn:uuid:", "urn:oid:")):
            return self._pick(self.by_url.get(ref, []), ref, None, want)
        m = _ABS_RE.match(ref)
        if m:
            url = f"{m.group('base')}/{m.group('type')}/{m.group('id')}"
            found = self.by_url.get(url, [])
            if found:
                return self._pick(found, ref, m.group("version"), want)
            return Resolution("unresolved", message=f"no resource in the submission has "
                              f"fullUrl {url!r}")
        m = _REL_RE.match(ref)
        if not m:
            return Resolution("unresolved", message=f"not a reference form this reader "
                              f"resolves: {ref!r}")
        rtype, rid, version = m.group("type"), m.group("id"), m.group("version")
        base = restful_base(source.full_url)
        if base is not None:
            found = self.by_url.get(f"{base}/{rtype}/{rid}", [])
            if found:
                return self._pick(found, ref, version, want)
        return self._pick(self.by_key.get((rtype, rid), []), ref, version, want)

    def _pick(self, found: list[Located], ref: str, version: str | None,
              want: frozenset[str]) -> Resolution:
        if version is not None:
            found = [f for f in found if _version(f.resource) == version]
            if not found:
                return Resolution("unresolved", message=f"no resource matches {ref!r} at "
                                  f"version {version}")
        if not found:
            return Resolution("unresolved", message=f"{ref!r} is not in the submission")
        if len(found) > 1:
            places = ", ".join(f"{f.file}#{f.row}" for f in found[:5])
            return Resolution("ambiguous", message=f"{len(found)} resources match {ref!r} "
                              f"({places})")
        target = found[0]
        if want and target.type not in want:
            return Resolution("unresolved", message=f"{ref!r} points to a {target.type}, "
                              f"expected {' or '.join(sorted(want))}")
        return Resolution("ok", target)

    def _contained(self, cid: str, source: Located, want: frozenset[str]) -> Resolution:
        if cid == "":
            return Resolution("ok", source)
        items = source.resource.get("contained")
        hits = [c for c in items if isinstance(c, dict) and c.get("id") == cid] \
            if isinstance(items, list) else []
        if not hits:
            return Resolution("unresolved", message=f"no contained resource with id {cid!r} "
                              "(ref-1: a local reference needs a contained resource)")
        if len(hits) > 1:
            return Resolution("ambiguous", message=f"{len(hits)} contained resources have "
                              f"id {cid!r}")
        target = Located(hits[0], source.file, source.row, None)
        if want and target.type not in want:
            return Resolution("unresolved", message=f"#{cid} is a {target.type}, expected "
                              f"{' or '.join(sorted(want))}")
        return Resolution("ok", target)


def iter_references(node: Any, path: str) -> Iterable[tuple[str, str]]:
    """Every ``reference`` string in a resource, with its element path (contained resources
    are skipped: they are checked as resources of their own)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "contained":
                continue
            if key == "reference" and isinstance(value, str):
                yield f"{path}.reference", value
            elif isinstance(value, dict | list):
                yield from iter_references(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from iter_references(item, f"{path}[{i}]")
