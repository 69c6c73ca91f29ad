"""The site key: pseudonyms, shifts and resource ids derived from it, and the key kept secret."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cart_registry.deid.crosswalk import rotation_map
from cart_registry.deid.keys import ENV_SITE_KEY, SiteKey, load_site_key
from cart_registry.errors import ConfigError
from tests.deid.support import SECRET, site_key
from tests.mapping.helpers import props

ids = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=40)


@props(200)
@given(local=ids, low=st.integers(1, 400), span=st.integers(0, 400))
def test_pseudonym_and_shift_are_deterministic_and_bounded(local: str, low: int, span: int
                                                           ) -> None:
    key = site_key()
    p = key.pseudonym("site_edc", local)
    assert re.fullmatch(r"site_edc-[A-Z2-7]{16}", p)
    assert p == site_key().pseudonym("site_edc", local)  # a re-extraction gives the same id
    shift = key.shift_days(local, low, low + span)
    assert -(low + span) <= shift <= -low  # always into the past, inside the range
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                        key.resource_id(local))


def test_ids_are_normalised_and_keys_differ() -> None:
    a, b = site_key(), site_key(SECRET + b"-rotated", "2025")
    assert a.pseudonym("s_x", " mrn001 ") == a.pseudonym("s_x", "MRN001")
    assert a.pseudonym("s_x", "MRN001") != b.pseudonym("s_x", "MRN001")
    assert a.check_value() != b.check_value() and re.fullmatch(r"[0-9a-f]{8}", a.check_value())
    # one shift per patient: over many patients every day of the range is used
    shifts = {a.shift_days(str(i), 1, 365) for i in range(4000)}
    assert len(shifts) == 365


def test_the_secret_stays_inside_the_key() -> None:
    key = site_key()
    for text in (repr(key), str(key), f"{key}"):
        assert SECRET.decode() not in text and "hidden" in text
    with pytest.raises(TypeError):
        pickle.dumps(key)
    assert not any(SECRET in str(getattr(key, a, "")).encode() for a in dir(key)
                   if not a.startswith("_"))


def test_load_from_file_or_environment(tmp_path: Path) -> None:
    f = tmp_path / "site.key"
    f.write_bytes(SECRET + b"\n")
    from_file = load_site_key(f, {}, version="v1")
    from_env = load_site_key(None, {ENV_SITE_KEY: SECRET.decode()}, version="v1")
    assert from_file.pseudonym("s_x", "1") == from_env.pseudonym("s_x", "1")
    assert from_file.version == "v1"


@pytest.mark.parametrize("secret", [b"", b"short", b"   padded-short   "])
def test_weak_or_missing_keys_are_refused_without_echoing_them(tmp_path: Path, secret: bytes
                                                               ) -> None:
    f = tmp_path / "k"
    f.write_bytes(secret)
    with pytest.raises(ConfigError) as exc:
        load_site_key(f, {}, version="v1")
    if secret.strip():
        assert secret.strip().decode() not in str(exc.value)
    with pytest.raises(ConfigError, match=ENV_SITE_KEY):
        load_site_key(None, {}, version="v1")
    with pytest.raises(ConfigError):
        SiteKey(b"x" * 5, "v1")


def test_rotation_map_links_old_and_new_pseudonyms_without_original_ids(tmp_path: Path) -> None:
    old, new = site_key(), site_key(SECRET + b"-2", "v2")
    ids = [f"CHS-{i:03d}" for i in range(20)]
    for path, key in ((tmp_path / "old.csv", old), (tmp_path / "new.csv", new)):
        path.write_text("original_id,pseudonym,offset_days,key_version,mode\n" + "".join(
            f"{i},{key.pseudonym('site_edc', i)},-1,{key.version},shift\n" for i in ids))
    n = rotation_map(tmp_path / "old.csv", tmp_path / "new.csv", tmp_path / "map.csv")
    text = (tmp_path / "map.csv").read_text()
    assert n == 20 and "CHS-" not in text
    assert f"{old.pseudonym('site_edc', 'CHS-007')},{new.pseudonym('site_edc', 'CHS-007')}" \
        in text
    assert (tmp_path / "map.csv").stat().st_mode & 0o077 == 0  # owner-only
