"""``deidentify_export``: a site export folder -> a de-identified copy, built atomically.

Run at the site, before anything is sent. The site's mapping says which fields are patient
ids, dates and free text; ``site.yaml`` ``deidentify:`` adds direct identifiers the mapping
never reads. The copy is built in a hidden folder beside ``out_dir`` and renamed into place,
with ``deid-manifest.json`` (mode, key version, counts; never the key, never a value). The
crosswalk (original id -> pseudonym, offset) goes only where the caller says, never inside
``out_dir``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cart_registry import __version__
from cart_registry.deid.crosswalk import check_crosswalk_path, write_crosswalk
from cart_registry.deid.keys import SiteKey
from cart_registry.deid.manifest import DEID_MANIFEST, FORMAT, MODE_POLICY
from cart_registry.deid.patients import AGE_CAP_YEARS, Mode, ShiftPolicy, patient_table
from cart_registry.deid.plan import source_roles
from cart_registry.errors import ConfigError, InputError
from cart_registry.fsutil import atomic_dir, sha256_file
from cart_registry.project import Project, check_site_id

if TYPE_CHECKING:
    import polars as pl

    from cart_registry.mapping.spec import SiteMapping

#: the widest shift range accepted (ten years): wider makes calendar-year analyses useless
MAX_SHIFT_DAYS = 3650
POLICY_MODE: dict[str, Mode] = {"per_patient_shift": "shift", "intervals_only": "intervals"}


@dataclass(frozen=True)
class DeidResult:
    """What one ``deidentify_export`` call wrote (the result itself stays at the site)."""

    site_id: str
    mode: str
    export_dir: str
    out_dir: str
    key_version: str
    patients: int
    age_capped: int
    #: output file -> data rows (CSV) or resources (FHIR); None for files copied as they are
    files: dict[str, int | None]
    #: file (or 'fhir') -> field or element -> action -> cells
    changes: dict[str, dict[str, dict[str, int]]]
    dropped_resource_types: dict[str, int] = field(default_factory=dict)
    #: files of the export folder that were not copied (not read by the mapping)
    not_copied: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    crosswalk: str | None = None
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def summary_lines(self) -> list[str]:
        lines = [
            f"{self.site_id}: de-identified {self.patients} patient(s) in {self.mode} mode "
            f"(key version {self.key_version}) into {self.out_dir}",
            f"  {len(self.files)} file(s) written; {len(self.not_copied)} not copied; "
            f"{self.age_capped} birth date(s) capped at {AGE_CAP_YEARS} years",
        ]
        totals: dict[str, int] = {}
        for per_field in self.changes.values():
            for actions in per_field.values():
                for action, n in actions.items():
                    totals[action] = totals.get(action, 0) + n
        lines += [f"  {action}: {n}" for action, n in sorted(totals.items())]
        if self.dropped_resource_types:
            lines.append("  resources left out: " + ", ".join(
                f"{t} {n}" for t, n in sorted(self.dropped_resource_types.items())))
        if self.crosswalk:
            lines.append(f"  crosswalk (keep at the site): {self.crosswalk}")
        lines += [f"warning: {w}" for w in self.warnings]
        return lines


def parse_shift_range(text: str | int | tuple[int, int]) -> tuple[int, int]:
    """``"365"`` -> (1, 365); ``"30-365"`` -> (30, 365); both ends inclusive, in days."""
    if isinstance(text, tuple):
        low, high = text
    else:
        raw = str(text).strip()
        try:
            if "-" in raw:
                a, b = raw.split("-", 1)
                low, high = int(a), int(b)
            else:
                low, high = 1, int(raw)
        except ValueError:
            raise ConfigError(f"shift range {raw!r} is not N or MIN-MAX days") from None
    if not 1 <= low <= high <= MAX_SHIFT_DAYS:
        raise ConfigError(f"shift range {low}-{high} days: need 1 <= MIN <= MAX <= "
                          f"{MAX_SHIFT_DAYS} (a shift of 0 days would keep real dates)")
    return low, high


def _inside(a: Path, b: Path) -> bool:
    try:
        a.relative_to(b)
        return True
    except ValueError:
        return False


def _check_folders(export: Path, out: Path) -> None:
    if not export.is_dir():
        raise InputError(f"export folder not found: {export}")
    if (export / DEID_MANIFEST).exists():
        raise ConfigError(f"{export} is already de-identified (it has {DEID_MANIFEST})",
                          hint="de-identify the site's original export")
    e, o = export.resolve(), out.resolve()
    if _inside(o, e) or _inside(e, o):
        raise ConfigError(f"the output folder {out} and the export folder {export} must not "
                          "contain one another")
    if o.exists():
        if not o.is_dir():
            raise ConfigError(f"{out} exists and is not a folder")
        if any(o.iterdir()) and not (o / DEID_MANIFEST).is_file():
            raise ConfigError(f"{out} exists and is not a de-identified export; refusing to "
                              "replace it", hint="choose an empty or new output folder")


def _mode_for(mapping: SiteMapping, mode: str | None) -> Mode:
    site = mapping.site.site
    where = mapping.site_source.where(["site", "date_shift_policy"])
    if site.date_shift_policy == "none":
        raise ConfigError(
            f"{where}: site {site.site_id!r} declares date_shift_policy: none, so the "
            "registry would take shifted dates for real ones",
            hint="set date_shift_policy: per_patient_shift (or intervals_only) in site.yaml "
            "before de-identifying",
        )
    declared = POLICY_MODE[site.date_shift_policy]
    if mode is not None and mode != declared:
        raise ConfigError(f"{where}: --mode {mode} disagrees with date_shift_policy "
                          f"{site.date_shift_policy!r} (mode {declared})")
    return declared


def _all_files(folder: Path) -> list[str]:
    root = folder.resolve()
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def deidentify_export(
    project: Project,
    export_dir: str | Path,
    site_id: str,
    out_dir: str | Path,
    key: SiteKey,
    *,
    mode: str | None = None,
    shift_range: str | int | tuple[int, int] = (1, 365),
    crosswalk: str | Path | None = None,
) -> DeidResult:
    """De-identify one site export folder into ``out_dir`` (see the module docstring).

    ``mode`` defaults to the site's ``date_shift_policy`` and must agree with it; the key's
    version must equal ``pseudonym_key_version`` when the site declares one. Raises
    ``ConfigError`` (mapping, options, key) or ``InputError`` (unreadable files).
    """
    from cart_registry.mapping.spec import load_site_mapping

    t0 = time.perf_counter()
    site_id = check_site_id(site_id)
    export = Path(export_dir).expanduser()
    out = Path(out_dir).expanduser()
    _check_folders(export, out)
    low, high = parse_shift_range(shift_range)
    standard = project.standard()
    mapping = load_site_mapping(project.site_mapping_dir(site_id), site_id=site_id,
                                table_names=standard.table_names)
    policy = ShiftPolicy(_mode_for(mapping, mode), low, high)
    declared = mapping.site.site.pseudonym_key_version
    if declared and key.version != declared:
        raise ConfigError(f"the key's version {key.version!r} is not the site's "
                          f"pseudonym_key_version {declared!r}")
    xwalk = Path(crosswalk).expanduser() if crosswalk is not None else None
    if xwalk is not None:
        check_crosswalk_path(xwalk, out)

    def make_patients(keys: pl.Series, facts: pl.DataFrame) -> pl.DataFrame:
        return patient_table(keys, facts, key, site_id, policy)

    out.parent.mkdir(parents=True, exist_ok=True)
    _remove_debris(out)
    work = Path(tempfile.mkdtemp(prefix=".deid-work-", dir=out.parent))
    try:
        with atomic_dir(out) as tmp:
            def write(rel: str, data: bytes) -> None:
                dest = tmp / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(data)

            body = _run(mapping, standard, export.resolve(), work, make_patients, write, key)
            patients: pl.DataFrame = body.pop("patients")
            files = [{"path": rel, "sha256": sha256_file(tmp / rel),
                      "size_bytes": (tmp / rel).stat().st_size} for rel in _all_files(tmp)]
            manifest = {
                "format": FORMAT,
                "site_id": site_id,
                "mode": policy.mode,
                "date_shift_policy": MODE_POLICY[policy.mode],
                "key_version": key.version,
                "key_check": key.check_value(),
                **policy.describe(),
                "age_cap_years": AGE_CAP_YEARS,
                "free_text_action": mapping.site.deidentify.free_text_action,
                "unmapped_fields": mapping.site.deidentify.unmapped_fields,
                "mapping_digest": mapping.digest,
                "tool_version": __version__,
                "files": files,
                "report": {
                    "patients": patients.height,
                    "age_capped": int(patients.get_column("birth_capped").sum()),
                    "changes": body["changes"],
                    "dropped_resource_types": body["dropped"],
                    "files_not_copied": len(body["not_copied"]),
                },
            }
            (tmp / DEID_MANIFEST).write_text(
                json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            if xwalk is not None:
                write_crosswalk(xwalk, patients, key.version, policy.mode)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return DeidResult(
        site_id=site_id, mode=policy.mode, export_dir=str(export), out_dir=str(out),
        key_version=key.version, patients=patients.height,
        age_capped=int(patients.get_column("birth_capped").sum()),
        files=body["rows"], changes=body["changes"], dropped_resource_types=body["dropped"],
        not_copied=body["not_copied"], warnings=_warnings(body["changes"]),
        crosswalk=str(xwalk) if xwalk is not None else None,
        seconds=round(time.perf_counter() - t0, 3),
    )


def _remove_debris(out: Path) -> None:
    """What a run killed half-way left beside ``out``: its temporary folders, and the old
    output moved aside when it was killed between the two renames of the swap."""
    for p in out.parent.glob(f".{out.name}.*.tmp"):
        shutil.rmtree(p, ignore_errors=True)
    for p in out.parent.glob(".deid-work-*"):
        shutil.rmtree(p, ignore_errors=True)
    aside = out.parent / f".{out.name}.old"
    if aside.is_dir():
        if out.exists():
            shutil.rmtree(aside, ignore_errors=True)
        else:  # the swap stopped half-way: the previous output is whole, put it back
            aside.rename(out)


def _run(mapping: SiteMapping, standard: Any, export: Path, work: Path, make_patients: Any,
         write: Any, key: SiteKey) -> dict[str, Any]:
    """Dispatch on the reader kind; returns patients, changes, rows, dropped, not_copied."""
    from cart_registry.deid import tabular
    from cart_registry.ingest.run import site_settings

    roles = source_roles(mapping, standard)
    spec = mapping.site.deidentify
    kind = mapping.site.reader.kind
    copied: set[str] = set()

    def tracked(rel: str, data: bytes) -> None:
        copied.add(rel)
        write(rel, data)

    if kind == "fhir":
        from cart_registry.deid.fhir import deidentify_fhir
        from cart_registry.fhir.ingest import options_of

        outcome = deidentify_fhir(
            export, options_of(mapping), key=key, spec=spec,
            free_text_columns={s: r.free_text for s, r in roles.items() if r.free_text},
            make_patients=make_patients, write=tracked,
        )
        return {"patients": outcome.patients, "changes": {"fhir": outcome.counts},
                "rows": {rel: outcome.files.get(rel) for rel in sorted(copied)},
                "dropped": outcome.dropped_types,
                "not_copied": _fhir_not_copied(export, outcome.files)}
    settings = site_settings(mapping, {})
    defaults = tuple(mapping.site.defaults.date_formats)
    if kind == "redcap":
        jobs, dict_path = tabular.redcap_jobs(mapping, roles, export, spec)
        dict_rel = dict_path.resolve().relative_to(export).as_posix()
        tracked(dict_rel, dict_path.read_bytes())
    else:
        jobs = tabular.csv_jobs(mapping, roles, export, spec)
    patients, changes, rows = tabular.run_jobs(
        jobs, spec=spec, settings=settings, site_id=mapping.site_id, default_formats=defaults,
        workdir=work, make_patients=make_patients, cutoff=mapping.site.site.data_cutoff_date,
        write=tracked,
    )
    not_copied = [p for p in _all_files(export) if p not in copied]
    return {"patients": patients, "changes": changes,
            "rows": {rel: rows.get(rel) for rel in sorted(copied)}, "dropped": {},
            "not_copied": not_copied}


def _fhir_not_copied(export: Path, written: dict[str, int]) -> list[str]:
    """Files that are no FHIR data, and a count of FHIR files that had nothing to send (their
    names may be patient ids: Bundles are renamed, so only the count is given)."""
    from cart_registry.fhir.export import BULK_MANIFEST

    files = _all_files(export)
    data = [p for p in files if p.endswith((".json", ".ndjson", ".ndjson.gz"))
            and not p.endswith(BULK_MANIFEST)]
    others = [p for p in files if p not in data and not p.endswith(BULK_MANIFEST)]
    empty = len(data) - len(written)
    return others + ([f"({empty} FHIR file(s) with nothing to send)"] if empty > 0 else [])


def _warnings(changes: dict[str, dict[str, dict[str, int]]]) -> list[str]:
    """Counts the site should look at before sending (never values)."""
    msgs = {
        "emptied_unparseable": "date cell(s) could not be parsed with the mapping's formats "
                               "and were emptied",
        "emptied_no_patient": "date cell(s) in rows without a patient id were emptied",
        "removed_no_patient": "date(s) in FHIR resources of no single patient were removed",
        "removed_out_of_calendar": "date(s) would leave the calendar when shifted and were "
                                   "removed",
        "after_cutoff_before_shift": "date(s) were after the site's data cut-off before "
                                     "shifting (the registry will see them inside the window)",
        "flagged_free_text": "free-text cell(s) were kept (free_text_action: flag): scrub them "
                             "before sending",
        "kept_unmapped": "cell(s) of fields no rule reads were kept unchanged "
                         "(unmapped_fields: keep)",
    }
    totals: dict[str, tuple[int, set[str]]] = {}
    for per_field in changes.values():
        for fname, actions in per_field.items():
            for action, n in actions.items():
                if action in msgs and n:
                    count, names = totals.get(action, (0, set()))
                    totals[action] = (count + n, names | {fname})
    return [f"{n} {msgs[a]} ({', '.join(sorted(names))})"
            for a, (n, names) in sorted(totals.items())]
