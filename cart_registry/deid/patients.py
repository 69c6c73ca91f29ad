"""One row per patient: pseudonym, date offset and age cap, computed once and joined to rows.

The offset is added to every date of the patient, in every table and file, so every interval
is kept:

* ``shift`` mode: ``-(low + HMAC(key, "shift:" + id) mod (high - low + 1))`` days, always into
  the past, so a shifted date can never pass the data cut-off that the original respected;
* ``intervals`` mode: ``DAY_ZERO - anchor`` days, where the anchor is the patient's first CAR T
  infusion (else the earliest other date, else the birth date). Every date then reads as
  "day N" on a conventional calendar whose day 0 is 1900-01-01; no calendar date survives.

Ages of 90 or more are capped (Safe Harbor 164.514(b)(2)(i)(C)): when a patient's latest date
is 90 years or more after the birth date, the birth date becomes that date minus 90 years.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from cart_registry.deid.keys import SiteKey

if TYPE_CHECKING:
    import polars as pl

Mode = Literal["shift", "intervals"]
DAY_ZERO = dt.date(1900, 1, 1)
AGE_CAP_YEARS = 90
#: roles of a date in the long facts frame
BIRTH, INFUSION, OTHER = "birth", "infusion", "other"


@dataclass(frozen=True)
class ShiftPolicy:
    mode: Mode = "shift"
    low: int = 1
    high: int = 365

    def describe(self) -> dict[str, object]:
        if self.mode == "shift":
            return {"shift_days": {"min": self.low, "max": self.high, "direction": "past"}}
        return {"day_zero": DAY_ZERO.isoformat(),
                "anchor": "first CAR T infusion (else earliest date)"}


def empty_facts() -> pl.DataFrame:
    import polars as pl

    return pl.DataFrame(schema={"key": pl.String, "date": pl.Date, "role": pl.String})


def patient_table(
    keys: pl.Series, facts: pl.DataFrame, key: SiteKey, site_id: str, policy: ShiftPolicy
) -> pl.DataFrame:
    """``key, pseudonym, local_pseudonym, offset, birth_cap, birth_capped`` per patient.

    ``keys`` are the patients' local ids (every distinct id seen); ``facts`` the long frame
    ``key, date, role`` of every parsed date. HMACs are computed once per distinct patient
    (a Python loop over patients, not rows) and reach the rows through a join.
    """
    import polars as pl

    ids = keys.drop_nulls().unique().sort().to_list()
    agg = facts.drop_nulls().group_by("key").agg(
        pl.col("date").filter(pl.col("role") == BIRTH).min().alias("birth"),
        pl.col("date").filter(pl.col("role") == INFUSION).min().alias("first_infusion"),
        pl.col("date").filter(pl.col("role") != BIRTH).min().alias("first_other"),
        pl.col("date").max().alias("last"),
    )
    base = pl.DataFrame({
        "key": ids,
        "local_pseudonym": [key.local_pseudonym(i) for i in ids],
    }, schema={"key": pl.String, "local_pseudonym": pl.String})
    base = base.with_columns((pl.lit(f"{site_id}-") + pl.col("local_pseudonym")).alias("pseudonym"))
    if policy.mode == "shift":
        base = base.with_columns(pl.Series(
            "shift", [key.shift_days(i, policy.low, policy.high) for i in ids], dtype=pl.Int64))
    table = base.join(agg, on="key", how="left")
    if policy.mode == "shift":
        offset = pl.col("shift")
    else:
        anchor = pl.coalesce("first_infusion", "first_other", "birth")
        offset = (pl.lit(DAY_ZERO) - anchor).dt.total_days().fill_null(0)
    cap = pl.col("last").dt.offset_by(f"-{AGE_CAP_YEARS}y")
    return table.select(
        "key", "pseudonym", "local_pseudonym",
        offset.cast(pl.Int64).alias("offset"),
        cap.alias("birth_cap"),
        (pl.col("birth") < cap).fill_null(False).alias("birth_capped"),
    )
