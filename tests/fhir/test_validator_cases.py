"""Our verdict on HL7's validator test cases agrees with the official Java validator.

INDEX.csv gives the Java validator's error count per case (0 = accepted). We run
``check_file(strict=True)`` without a terminology server. Cases whose verdict depends on what
we do not run are listed in ``NEEDS_EXTERNAL`` (and in docs/fhir-ingest.md) with the reason;
for them the test pins our own verdict so that a change is noticed.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.conftest import SHARED, shared_path

CASES = SHARED / "realdata" / "fhir-validator-test-cases"

#: case -> (our verdict, why the Java validator's differs)
NEEDS_EXTERNAL = {
    "pat-dob-ext": ("accept", "the Java validator rejects an extension whose StructureDefinition "
                              "it cannot fetch; we do not resolve extension definitions"),
}


def _rows() -> list[dict[str, str]]:
    index = CASES / "INDEX.csv"
    if not index.is_file():
        return [{"test_name": "absent"}]
    with index.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("case", _rows(), ids=lambda r: r["test_name"])
def test_verdict_agrees_with_java_validator(case: dict[str, str]) -> None:
    from cart_registry.fhir.checkfile import check_file

    folder = shared_path("realdata", "fhir-validator-test-cases")
    problems = check_file(Path(folder / "inputs" / case["input_file"]), strict=True)
    ours = "reject" if problems else "accept"
    theirs = "reject" if int(case["java_validator_error_count"]) > 0 else "accept"
    if case["test_name"] in NEEDS_EXTERNAL:
        assert ours == NEEDS_EXTERNAL[case["test_name"]][0]
        return
    assert ours == theirs, [str(p) for p in problems]
    for p in problems:  # every problem is located
        assert p.file and (p.path or p.reason_code in ("invalid_json", "duplicate_key"))
        if p.reason_code == "invalid_json":
            assert "line" in p.message and "column" in p.message


def test_bad_json_names_line_and_column() -> None:
    from cart_registry.fhir.checkfile import check_file

    folder = shared_path("realdata", "fhir-validator-test-cases")
    (p,) = check_file(folder / "inputs" / "bad-json-close-1.json")
    assert p.reason_code == "invalid_json" and "line 15, column 11" in p.message
