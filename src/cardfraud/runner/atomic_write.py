"""Write a file so that a reader sees the old file or the new one, never half of either.

Every file the product writes (artifacts, results, the monitoring log, scores, simulated
extracts, the output dir's marker) goes through :func:`atomic_path`: the content is written
to a temporary file in the target's own folder (a rename across file systems is not atomic),
flushed to disk (``fsync``), then renamed onto the target with ``os.replace``. When writing
fails or is interrupted, the temporary file is removed and the target keeps its old content.

The temporary file is ``.<name>.cardfraud-<pid>-<8 hex>.tmp``, opened normally (so it gets
the user's usual permissions): hidden, and the process id lets a later run tell the leftover of
a killed process (SIGKILL, power cut) from the file of one still writing.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TEMPORARY_FILE = re.compile(r"\..+\.cardfraud-(\d+)-[0-9a-f]{8}\.tmp")


def temporary_path(path: Path) -> Path:
    """Return a new temporary name beside ``path``, carrying this process's id."""
    return path.parent / f".{path.name}.cardfraud-{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp"


def _fsync(path: Path) -> None:
    """Flush a file (or a folder's entries) to disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; on leaving the block it replaces ``path`` whole.

    Example::

        with atomic_path(target) as tmp:
            frame.to_parquet(tmp, index=False)

    Raises whatever the block raised, after removing the temporary file; ``path`` is then
    untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(path)
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
        try:
            _fsync(path.parent)  # the rename itself survives a power cut
        except OSError:
            pass  # some file systems cannot sync a folder; the file's content is already safe
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through :func:`atomic_path`; return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
