"""Atomic file and folder writes, and file hashing.

Every output is written to a temporary name in the destination folder and renamed into place
(``os.replace`` is atomic on POSIX within one file system), so a crash leaves either the old
file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _default_mode() -> int:
    """The mode an ordinary ``open()`` would give a new file (0666 less the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_path(dest: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; rename it onto ``dest`` when the block succeeds."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp makes the file owner-only; a report or export should get the usual permissions
    os.chmod(tmp_path, _default_mode())
    try:
        yield tmp_path
        os.replace(tmp_path, dest)
        _fsync_dir(dest.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_open(
    dest: Path, mode: str = "w", encoding: str | None = "utf-8", newline: str | None = None
) -> Iterator[IO[Any]]:
    with atomic_path(dest) as tmp:
        enc = None if "b" in mode else encoding
        with open(tmp, mode, encoding=enc, newline=newline) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())


def write_text_atomic(dest: Path, text: str, encoding: str = "utf-8") -> None:
    with atomic_open(dest, "w", encoding=encoding, newline="") as fh:
        fh.write(text)


def write_bytes_atomic(dest: Path, data: bytes) -> None:
    with atomic_open(dest, "wb") as fh:
        fh.write(data)


@contextlib.contextmanager
def atomic_dir(dest: Path) -> Iterator[Path]:
    """Build a whole folder under a temporary name, then swap it into place.

    An existing ``dest`` is moved aside and removed only after the new folder is in place, so
    a crash leaves the old folder, the new one, or (recoverably) both under hidden names.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    try:
        yield tmp
        old = None
        if dest.exists():
            old = dest.parent / f".{dest.name}.old"
            if old.exists():
                shutil.rmtree(old)
            os.replace(dest, old)
        os.replace(tmp, dest)
        _fsync_dir(dest.parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def advisory_lock(folder: Path, *, exclusive: bool) -> Iterator[None]:
    """Hold an advisory lock on a folder (``flock`` on the folder itself, so no lock file
    is left behind): shared by any number of holders, or exclusive; between processes and
    between threads alike (each call opens the folder anew). Where ``fcntl`` does not exist
    (Windows) it does not lock."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
