"""Process-wide settings the command line applies before any heavy library is imported.

polars allocates through jemalloc, whose background thread hands freed pages back to the
kernel half a second after they are freed (polars' default ``dirty_decay_ms:500``). A batch
job that builds and drops columns of a million rows then pays for the same pages again and
again: zeroing fresh pages, page faults and ``madvise`` calls were a fifth of a CSV ingest's
CPU time. Keeping freed pages for five seconds before returning them removes most of that
cost (1e6-row ingest: about 8% less wall time, peak resident memory 1.43 -> 1.57 GB in the
benchmark, which repeats the ingest in one process); memory still goes back to the kernel
once a step is over. jemalloc reads the setting once, when polars is first imported, so
``cart-registry`` sets it at start-up; a value the user put in the environment is left
alone. Programs that use the library directly may call ``configure_allocator`` before they
import polars.
"""

from __future__ import annotations

import os
import sys

#: polars' own jemalloc configuration (the ``_RJEM_`` prefix is its jemalloc's)
POLARS_MALLOC_ENV = "_RJEM_MALLOC_CONF"
POLARS_MALLOC_CONF = "background_thread:true,dirty_decay_ms:5000,muzzy_decay_ms:0"


def configure_allocator() -> str | None:
    """Set polars' allocator configuration unless the user set one; return the value in
    force, or None when polars was already imported (too late to change it)."""
    if any(m == "polars" or m.startswith("_polars_runtime") for m in sys.modules):
        return None
    return os.environ.setdefault(POLARS_MALLOC_ENV, POLARS_MALLOC_CONF)
