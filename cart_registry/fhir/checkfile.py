"""Validate one FHIR JSON file on its own, as the HL7 validator would (without terminology).

Used by ``cart-registry``-side checks of a site's sample files and by the tests that compare
our verdicts with the official Java validator's on HL7's own test cases. Unlike ingest, this
checks every resource of the file (not only those the registry keeps), every reference for
ambiguity and every local (``#id``) reference for its contained target. References to
resources outside the file are not errors: a file may point to a server.
"""

from __future__ import annotations

from pathlib import Path

from cart_registry.fhir.bundle import read_json_file
from cart_registry.fhir.jsonio import duplicate_keys
from cart_registry.fhir.records import Located, Problem
from cart_registry.fhir.references import ReferenceIndex, iter_references
from cart_registry.fhir.structure import check_invariants, check_json_shape


def check_resource(loc: Located, *, strict: bool) -> list[Problem]:
    """Structure, invariants and (optionally) the R4B model of one resource."""
    res = loc.resource
    findings = check_json_shape(res) + check_invariants(res)
    if strict:
        from cart_registry.fhir.strict import strict_check

        have = {(p, c) for p, c, _, _ in findings}
        findings += [f for f in strict_check(res) if (f[0], f[1]) not in have]
    return [Problem(loc.file, loc.row, loc.key, p, c, m, "error", v) for p, c, m, v in findings]


def check_file(path: Path, *, strict: bool = True, rel: str | None = None) -> list[Problem]:
    """Every error in one JSON file (empty list: the file is valid as far as we check)."""
    name = rel or path.name
    read = read_json_file(path, name)
    problems = list(read.problems)
    if any(p.reason_code in ("invalid_json", "file_too_large") for p in problems):
        return problems
    for key in duplicate_keys(path.read_bytes()):
        problems.append(Problem(name, None, None, None, "duplicate_key",
                                f"the property {key!r} occurs twice in one object"))
    index = ReferenceIndex(read.entries)
    for loc in read.entries:
        problems += check_resource(loc, strict=strict)
        for epath, ref in iter_references(loc.resource, loc.type):
            r = index.resolve(ref, loc)
            if r.status == "ambiguous" or (r.status == "unresolved" and ref.startswith("#")):
                code = "ambiguous_reference" if r.status == "ambiguous" else \
                    "unresolved_reference"
                problems.append(Problem(loc.file, loc.row, loc.key, epath, code, r.message,
                                        "error", ref))
    return problems
