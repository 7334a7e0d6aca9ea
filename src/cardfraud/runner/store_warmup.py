"""Get a run's MLflow store ready while the first steps run.

Importing MLflow and creating a new SQLite store's tables (its schema migrations) take seconds
of plain Python. run_all's own process waits idle while the kernel runs the steps, so once the
load step has succeeded it does this work on a background thread, beside the kernel, for runs
that go on to the modeling or registry step. The modeling step then finds the tables made (the
store's lock, :func:`cardfraud.modeling.tracking.open_store`, makes it wait if they are still
being made). Only SQLite stores are prepared (a tracking server has its own tables), and a
failure here is left for the modeling step to report in its own words.
"""

from __future__ import annotations

import threading

from .contract import REGISTRY_STEP

STORE_STEPS = ("modeling", REGISTRY_STEP)


def needs_store(step_names: list[str]) -> bool:
    """Whether any of the steps still to run writes to the MLflow store."""
    return any(name in STORE_STEPS for name in step_names)


def _prepare(tracking_uri: str | None) -> None:
    """Create (or check) the SQLite store's tables; swallow any error (the step reports it)."""
    try:
        from ..modeling import tracking

        uri = tracking.resolve_tracking_uri(tracking_uri)
        if tracking.sqlite_path(uri) is not None:
            tracking.configure_tracking(uri)
    except Exception:  # noqa: BLE001  the modeling step opens the store again and says why
        pass


class StoreWarmup:
    """A background thread preparing the run's store; :meth:`wait` before the process ends."""

    def __init__(self):
        self.thread: threading.Thread | None = None

    def start(self, tracking_uri: str | None, steps_to_come: list[str]) -> None:
        """Start preparing the store once, if a step to come uses it."""
        if self.thread is not None or not needs_store(steps_to_come):
            return
        self.thread = threading.Thread(target=_prepare, args=(tracking_uri,),
                                       name="mlflow-store-warmup", daemon=True)
        self.thread.start()

    def wait(self, timeout: float = 60.0) -> None:
        """Let a store still being prepared finish (its migrations must not be cut short)."""
        if self.thread is not None:
            self.thread.join(timeout)
