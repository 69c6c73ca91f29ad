"""Duplicate primary keys are found through key hashes, exactly as a direct comparison would."""

from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from cart_registry.ingest.conform import duplicated_keys
from tests.mapping.helpers import props

keys = st.one_of(st.none(), st.sampled_from(["a", "b", "c", "", "a "]))


def expected(frame: pl.DataFrame, key: list[str]) -> list[bool]:
    expr = pl.col(key[0]) if len(key) == 1 else pl.struct(key)
    return frame.select(expr.is_duplicated()).to_series().to_list()


@props(100)
@given(rows=st.lists(st.tuples(keys, keys), max_size=30))
def test_duplicated_keys_match_a_direct_comparison(
        rows: list[tuple[str | None, str | None]]) -> None:
    frame = pl.DataFrame({"k1": [r[0] for r in rows], "k2": [r[1] for r in rows]},
                         schema={"k1": pl.String, "k2": pl.String})
    for key in (["k1"], ["k1", "k2"]):
        got = duplicated_keys(frame, key)
        want = expected(frame, key)
        assert (got.to_list() if got is not None else [False] * frame.height) == want
        assert (got is None) == (not any(want))
