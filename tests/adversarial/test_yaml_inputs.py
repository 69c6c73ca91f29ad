"""Hostile mapping and settings YAML: billion laughs, Python tags, deep nesting, bad bytes.
Only safe loading is used; each file is refused in one line and nothing runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.adversarial.conftest import Harness
from tests.deid.support import TINY_SITE

PWNED = "/tmp/cart_registry_adversarial_pwned"
LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]\n"
    for i in range(8))
DOCS: dict[str, str | bytes] = {
    "billion_laughs": LAUGHS,
    "laughs_in_a_valid_file": LAUGHS + TINY_SITE,
    "laughs_in_a_typed_field": TINY_SITE.replace("missing_codes: [UNK]", "missing_codes: *i")
    + LAUGHS,
    "python_object_apply": f"a: !!python/object/apply:os.system ['touch {PWNED}']\n",
    "python_object_new": "a: !!python/object/new:subprocess.Popen [['id']]\n",
    "python_name": "a: !!python/name:os.system\n",
    "python_module": "a: !!python/module:os\n",
    "custom_tag": "a: !foo bar\n",
    "binary_tag": "a: !!binary aGVsbG8=\n",
    "set_tag": "a: !!set {x, y}\n",
    "deep_flow_nesting": "a: " + "[" * 1500 + "]" * 1500 + "\n",
    "deep_block_nesting": "".join("  " * i + f"k{i}:\n" for i in range(800)) + "  " * 800 + "v\n",
    "huge_scalar": "a: " + "x" * (1 << 20) + "\n",
    "bad_utf8": b"a: \xff\xfe\n",
    "nul_byte": "a: b\x00c\n",
    "list_at_top": "- 1\n- 2\n",
    "scalar_at_top": "just text\n",
    "empty_document": "",
    "two_documents": "a: 1\n---\nb: 2\n",
    "merge_key_list": "x: &x {a: 1}\ny: {<<: [*x, *x, *x]}\n",
    "non_string_keys": "1: 2\n? [a, b]\n: c\n",
    "duplicate_keys": TINY_SITE + "mapping_version: again\n",
    "tab_indentation": "a:\n\tb: 1\n",
    "anchor_cycle_like": "a: &a {b: *a}\n",
}
TARGETS = {
    # file under the project -> the command that reads it
    "site": ("mappings/site_tiny/site.yaml", ["mapping", "check", "site_tiny"]),
    "table": ("mappings/site_tiny/patient.yaml", ["mapping", "check", "site_tiny"]),
    "settings": ("mappings/registry.yaml", ["sql", "SELECT 1"]),
    "catalog": ("mappings/constructs.yaml", ["ingest", "{export}", "--site", "site_tiny"]),
}


@pytest.fixture()
def restore(harness: Harness) -> Iterator[None]:
    saved = {k: (harness.project.root / v[0]).read_bytes() for k, v in TARGETS.items()}
    yield
    for k, data in saved.items():
        (harness.project.root / TARGETS[k][0]).write_bytes(data)


#: every document against the mapping files; the kinds that differ against settings/catalog
#: (which are read with yaml.safe_load, not the mapping loader)
SAFE_LOAD_DOCS = ("billion_laughs", "laughs_in_a_typed_field", "python_object_apply",
                  "python_name", "custom_tag", "deep_flow_nesting", "deep_block_nesting",
                  "bad_utf8", "nul_byte", "list_at_top", "empty_document", "two_documents",
                  "non_string_keys", "anchor_cycle_like")
PAIRS = [(d, t) for d in sorted(DOCS) for t in ("site", "table")] + [
    (d, t) for d in SAFE_LOAD_DOCS for t in ("settings", "catalog")]


@pytest.mark.parametrize(("doc", "target"), PAIRS)
def test_hostile_yaml(harness: Harness, tmp_path: Path, restore: None, target: str, doc: str
                      ) -> None:
    from tests.adversarial.test_csv_inputs import OK_ROW, H, _export

    rel, command = TARGETS[target]
    text = DOCS[doc]
    data = text.encode() if isinstance(text, str) else text
    (harness.project.root / rel).write_bytes(data)
    export = _export(tmp_path, H + OK_ROW)
    args = [str(export) if a == "{export}" else a for a in command]
    out = harness.attempt(args)
    assert not Path(PWNED).exists()
    if doc in ("billion_laughs", "laughs_in_a_valid_file", "laughs_in_a_typed_field",
               "python_object_apply", "deep_flow_nesting", "bad_utf8", "nul_byte"):
        # refused in one line, or (mapping check) reported as an error of the mapping
        assert out.kind == "refused" or out.body.get("ok") is False, out
