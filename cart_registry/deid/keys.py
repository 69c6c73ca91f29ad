"""The site secret and everything derived from it: pseudonyms, date shifts, resource ids.

Every derived value is ``HMAC-SHA256(secret, "<purpose>:" + normalised id)``; the purpose
prefix keeps the pseudonym, the shift and the resource ids independent of one another (one
cannot be computed from another without the secret). The secret lives in ``SiteKey`` only:
its ``repr`` hides it, no method returns it, and nothing here writes it anywhere.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import unicodedata
from collections.abc import Mapping
from pathlib import Path

from cart_registry.errors import ConfigError

#: environment variable holding the site secret when no key file is given
ENV_SITE_KEY = "CART_REGISTRY_SITE_KEY"
#: fewer bytes than this is a password, not a key
MIN_KEY_BYTES = 16
#: the pseudonym's local part: 16 base32 characters = 80 bits
PSEUDONYM_CHARS = 16


def normalise_id(local_id: str) -> str:
    """The form an id is hashed in: NFKC, trimmed, upper-case (' mrn001' == 'MRN001')."""
    return unicodedata.normalize("NFKC", local_id).strip().upper()


class SiteKey:
    """A site secret with a version label. The secret never leaves this object."""

    __slots__ = ("_secret", "version")

    def __init__(self, secret: bytes, version: str) -> None:
        if len(secret) < MIN_KEY_BYTES:
            raise ConfigError(
                f"the site key has fewer than {MIN_KEY_BYTES} bytes",
                hint="use a random secret of 32 bytes or more, e.g. `openssl rand -hex 32`",
            )
        self._secret = secret
        self.version = version

    def __repr__(self) -> str:
        return f"SiteKey(version={self.version!r}, secret=<hidden>)"

    __str__ = __repr__

    def __reduce__(self) -> str | tuple[object, ...]:
        # a pickled key would be a copy of the secret on disk: refuse
        raise TypeError("SiteKey cannot be pickled")

    def _mac(self, purpose: str, value: str) -> bytes:
        return hmac.new(self._secret, f"{purpose}:{value}".encode(), hashlib.sha256).digest()

    def local_pseudonym(self, local_id: str) -> str:
        """16 characters of base32 (A-Z, 2-7): valid in a patient_id and as a FHIR id."""
        digest = self._mac("pid", normalise_id(local_id))
        return base64.b32encode(digest).decode("ascii")[:PSEUDONYM_CHARS]

    def pseudonym(self, site_id: str, local_id: str) -> str:
        """``<site_id>-<local pseudonym>``, the registry patient_id of a de-identified site."""
        return f"{site_id}-{self.local_pseudonym(local_id)}"

    def shift_days(self, local_id: str, low: int, high: int) -> int:
        """Days to add to every date of the patient: -(low .. high), always into the past."""
        digest = self._mac("shift", normalise_id(local_id))
        return -(low + int.from_bytes(digest[:8], "big") % (high - low + 1))

    def resource_id(self, old_id: str) -> str:
        """A UUID-shaped pseudonym for a FHIR resource id (ids may be EHR record numbers)."""
        h = self._mac("rid", old_id).hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"

    def token(self, purpose: str, value: str, n: int = 16) -> str:
        """A short hex token for names that must not carry the original (file names)."""
        return self._mac(purpose, value).hex()[:n]

    def check_value(self) -> str:
        """8 hex digits that change with the secret (a key check value): lets a site see that
        the key in use is the one its version label promises, without revealing it."""
        return self._mac("key-check", "cart_registry").hex()[:8]


def load_site_key(
    key_file: Path | None,
    environ: Mapping[str, str] | None = None,
    *,
    version: str,
) -> SiteKey:
    """The key from ``key_file`` (whole file, surrounding whitespace ignored), else from the
    ``CART_REGISTRY_SITE_KEY`` environment variable. Messages never show the key."""
    env = os.environ if environ is None else environ
    if key_file is not None:
        try:
            raw = Path(key_file).read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read the key file {key_file}: {exc.strerror}") from None
        secret = raw.strip()
        where = f"key file {key_file}"
    else:
        text = env.get(ENV_SITE_KEY)
        if not text:
            raise ConfigError(
                "no site key: give --key-file FILE or set the environment variable "
                f"{ENV_SITE_KEY}",
                hint="the key is the site's secret; it never leaves the site",
            )
        secret = text.strip().encode("utf-8")
        where = f"${ENV_SITE_KEY}"
    if len(secret) < MIN_KEY_BYTES:
        raise ConfigError(
            f"the site key in {where} has {len(secret)} bytes; at least {MIN_KEY_BYTES} are "
            "needed",
            hint="use a random secret of 32 bytes or more, e.g. `openssl rand -hex 32`",
        )
    return SiteKey(secret, version)


def shift_date(day: dt.date, offset: int) -> dt.date:
    return day + dt.timedelta(days=offset)
