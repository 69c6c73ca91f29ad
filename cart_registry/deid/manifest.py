"""``deid-manifest.json``: how an export was de-identified, and how ingest recognises it.

The manifest sits beside the de-identified files. It says the mode, the key *version* and a
key check value (never the key), the shift range or day zero, the mapping digest, the sha256
of every file written and the counts of what changed (no values). Ingest reads it through
``check_deidentified_input``: the site's ``date_shift_policy`` must agree with it, and a file
changed after de-identification is refused.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from cart_registry.errors import ConfigError, InputError
from cart_registry.fsutil import sha256_file

if TYPE_CHECKING:
    from cart_registry.mapping.spec import SiteMapping

DEID_MANIFEST = "deid-manifest.json"
FORMAT = "cart_registry.deid/1"
#: deidentify --mode -> site.yaml date_shift_policy
MODE_POLICY = {"shift": "per_patient_shift", "intervals": "intervals_only"}
#: a manifest is a few kilobytes; anything far larger is not one
MAX_MANIFEST_BYTES = 16 << 20


def read_deid_manifest(folder: Path) -> dict[str, Any] | None:
    """The export's de-identification manifest, or None when it has none."""
    path = folder / DEID_MANIFEST
    if not path.is_file():
        return None
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise InputError(f"{DEID_MANIFEST}: larger than {MAX_MANIFEST_BYTES} bytes; not a "
                         "de-identification manifest")
    try:
        body = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InputError(f"{DEID_MANIFEST}: not valid JSON ({type(exc).__name__})") from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise InputError(f"{DEID_MANIFEST}: not a {FORMAT} manifest")
    for key, kind in (("site_id", str), ("mode", str), ("key_version", str), ("files", list)):
        if not isinstance(body.get(key), kind):
            raise InputError(f"{DEID_MANIFEST}: {key!r} is missing or not a {kind.__name__}")
    if body["mode"] not in MODE_POLICY:
        raise InputError(f"{DEID_MANIFEST}: unknown mode {body['mode']!r}")
    return body


def _safe_member(folder: Path, rel: Any) -> Path:
    """A file named by the manifest, refused if it could point outside the export."""
    if not isinstance(rel, str) or not rel or "\x00" in rel:
        raise InputError(f"{DEID_MANIFEST}: a file entry has no valid path")
    pure = PurePosixPath(rel)
    if pure.is_absolute() or ".." in pure.parts or "\\" in rel:
        raise InputError(f"{DEID_MANIFEST}: file path {rel!r} leaves the export folder")
    return folder / Path(*pure.parts)


def check_deidentified_input(folder: Path, mapping: SiteMapping) -> dict[str, Any] | None:
    """What ingest records about a de-identified export (None when the site sends it plain).

    Refuses a de-identified export whose site declares ``date_shift_policy: none``, a plain
    export whose site declares it shifts dates, a mode, site or key version that disagrees
    with ``site.yaml``, and files changed since they were de-identified.
    """
    site = mapping.site.site
    where = mapping.site_source.where(["site", "date_shift_policy"])
    body = read_deid_manifest(folder)
    if body is None:
        if site.date_shift_policy != "none":
            raise ConfigError(
                f"{where}: site {site.site_id!r} declares date_shift_policy "
                f"{site.date_shift_policy!r}, but {folder.name}/ has no {DEID_MANIFEST}",
                hint="run `cart-registry deidentify` at the site before sending",
            )
        return None
    mode = body["mode"]
    if body["site_id"] != site.site_id:
        raise ConfigError(f"{DEID_MANIFEST}: de-identified for site {body['site_id']!r}, "
                          f"ingested as {site.site_id!r}")
    if site.date_shift_policy != MODE_POLICY[mode]:
        raise ConfigError(
            f"{where}: the export was de-identified in mode {mode!r} but the site declares "
            f"date_shift_policy {site.date_shift_policy!r}",
            hint=f"set date_shift_policy: {MODE_POLICY[mode]} in site.yaml",
        )
    if site.pseudonym_key_version and body["key_version"] != site.pseudonym_key_version:
        raise ConfigError(
            f"{DEID_MANIFEST}: key version {body['key_version']!r} differs from the site's "
            f"pseudonym_key_version {site.pseudonym_key_version!r}",
            hint="after a key rotation, update pseudonym_key_version (docs/deidentification.md)",
        )
    for entry in body["files"]:
        if not isinstance(entry, dict):
            raise InputError(f"{DEID_MANIFEST}: a file entry is not an object")
        path = _safe_member(folder, entry.get("path"))
        if not path.is_file():
            raise InputError(f"{DEID_MANIFEST}: {entry['path']} is listed but missing")
        if sha256_file(path) != entry.get("sha256"):
            raise InputError(
                f"{entry['path']}: changed after de-identification (sha256 differs from "
                f"{DEID_MANIFEST})",
                hint="de-identify the export again instead of editing its files",
            )
    keep = ("mode", "key_version", "key_check", "shift_days", "day_zero", "age_cap_years",
            "free_text_action", "unmapped_fields", "tool_version", "mapping_digest")
    out = {k: body[k] for k in keep if k in body}
    out["date_shift_policy"] = MODE_POLICY[mode]
    out["files"] = len(body["files"])
    return out
