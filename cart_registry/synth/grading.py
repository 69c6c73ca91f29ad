"""CRS and ICANS episodes whose components agree with the reported grade (domain.md §3).

``astct_crs_grade`` and ``astct_icans_grade`` recompute the ASTCT 2019 grade from the
components; the generator draws components for a target grade and asserts that the recompute
gives it back, so the clean sample never trips R14. Lee 2014 episodes (the EDC site's older
records) carry FiO2 instead of the oxygen device and are graded on that scale.
"""

from __future__ import annotations

from typing import Any

from cart_registry.synth.prng import Stream

_O2_GRADE = {
    None: 0, "none": 0, "unknown": 0, "low_flow_le6": 2, "high_flow_gt6_or_mask": 3,
    "positive_pressure": 4, "mechanical_ventilation": 4,
}

CRS_COMPONENTS = (
    "fever", "temp_max_c", "anticytokine_or_antipyretic", "hypotension", "fluids_only",
    "vasopressors_max", "vasopressin_only", "o2_support_max", "fio2_max_pct",
)
ICANS_COMPONENTS = (
    "ice_min", "capd_max", "consciousness_worst", "seizure_worst", "deep_focal_motor_weakness",
    "cerebral_edema",
)


def astct_crs_grade(c: dict[str, Any]) -> int:
    """ASTCT 2019 CRS grade: the worse of hypotension and hypoxia, fever (or its treatment)."""
    if not (c.get("fever") or c.get("anticytokine_or_antipyretic")):
        return 0
    hypo = 0
    if c.get("hypotension"):
        n = c.get("vasopressors_max") or 0
        if n == 0:
            hypo = 2
        elif n == 1 or (n == 2 and c.get("vasopressin_only")):
            hypo = 3
        else:
            hypo = 4
    return max(1, hypo, _O2_GRADE[c.get("o2_support_max")])


def astct_icans_grade(c: dict[str, Any], age_years: float) -> int:
    """ASTCT 2019 ICANS grade: the worst domain; CAPD replaces ICE up to 12 years."""
    g = 0
    if age_years > 12:
        ice = c.get("ice_min")
        if ice is not None:
            g = max(g, 1 if ice >= 7 and ice <= 9 else 2 if ice >= 3 and ice <= 6 else
                    3 if ice <= 2 else 0)
    else:
        capd = c.get("capd_max")
        if capd is not None and capd > 0:
            g = max(g, 1 if capd < 9 else 3)
    loc = c.get("consciousness_worst")
    g = max(g, {"spontaneous": 1, "voice": 2, "tactile": 3, "unarousable": 4}.get(loc or "", 0))
    g = max(g, {"resolved_or_nonconvulsive_treated": 3, "prolonged_or_repetitive": 4}.get(
        c.get("seizure_worst") or "", 0))
    if c.get("deep_focal_motor_weakness"):
        g = max(g, 4)
    g = max(g, {"focal": 3, "diffuse_or_signs": 4}.get(c.get("cerebral_edema") or "", 0))
    return g


def _temp_c(rs: Stream, fever: bool) -> float:
    # tenths of a degree, as charted
    return (rs.randint(380, 405) if fever else rs.randint(368, 379)) / 10.0


def crs_components(rs: Stream, grade: int, *, scale: str = "astct_2019") -> dict[str, Any]:
    """Components for a CRS episode of ``grade`` (1-4) on ``scale``."""
    c: dict[str, Any] = {
        "hypotension": False, "fluids_only": False, "vasopressors_max": 0,
        "vasopressin_only": False, "o2_support_max": "none", "fio2_max_pct": None,
    }
    treated = grade >= 2 or rs.chance(0.2)
    c["anticytokine_or_antipyretic"] = treated
    # treatment may mask fever from grade 2 up: fever is then not required
    c["fever"] = True if grade == 1 or not treated else rs.chance(0.85)
    c["temp_max_c"] = _temp_c(rs, c["fever"])
    if grade >= 2:
        route = rs.choice(["hypotension", "hypoxia", "both"])
        hyp_g = grade if route in ("hypotension", "both") else rs.randint(0, grade)
        o2_g = grade if route in ("hypoxia", "both") else rs.randint(0, grade)
        if hyp_g >= 2:
            c["hypotension"] = True
            if hyp_g == 2:
                c["fluids_only"] = True
            elif hyp_g == 3:
                if rs.chance(0.25):
                    c["vasopressors_max"], c["vasopressin_only"] = 2, True
                else:
                    c["vasopressors_max"] = 1
            else:
                c["vasopressors_max"] = rs.randint(2, 3)
        if o2_g >= 2:
            c["o2_support_max"] = {
                2: "low_flow_le6", 3: "high_flow_gt6_or_mask",
                4: rs.choice(["positive_pressure", "mechanical_ventilation"]),
            }[o2_g]
    if scale == "lee_2014":
        # legacy scale: hypoxia graded by FiO2 (<40% grade 2, >=40% grade 3); no device
        o2 = c["o2_support_max"]
        c["fio2_max_pct"] = (
            None if o2 == "none" else float(rs.randint(28, 39) if o2 == "low_flow_le6"
                                             else rs.randint(40, 80))
        )
        c["o2_support_max"] = None
    else:
        assert astct_crs_grade(c) == grade, (grade, c)
    return c


def icans_components(rs: Stream, grade: int, age_years: float) -> dict[str, Any]:
    """Components for an ICANS episode of ``grade`` (1-4) at ``age_years``."""
    child = age_years <= 12
    c: dict[str, Any] = {
        "ice_min": None, "capd_max": None, "consciousness_worst": "spontaneous",
        "seizure_worst": "none", "deep_focal_motor_weakness": False, "cerebral_edema": "none",
    }
    if grade == 1:
        if child:
            c["capd_max"] = rs.randint(1, 8)
        else:
            c["ice_min"] = rs.randint(7, 9)
    elif grade == 2:
        c["consciousness_worst"] = rs.choice(["spontaneous", "voice"])
        if child:
            c["capd_max"] = rs.randint(1, 8)
            c["consciousness_worst"] = "voice"
        else:
            c["ice_min"] = rs.randint(3, 6)
    elif grade == 3:
        c["consciousness_worst"] = rs.choice(["voice", "tactile"])
        if child:
            c["capd_max"] = rs.randint(9, 20)
        else:
            c["ice_min"] = rs.randint(0, 2)
        if rs.chance(0.3):
            c["seizure_worst"] = "resolved_or_nonconvulsive_treated"
    else:
        c["consciousness_worst"] = "unarousable"
        if not child:
            c["ice_min"] = 0
        if rs.chance(0.3):
            c["cerebral_edema"] = "diffuse_or_signs"
    assert astct_icans_grade(c, age_years) == grade, (grade, age_years, c)
    return c
