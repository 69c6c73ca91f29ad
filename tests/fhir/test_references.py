"""Reference resolution: the forms FHIR allows, and no guessing (property tests included)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cart_registry.fhir.records import Located
from cart_registry.fhir.references import ReferenceIndex

ids = st.from_regex(r"[A-Za-z0-9\-.]{1,20}", fullmatch=True)
types = st.sampled_from(["Patient", "Procedure", "Observation", "AdverseEvent"])


def loc(rtype: str, rid: str | None, full_url: str | None = None, version: str | None = None,
        **extra: object) -> Located:
    res: dict[str, object] = {"resourceType": rtype, **extra}
    if rid is not None:
        res["id"] = rid
    if version is not None:
        res["meta"] = {"versionId": version}
    return Located(res, "f.json", 0, full_url)


def test_relative_urn_absolute_and_contained() -> None:
    pat = loc("Patient", "p1", "urn:uuid:11111111-1111-1111-1111-111111111111")
    rest = loc("Procedure", "x1", "http://ex.org/fhir/Procedure/x1")
    obs = loc("Observation", "o1", "http://ex.org/fhir/Observation/o1",
              contained=[{"resourceType": "Specimen", "id": "s1"}])
    idx = ReferenceIndex([pat, rest, obs])
    assert idx.resolve("Patient/p1", obs).target is pat
    assert idx.resolve("urn:uuid:11111111-1111-1111-1111-111111111111", obs).target is pat
    assert idx.resolve("http://ex.org/fhir/Procedure/x1", obs).target is rest
    assert idx.resolve("Procedure/x1", obs).target is rest  # via the entry's RESTful base
    contained = idx.resolve("#s1", obs)
    assert contained.ok and contained.target and contained.target.type == "Specimen"
    assert idx.resolve("#", obs).target is obs
    assert idx.resolve("#nope", obs).status == "unresolved"
    assert idx.resolve("http://other.org/Patient/p1", obs).status == "unresolved"
    assert idx.resolve("Patient/p1", obs, ["Procedure"]).status == "unresolved"


def test_versions_and_ambiguity() -> None:
    v1 = loc("Observation", "o", "http://ex.org/Observation/o", version="1")
    v2 = loc("Observation", "o", "http://ex.org/Observation/o", version="2")
    src = loc("Composition", "c", "http://ex.org/Composition/c")
    idx = ReferenceIndex([v1, v2, src])
    assert idx.resolve("Observation/o/_history/2", src).target is v2
    assert idx.resolve("Observation/o/_history/3", src).status == "unresolved"
    assert idx.resolve("Observation/o", src).status == "ambiguous"
    assert idx.duplicates() == []  # two versions of one resource are not duplicates


@settings(max_examples=200)
@given(entries=st.lists(st.tuples(types, ids), min_size=1, max_size=12),
       probe=st.tuples(types, ids))
def test_relative_references_resolve_exactly_by_type_and_id(
        entries: list[tuple[str, str]], probe: tuple[str, str]) -> None:
    locs = [loc(t, i) for t, i in entries]
    idx = ReferenceIndex(locs)
    src = loc("Observation", "src-only")
    matches = [x for x in locs if (x.type, x.id) == probe]
    r = idx.resolve(f"{probe[0]}/{probe[1]}", src)
    if not matches:
        assert r.status == "unresolved" and r.target is None
    elif len(matches) == 1:
        assert r.ok and r.target is matches[0]
    else:
        assert r.status == "ambiguous" and r.target is None


@settings(max_examples=200)
@given(uuids=st.lists(st.uuids(), min_size=1, max_size=8, unique=True), pick=st.integers(0, 7),
       dup=st.booleans())
def test_urn_references_need_the_exact_full_url(uuids: list[object], pick: int,
                                                dup: bool) -> None:
    locs = [loc("Patient", None, f"urn:uuid:{u}") for u in uuids]
    if dup:
        locs.append(loc("Patient", None, f"urn:uuid:{uuids[0]}"))
    idx = ReferenceIndex(locs)
    u = uuids[pick % len(uuids)]
    r = idx.resolve(f"urn:uuid:{u}", locs[0])
    if dup and u == uuids[0]:
        assert r.status == "ambiguous"
    else:
        assert r.ok and r.target is not None and r.target.full_url == f"urn:uuid:{u}"
        assert r.target.key == f"Patient/{u}"  # no id: the urn stands for it


@given(text=st.text(max_size=30))
def test_any_text_resolves_or_is_reported(text: str) -> None:
    idx = ReferenceIndex([loc("Patient", "p")])
    r = idx.resolve(text, loc("Observation", "o"))  # never raises
    assert r.status in ("ok", "unresolved", "ambiguous")
    assert (r.target is not None) == r.ok
