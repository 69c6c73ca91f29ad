"""Shared fixtures for the report tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.report._truthdb import truth_connection


@pytest.fixture(scope="session")
def truth_con() -> Iterator[Any]:
    """One in-memory warehouse over the synthetic truth for the whole session. Tests that
    change a view rebuild the views before they return."""
    con = truth_connection()
    yield con
    con.close()


@pytest.fixture(scope="session")
def truth_data(truth_con: Any) -> Any:
    """The report's data read once from the truth warehouse (default settings)."""
    from cart_registry.report.api import collect_report_data

    return collect_report_data(truth_con, registry_name="abstract sample")
