"""The allocator setting the command line applies before polars is imported."""

from __future__ import annotations

import os
import subprocess
import sys

from cart_registry.runtime import POLARS_MALLOC_CONF, POLARS_MALLOC_ENV

PROBE = (
    "import os, sys\n"
    "import cart_registry.cli.main\n"
    "assert 'polars' not in sys.modules\n"
    f"print(os.environ.get({POLARS_MALLOC_ENV!r}))\n"
)


def _run(code: str, env: dict[str, str]) -> str:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, check=True)
    return proc.stdout.strip()


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != POLARS_MALLOC_ENV}
    env.update(extra)
    return env


def test_the_cli_sets_the_allocator_before_polars_is_imported() -> None:
    assert _run(PROBE, _env()) == POLARS_MALLOC_CONF


def test_a_setting_of_the_user_is_kept() -> None:
    assert _run(PROBE, _env(**{POLARS_MALLOC_ENV: "dirty_decay_ms:0"})) == "dirty_decay_ms:0"


def test_too_late_once_polars_is_imported() -> None:
    code = ("import polars\nfrom cart_registry.runtime import configure_allocator\n"
            "print(configure_allocator())\n")
    assert _run(code, _env()) == "None"
