"""Real public FHIR files: read and ingested without a traceback, unrelated content counted.

The expected per-type counts are computed here independently, with plain ``json``: every
resource that is not a Patient is unrelated to the registry (none of these files carries a
registry code), so it must be counted as ignored under its own type; Bundle entries without
a resource count as ``Bundle``; lines that are not resources (the Bulk exporter's own
``log.ndjson``) are quarantined with their line number.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from cart_registry.project import Project
from tests.conftest import REPO_ROOT, shared_path
from tests.fhir.conftest import make_project

REALDATA = ("hl7-fhir-r4-examples", "synthea-r4-transaction-bundles",
            "synthea-bulk-ndjson-10-patients")


def _expected(folder: Path) -> tuple[Counter[str], int, int]:
    """(resources per type, Patients, lines that are not resources) by plain JSON parsing."""
    types: Counter[str] = Counter()
    patients = not_resources = 0

    def one(res: object) -> None:
        nonlocal patients, not_resources
        if isinstance(res, dict) and isinstance(res.get("resourceType"), str):
            if res["resourceType"] == "Patient":
                patients += 1
            else:
                types[res["resourceType"]] += 1
        else:
            not_resources += 1

    for path in sorted(folder.rglob("*")):
        if path.suffix == ".ndjson":
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    one(json.loads(line))
        elif path.suffix == ".json":
            doc = json.loads(path.read_text(encoding="utf-8"))
            if doc.get("resourceType") == "Bundle":
                for entry in doc.get("entry", []):
                    if "resource" in entry:
                        one(entry["resource"])
                    else:
                        types["Bundle"] += 1
            else:
                one(doc)
    return types, patients, not_resources


@pytest.mark.parametrize("name", REALDATA)
def test_unrelated_content_is_counted_per_type(name: str) -> None:
    from cart_registry.fhir.export import read_export

    folder = shared_path("realdata", name)
    types, patients, not_resources = _expected(folder)
    read = read_export(folder)
    assert read.ignored_by_type() == types
    assert len(read.rows["fhir:patient"]) == patients
    assert len({(p.file, p.row) for p in read.problems}) == not_resources
    assert all(p.reason_code == "not_a_resource" and p.row for p in read.problems)
    assert sum(read.rows_read.values()) == sum(types.values()) + patients + not_resources


@pytest.mark.parametrize("name", REALDATA)
def test_real_files_ingest_with_a_balanced_ledger(name: str, tmp_path: Path) -> None:
    """Through the whole ingest, with the default FHIR mapping under a made-up site."""
    from cart_registry.fhir import ingest_fhir_submission

    folder = shared_path("realdata", name)
    root = make_project(tmp_path / "project", sites=())
    shutil.copytree(REPO_ROOT / "mappings" / "fhir_default", root / "mappings" / "fhir_default")
    site = root / "mappings" / "site_real"
    site.mkdir()
    text = (REPO_ROOT / "mappings" / "site_fhir" / "site.yaml").read_text(encoding="utf-8")
    (site / "site.yaml").write_text(text.replace("site_id: site_fhir", "site_id: site_real"),
                                    encoding="utf-8")  # extends fhir_default, no own tables
    result = ingest_fhir_submission(Project.find(root), folder, "site_real",
                                    received_at="2024-01-01T00:00:00Z")
    assert result.ok
    types, patients, not_resources = _expected(folder)
    assert result.totals["rows_read"] == sum(types.values()) + patients + not_resources
    # the public Patients carry no registry status: quarantined, never silently dropped
    assert result.totals["rows_quarantined"] >= not_resources
    assert result.tables.get("patient", 0) == 0
