"""Writes that other processes may race: atomic replacement and a lock per run folder.

Two runs on one ``--out``, ``torchrun`` ranks filling one prototype cache, or ``reproduce`` beside a
``train`` all write the same paths. Every such write goes through :func:`write_atomic`: a temp file
with a unique name in the destination's folder, then ``os.replace``, so a reader sees the old file or
the new one and never a half-written one, and the temp file is removed if anything fails (a full
disk included). :func:`run_lock` keeps a second writer out of a run folder.
"""

from __future__ import annotations

import errno
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Callable, Iterator

__all__ = ["FolderBusy", "write_atomic", "run_lock", "exclusive"]


class FolderBusy(RuntimeError):
    """Another process holds the run folder's lock."""


def write_atomic(path: str | Path, content: bytes | str | Callable[[IO[bytes]], None]) -> None:
    """Replace ``path`` with ``content`` (bytes, text, or a function writing to a binary file) atomically."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(content):
                content(f)
            else:
                f.write(content.encode() if isinstance(content, str) else content)
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; the file replaces one anybody could read
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


@contextmanager
def run_lock(folder: str | Path) -> Iterator[None]:
    """Hold ``folder/.lock`` for the duration; raise :class:`FolderBusy` if another process holds it.

    An advisory ``flock``: released by the kernel when the holder exits, even when it is killed, so a
    killed run never leaves a stale lock behind.
    """
    import fcntl

    folder = Path(folder)
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            if err.errno in (errno.EWOULDBLOCK, errno.EACCES):
                raise FolderBusy(f"{folder} is being written by another run; wait for it or use another --out") from None
            raise
        yield
    finally:
        os.close(fd)


@contextmanager
def exclusive(folder: str | Path) -> Iterator[None]:
    """Wait for and hold an exclusive ``flock`` on ``folder`` itself: one process at a time in the
    block (e.g. unpacking a data set that another run may be unpacking too); it leaves no file."""
    import fcntl

    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
