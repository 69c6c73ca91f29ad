"""Opening the DuckDB registry: one writer at a time, readers attached read-only.

DuckDB lets one process hold a database file read-write (an OS file lock); a second writer
(or a reader while a writer holds it) fails at open. ``open_registry`` retries that for a
while and then names the lock and its holder in one line, instead of a stack trace.

The file is always attached under the fixed alias ``registry_db`` and made the default
catalog. Opening it directly would name the catalog after the file (``registry`` for
``registry.duckdb``), and a catalog that shares its name with a schema makes DuckDB refuse
two-part names as ambiguous; the fixed alias keeps every name in the views unambiguous
whatever the file is called.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from cart_registry.errors import ProjectError

if TYPE_CHECKING:
    import duckdb

ALIAS = "registry_db"
DEFAULT_LOCK_TIMEOUT = 30.0
_PID_RE = re.compile(r"PID (\d+)")


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc)
    return "lock" in text.lower() and ("Conflicting lock" in text or "Could not set lock" in text)


def _lock_message(path: Path, exc: Exception, waited: float) -> str:
    m = _PID_RE.search(str(exc))
    holder = f"process {m.group(1)}" if m else "another process"
    return (
        f"registry {path} is locked by {holder} (DuckDB allows one writer per file); "
        f"gave up after {waited:.0f} s"
    )


def attach(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    read_only: bool,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> None:
    """ATTACH the registry file as ``registry_db``, retrying while another process holds it."""
    import duckdb

    mode = " (READ_ONLY)" if read_only else ""
    start = time.monotonic()
    delay = 0.05
    while True:
        try:
            con.execute(f"ATTACH {_sql_str(str(path))} AS {ALIAS}{mode}")
            return
        except duckdb.Error as exc:
            if not _is_lock_error(exc):
                first = str(exc).strip().splitlines()[0]
                raise ProjectError(f"cannot open registry {path}: {first}") from None
            waited = time.monotonic() - start
            if waited >= lock_timeout:
                raise ProjectError(
                    _lock_message(path, exc, waited),
                    hint="wait for it to finish, or raise --lock-timeout",
                ) from None
            time.sleep(min(delay, max(0.0, lock_timeout - waited)))
            delay = min(delay * 2, 1.0)


@contextlib.contextmanager
def open_registry(path: Path, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> Iterator[
    duckdb.DuckDBPyConnection
]:
    """A read-write connection whose default catalog is the registry file."""
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        attach(con, path, read_only=False, lock_timeout=lock_timeout)
        con.execute(f"USE {ALIAS}")
        yield con
    finally:
        con.close()


def registry_exists(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0
