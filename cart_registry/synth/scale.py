"""The scale preset: 1e5 patients over the three sites and a FHIR bulk export of ~1e7
resources, written in chunks so that memory does not grow with the size.

Each patient is drawn on its own (no cohort-level pinning), from a stream keyed by its index,
so a chunk needs nothing from the others and the output is the same whatever the chunk size.
Most FHIR resources are unrelated Observations (vital signs, chemistry), as in a real EHR
bulk export; the REDCap and EDC sites are written at scale too. Only the bulk form is written
for FHIR (no per-patient Bundles).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import deque
from pathlib import Path
from typing import IO, Any

from cart_registry.synth.abstract import (
    CR_TYPES,
    _cytogenetics,
    _pick_a,
    _pick_other,
    _relapse_details,
)
from cart_registry.synth.catalog import DATA_CUTOFF, SITE_EDC, SITE_FHIR, SITE_IDS, SITE_REDCAP
from cart_registry.synth.files import CsvFile, JsonFile
from cart_registry.synth.plan import CoursePlan, PatientPlan
from cart_registry.synth.prng import Stream
from cart_registry.synth.timeline import days, weight_for_age
from cart_registry.synth.truth import Truth, rows_for_plans

DEFAULT_PATIENTS = 100_000
#: FHIR resources per registry patient (so 1e5 patients give ~1e7 resources)
RESOURCES_PER_PATIENT = 100
SITE_SHARE = {SITE_REDCAP: 0.4, SITE_EDC: 0.3, SITE_FHIR: 0.3}
CHUNK = 500


def _site_of(i: int, n: int) -> tuple[str, int]:
    """Site and 0-based index within the site of global patient ``i`` (contiguous blocks)."""
    n_redcap = int(n * SITE_SHARE[SITE_REDCAP])
    n_edc = int(n * SITE_SHARE[SITE_EDC])
    if i < n_redcap:
        return SITE_REDCAP, i
    if i < n_redcap + n_edc:
        return SITE_EDC, i - n_redcap
    return SITE_FHIR, i - n_redcap - n_edc


def _local_id(seed: int, site: str, k: int) -> str:
    if site == SITE_REDCAP:
        return str(100001 + k)
    if site == SITE_EDC:
        return f"CHS-{k + 1:06d}"
    return Stream(seed, "scale-fhir-patient", k).uuid()


def scale_plan(seed: int, i: int, n: int) -> PatientPlan:
    """One independently drawn patient with one to three constructs."""
    site, k = _site_of(i, n)
    local = _local_id(seed, site, k)
    rs = Stream(seed, "scale-patient", i)
    cut = DATA_CUTOFF
    age_days = rs.randint(400, 11000)
    start = dt.date(2014, 1, 1) + days(rs.randint(0, (dt.date(2022, 12, 31) -
                                                      dt.date(2014, 1, 1)).days))
    birth = start - days(age_days)
    dx = start - days(rs.randint(150, min(3000, age_days - 120)))
    age = age_days / 365.25
    wanted = rs.weighted([0, 1, 2, 3], [5, 55, 32, 8])
    courses: list[CoursePlan] = []
    used: list[str] = []
    d = start
    horizon = cut - days(60)
    while len(courses) < wanted and d <= horizon:
        con = _pick_a(rs, age) if not used else _pick_other(
            rs, used, same_targets=None, differ_from=None, age=age)
        used.append(con)
        cr = rs.chance(0.75)
        c = rs.randint(24, 33) if cr else rs.randint(21, 28)
        course = CoursePlan(
            con, d, rs.weighted(*CR_TYPES) if cr else rs.choice(["nr", "nr", "pr"]), c,
            pre_expression={"CD19": rs.choice(["positive", "positive", "dim"]),
                            "CD22": rs.choice(["positive", "positive", "dim"])},
            bridging=rs.chance(0.6),
        )
        courses.append(course)
        if cr and rs.chance(0.5):
            r = d + days(c + rs.randint(30, 700))
            if r <= cut - days(30):
                course.relapse = _relapse_details(rs, r, "b_lymphoid", {
                    "CD19": rs.choice(["positive", "dim", "negative"]), "CD22": "positive"}
                    if rs.chance(0.85) else None)
                if rs.chance(0.5):
                    course.salvage = rs.choice(["chemotherapy", "blinatumomab", "inotuzumab"])
        if cr and rs.chance(0.15):
            h = d + days(rs.randint(60, 110))
            if h < (course.relapse.date if course.relapse else cut) - days(30):
                course.hsct = h
        base = course.relapse.date if course.relapse else (d + days(c) if not cr else None)
        if base is None:
            break  # in continuing remission: no further construct
        d = base + days(rs.randint(45, 150))
    last = courses[-1] if courses else None
    events_end = start
    if last is not None:
        events_end = last.relapse.date if last.relapse else last.start + days(last.response_day)
    dead = rs.chance(0.55 if last is None or not last.cr or last.relapse else 0.12)
    end = events_end + days(rs.randint(20, 500))
    if dead and end <= cut - days(3):
        death: dt.date | None = end
    else:
        dead, death = False, None
        end = max(events_end + days(20), cut - days(rs.randint(0, 150)))
        if end > cut:
            end = cut
    for course in courses:
        if course.hsct is not None and course.hsct > end - days(10):
            course.hsct = None  # no transplant after the end of follow-up
    status = "included" if len(courses) >= 2 else rs.choice(["excluded"] * 9 + ["screened"])
    in_cr = last is not None and last.cr and last.relapse is None
    return PatientPlan(
        site_id=site, local_id=local, patient_id=f"{site}-{local}", registry_status=status,
        sex=rs.weighted(["male", "female"], [56, 44]), birth_date=birth, diagnosis_date=dx,
        icd10=rs.weighted(["C91.00", "C91.02"], [70, 30]), cytogenetics=_cytogenetics(rs),
        down_syndrome=rs.chance(0.03), prior_blinatumomab=rs.chance(0.2),
        prior_inotuzumab=rs.chance(0.1), prior_hsct=[], courses=courses, last_contact=end,
        last_disease_status="cr" if in_cr else "not_cr", death_date=death,
        death_cause=("relapse_progression" if not in_cr else "infection") if dead else None,
        weight_kg=weight_for_age(rs, age),
        crs_scale_before_2019="lee_2014" if site == SITE_EDC else "astct_2019",
    )


#: project-level files written once, from the first chunk
_ONCE = ("CARTRegistry_DataDictionary.csv", "CARTRegistry_Events.csv", "codelists.csv")


def render_chunk(seed: int, n: int, lo: int, hi: int, unrelated: int
                 ) -> tuple[dict[str, tuple[bytes, bytes]], dict[str, bytes], dict[str, int], dict[str, int]]:
    """Patients ``lo..hi-1`` as bytes: CSV (header, body) per file, NDJSON per resource type,
    resource counts, and patient counts. A pure function of its arguments (worker-safe)."""
    from cart_registry.synth.render_edc import render_edc
    from cart_registry.synth.render_fhir import patient_resources
    from cart_registry.synth.render_redcap import render_redcap

    plans = [scale_plan(seed, i, n) for i in range(lo, hi)]
    stats = dict.fromkeys(SITE_IDS, 0)
    stats["included"] = 0
    for p in plans:
        stats[p.site_id] += 1
        stats["included"] += p.registry_status == "included"
    truth = Truth("scale", seed, plans, rows_for_plans(plans, seed))
    csv_out: dict[str, tuple[bytes, bytes]] = {}
    for site, render in ((SITE_REDCAP, render_redcap), (SITE_EDC, render_edc)):
        if not any(p.site_id == site for p in plans):
            continue
        for rel, f in render(truth).items():
            assert isinstance(f, CsvFile)
            head = CsvFile(f.header, [], f.delimiter, f.encoding, f.newline, f.always_quote,
                           f.raw_header).to_bytes()
            body = "".join(f.line(r) + f.newline for r in f.rows).encode(f.encoding)
            csv_out[f"{site}/{rel}"] = (head, body)
    by_pid: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for t, rows in truth.rows.items():
        if t in ("site", "car_construct"):
            continue
        for r in rows:
            by_pid.setdefault(r["patient_id"], {}).setdefault(t, []).append(r)
    parts: dict[str, list[str]] = {}
    for p in plans:
        if p.site_id != SITE_FHIR:
            continue
        for res in patient_resources(seed, p.local_id, by_pid[p.patient_id], bundle=False,
                                     n_unrelated=unrelated):
            parts.setdefault(res["resourceType"], []).append(
                json.dumps(res, separators=(",", ":"), ensure_ascii=False))
    nd = {rt: ("\n".join(lines) + "\n").encode() for rt, lines in parts.items()}
    return csv_out, nd, {rt: len(v) for rt, v in parts.items()}, stats


def write_scale(out: Path, seed: int, *, patients: int | None = None,
                fhir_resources: int | None = None, chunk: int = CHUNK,
                workers: int | None = None) -> dict[str, Any]:
    """Stream the scale preset into ``out``; returns counts.

    Chunks are rendered in worker processes and written in chunk order, so the bytes do not
    depend on the number of workers; at most a few chunks are held in memory at once.
    """
    import multiprocessing as mp
    import os

    from cart_registry.synth.render_fhir import RESOURCE_ORDER, manifest

    n = patients or DEFAULT_PATIENTS
    target = fhir_resources if fhir_resources is not None else n * RESOURCES_PER_PATIENT
    n_fhir = n - int(n * SITE_SHARE[SITE_REDCAP]) - int(n * SITE_SHARE[SITE_EDC])
    # a patient's own registry resources are about 40; the rest is unrelated EHR content
    unrelated = max(2, target // max(1, n_fhir) - 40)
    jobs = [(seed, n, lo, min(n, lo + chunk), unrelated) for lo in range(0, n, chunk)]
    handles: dict[str, IO[bytes]] = {}
    counts: dict[str, int] = {}
    csv_rows: dict[str, int] = {}
    stats: dict[str, int] = {}

    def handle(rel: str) -> tuple[IO[bytes], bool]:
        new = rel not in handles
        if new:
            path = out / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            handles[rel] = path.open("wb")
        return handles[rel], new

    def consume(result: tuple[Any, ...]) -> None:
        csv_out, nd, nd_counts, st = result
        for rel, (head, body) in csv_out.items():
            fh, new = handle(rel)
            if new:
                fh.write(head)
            if new or rel.rsplit("/", 1)[-1] not in _ONCE:
                fh.write(body)
                csv_rows[rel] = csv_rows.get(rel, 0) + body.count(b"\n")
        for rt, data in nd.items():
            fh, _ = handle(f"{SITE_FHIR}/bulk/{rt}.ndjson")
            fh.write(data)
            counts[rt] = counts.get(rt, 0) + nd_counts[rt]
        for k, v in st.items():
            stats[k] = stats.get(k, 0) + v

    n_workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    try:
        if n_workers <= 1 or len(jobs) == 1:
            for job in jobs:
                consume(render_chunk(*job))
        else:
            with mp.get_context("spawn").Pool(n_workers) as pool:
                # a sliding window of 2 chunks per worker, consumed in order: memory is
                # bounded by the window, not by the number of patients
                window = 2 * n_workers
                pending: deque[Any] = deque()
                for job in jobs:
                    pending.append(pool.apply_async(render_chunk, job))
                    if len(pending) >= window:
                        consume(pending.popleft().get())
                while pending:
                    consume(pending.popleft().get())
    finally:
        for fh in handles.values():
            fh.close()
    ordered = {t: counts[t] for t in RESOURCE_ORDER if t in counts}
    (out / SITE_FHIR / "bulk").mkdir(parents=True, exist_ok=True)
    (out / SITE_FHIR / "bulk" / "manifest.json").write_bytes(JsonFile(manifest(ordered)).to_bytes())
    return {
        "patients": {s: stats.get(s, 0) for s in SITE_IDS}, "included": stats.get("included", 0),
        "fhir_resources": sum(counts.values()), "fhir_resources_by_type": ordered,
        "csv_rows": dict(sorted(csv_rows.items())), "chunk": chunk, "workers": n_workers,
    }
