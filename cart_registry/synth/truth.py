"""The synthetic registry in canonical form: what a correct ingest of the exports yields.

``generate_truth(preset, seed)`` plans the patients, builds their rows, applies each site's
view (site_view.py) and returns the canonical tables as polars DataFrames with the standard's
business columns and types. Provenance columns are filled by ingest, not here.

Identity: ``patient_id`` is ``<site_id>-<local record id>`` (REDCap record_id, EDC SUBJID,
FHIR Patient.id), exactly what an ingest of that site's export produces. The other surrogate
keys (``infusion_id``, ``tox_id`` …) are ``<patient_id>-<kind><nn>`` numbered by date within the
patient; an ingest derives its own from source locators (REDCap record/event/instrument/
instance, EDC file and row, FHIR resource id), so compare rows on their natural keys
(patient_id + date + type), and links (toxicity → infusion) through those.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cart_registry.synth.catalog import CONSTRUCTS, SITES
from cart_registry.synth.plan import PatientPlan
from cart_registry.synth.prng import Stream
from cart_registry.synth.site_view import apply_site_view
from cart_registry.synth.timeline import PATIENT_TABLES, Row, build_rows

if TYPE_CHECKING:
    import polars as pl

PRESETS = ("abstract", "scale")


@dataclass
class Truth:
    preset: str
    seed: int
    plans: list[PatientPlan]
    #: table -> rows with private ``_`` annotations (what the renderers read)
    rows: dict[str, list[Row]]
    info: dict[str, Any] = field(default_factory=dict)
    _frames: dict[str, pl.DataFrame] | None = None

    @property
    def patient_site(self) -> dict[str, str]:
        return {p.patient_id: p.site_id for p in self.plans}

    def site_rows(self, site: str, table: str) -> list[Row]:
        pids = {p.patient_id for p in self.plans if p.site_id == site}
        return [r for r in self.rows[table] if r["patient_id"] in pids]

    @property
    def tables(self) -> dict[str, pl.DataFrame]:
        """Every canonical table as a DataFrame of its business columns."""
        if self._frames is None:
            self._frames = _frames(self.rows)
        return self._frames


def _frames(rows: dict[str, list[Row]]) -> dict[str, pl.DataFrame]:
    import polars as pl

    from cart_registry.standard import load_standard
    from cart_registry.standard.derive import polars_dtype

    std = load_standard()
    out: dict[str, pl.DataFrame] = {}
    for table in std:
        cols = table.business_columns
        schema = {c.name: polars_dtype(c) for c in cols}
        data = [{c.name: r.get(c.name) for c in cols} for r in rows.get(table.name, [])]
        out[table.name] = pl.DataFrame(data, schema=schema, orient="row") if data else (
            pl.DataFrame(schema=schema))
    return out


def rows_for_plans(plans: list[PatientPlan], seed: int) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = {t: [] for t in PATIENT_TABLES}
    for plan in plans:
        rows = build_rows(plan, Stream(seed, "rows", plan.patient_id))
        apply_site_view(rows, plan.site_id, Stream(seed, "site-view", plan.patient_id))
        for t, rs in rows.items():
            out[t].extend(rs)
    out["site"] = [s.row() for s in SITES]
    out["car_construct"] = [c.row() for c in CONSTRUCTS]
    return out


def generate_truth(preset: str = "abstract", seed: int = 0) -> Truth:
    """The registry of ``preset`` for ``seed`` (the scale preset is streamed, see scale.py)."""
    if preset != "abstract":
        raise ValueError(f"generate_truth supports the abstract preset only, not {preset!r}")
    from cart_registry.synth.abstract import abstract_plans

    plans, info = abstract_plans(seed)
    return Truth(preset, seed, plans, rows_for_plans(plans, seed), info)
