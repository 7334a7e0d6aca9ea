"""The lock that lets runs started at once share one SQLite MLflow store.

MLflow creates an SQLite store's tables on first open and numbers registry writes without
coordinating processes, so those sequences run under :func:`store_lock`, an ``fcntl`` lock on
``mlflow.db.lock`` beside the database. A tracking server (``http://...``) serializes writes
in its own database; there the lock is a no-op.
"""

from __future__ import annotations

import errno
import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..runner.project import home_dir

SQLITE_PREFIX = "sqlite:///"
LOCK_SUFFIX = ".lock"
_READ_ONLY_ERRORS = (errno.EACCES, errno.EPERM, errno.EROFS)
_held_locks: set[Path] = set()  # lock files this process holds: nested use must not deadlock


def sqlite_path(tracking_uri: str) -> Path | None:
    """Return the database file of an ``sqlite:///`` URI (relative ones under the project dir)."""
    if not tracking_uri.startswith(SQLITE_PREFIX):
        return None
    path = Path(tracking_uri[len(SQLITE_PREFIX):])
    return path if path.is_absolute() else home_dir() / path


def store_lock_path(tracking_uri: str) -> Path | None:
    """Return the lock file of an SQLite store (``mlflow.db.lock`` beside it), None for servers."""
    database = sqlite_path(tracking_uri)
    if database is None:
        return None
    database = database.resolve()
    return database.with_name(database.name + LOCK_SUFFIX)


@contextmanager
def store_lock(tracking_uri: str) -> Iterator[None]:
    """Hold the store's exclusive lock while the body runs: one process at a time writes.

    For an SQLite store this waits for ``mlflow.db.lock`` (``fcntl.flock``, released by the
    system even when a run is killed); for a server it does nothing. Nested use in one
    process is allowed.
    """
    path = store_lock_path(tracking_uri)
    if path is None or path in _held_locks:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        handle = open(path, "a")
    except OSError as exc:
        if exc.errno not in _READ_ONLY_ERRORS:
            raise
        yield  # a read-only store (scoring from a mounted copy): this process cannot write it
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        _held_locks.add(path)
        try:
            yield
        finally:
            _held_locks.discard(path)
            fcntl.flock(handle, fcntl.LOCK_UN)
