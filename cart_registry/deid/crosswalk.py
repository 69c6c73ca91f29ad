"""The crosswalk kept at the site, and the old -> new pseudonym map of a key rotation.

The crosswalk (original id, pseudonym, offset, key version) re-identifies every patient: it is
written only where the site asks, never inside the folder that is sent, with owner-only
permissions. After a key rotation the coordinating centre gets ``rotation_map``'s output:
old pseudonym -> new pseudonym, which links its history without any original id.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import TYPE_CHECKING

from cart_registry.errors import ConfigError, InputError
from cart_registry.fsutil import atomic_path

if TYPE_CHECKING:
    import polars as pl

COLUMNS = ("original_id", "pseudonym", "offset_days", "key_version", "mode")


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def check_crosswalk_path(path: Path, out_dir: Path) -> None:
    if _inside(path, out_dir):
        raise ConfigError(
            f"the crosswalk {path} would be inside the output folder {out_dir}, which is sent",
            hint="keep the crosswalk in a folder that stays at the site",
        )


def _write_private(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        os.chmod(tmp, 0o600)
        tmp.write_text(text, encoding="utf-8", newline="")


def write_crosswalk(path: Path, patients: pl.DataFrame, key_version: str, mode: str) -> int:
    """One row per patient; returns the number of rows."""
    import polars as pl

    frame = patients.select(
        pl.col("key").alias("original_id"), "pseudonym", pl.col("offset").alias("offset_days"),
        pl.lit(key_version).alias("key_version"), pl.lit(mode).alias("mode"),
    ).sort("original_id")
    _write_private(path, frame.write_csv())
    return frame.height


def read_crosswalk(path: Path) -> dict[str, str]:
    """original id -> pseudonym."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the crosswalk {path}: {exc}") from None
    rows = list(csv.DictReader(io.StringIO(text)))
    if rows and not {"original_id", "pseudonym"} <= set(rows[0]):
        raise InputError(f"{path.name}: not a crosswalk (needs original_id and pseudonym)")
    return {r["original_id"]: r["pseudonym"] for r in rows}


def rotation_map(old_crosswalk: Path, new_crosswalk: Path, out: Path) -> int:
    """``old_pseudonym,new_pseudonym`` for the patients in both crosswalks (no original ids).

    Returns the number of rows. The file is safe to send to the coordinating centre.
    """
    old = read_crosswalk(old_crosswalk)
    new = read_crosswalk(new_crosswalk)
    pairs = sorted((old[k], new[k]) for k in old.keys() & new.keys())
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["old_pseudonym", "new_pseudonym"])
    w.writerows(pairs)
    _write_private(out, buf.getvalue())
    return len(pairs)
