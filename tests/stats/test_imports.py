"""Importing the package must stay cheap: no lifelines, matplotlib or scipy at import."""

from __future__ import annotations

import json
import subprocess
import sys


def test_import_does_not_load_heavy_modules() -> None:
    code = (
        "import json, sys; import cart_registry.stats; "
        "print(json.dumps([m for m in ('lifelines', 'matplotlib', 'scipy', 'pandas') "
        "if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
