"""``synthesize``: write a synthetic registry's site exports (and optionally defects).

Layout under ``out``: ``<site_id>/…`` (clean exports), ``with_defects/<site_id>/…`` and
``with_defects/answer_key.csv`` (with ``defects=True``), ``README.md`` (how the files were
made, the definitions behind every abstract number, the local-code correspondences) and
``synth-manifest.json`` (preset, seed, and the SHA-256 of every file). The whole folder is
built under a temporary name and swapped into place, so a crash never leaves half an export.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cart_registry.errors import InputError
from cart_registry.fsutil import atomic_dir
from cart_registry.synth.catalog import SITE_IDS

MANIFEST = "synth-manifest.json"


@dataclass(frozen=True)
class WrittenFile:
    path: str
    bytes: int
    sha256: str


@dataclass
class SynthResult:
    preset: str
    seed: int
    defects: bool
    out_dir: str
    files: list[WrittenFile] = field(default_factory=list)
    counts: dict[str, Any] = field(default_factory=dict)

    @property
    def total_bytes(self) -> int:
        return sum(f.bytes for f in self.files)

    def to_json(self) -> dict[str, Any]:
        return {
            "preset": self.preset, "seed": self.seed, "defects": self.defects,
            "out_dir": self.out_dir, "n_files": len(self.files), "total_bytes": self.total_bytes,
            "counts": self.counts, "files": [asdict(f) for f in self.files],
        }


def _check_out(out: Path) -> None:
    if out.exists() and (not out.is_dir() or (
            any(out.iterdir()) and not (out / MANIFEST).is_file())):
        raise InputError(
            f"{out} exists and was not written by 'cart-registry synth'; refusing to replace it",
            hint="choose an empty or new folder",
        )


def synthesize(out: Path | str, *, preset: str = "abstract", seed: int = 0,
               defects: bool = False, patients: int | None = None,
               fhir_resources: int | None = None) -> SynthResult:
    """Generate ``preset`` with ``seed`` and write it under ``out`` (replacing a previous run).

    ``patients`` and ``fhir_resources`` size the scale preset (defaults 1e5 and about 1e7).
    """
    out = Path(out)
    if preset not in ("abstract", "scale"):
        raise InputError(f"unknown preset {preset!r}; choose 'abstract' or 'scale'")
    if seed < 0:
        raise InputError("seed must be a non-negative integer")
    if preset == "scale" and defects:
        raise InputError("--defects is available for the abstract preset only")
    _check_out(out)
    result = SynthResult(preset, seed, defects, str(out))
    with atomic_dir(out) as tmp:
        if preset == "abstract":
            _write_abstract(tmp, seed, defects, result)
        else:
            from cart_registry.synth.scale import write_scale

            result.counts = write_scale(tmp, seed, patients=patients,
                                        fhir_resources=fhir_resources)
        _finish(tmp, result)
    return result


def _write_abstract(tmp: Path, seed: int, defects: bool, result: SynthResult) -> None:
    from cart_registry.synth.readme import readme_text
    from cart_registry.synth.render import render_site
    from cart_registry.synth.truth import generate_truth

    truth = generate_truth("abstract", seed)
    exports = {site: render_site(truth, site) for site in SITE_IDS}
    for site, files in exports.items():
        for rel, f in files.items():
            _write(tmp / site / rel, f.to_bytes())
    key_rows = 0
    if defects:
        from cart_registry.synth.defects import answer_key_bytes, inject_defects

        injected = inject_defects(truth)
        for site, files in injected.exports.items():
            for rel, f in files.items():
                _write(tmp / "with_defects" / site / rel, f.to_bytes())
        _write(tmp / "with_defects" / "answer_key.csv", answer_key_bytes(injected.defects))
        key_rows = len(injected.defects)
    result.counts = {
        "patients": {s: sum(1 for p in truth.plans if p.site_id == s) for s in SITE_IDS},
        "included": sum(1 for p in truth.plans if p.registry_status == "included"),
        "rows": {t: len(rs) for t, rs in truth.rows.items()},
        "defects": key_rows,
    }
    _write(tmp / "README.md", readme_text(truth, defects=defects).encode())


def _write(path: Path, data: bytes) -> None:
    # the whole folder is swapped atomically, so plain writes inside it are enough
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _finish(tmp: Path, result: SynthResult) -> None:
    import hashlib

    files = []
    for p in sorted(tmp.rglob("*")):
        if p.is_file():
            data = p.read_bytes()
            files.append(WrittenFile(p.relative_to(tmp).as_posix(), len(data),
                                     hashlib.sha256(data).hexdigest()))
    result.files = files
    manifest = {
        "generator": "cart-registry synth", "preset": result.preset, "seed": result.seed,
        "defects": result.defects, "counts": result.counts,
        "files": {f.path: f.sha256 for f in files},
    }
    _write(tmp / MANIFEST, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
