"""The champion alias moves when run_all publishes a run, never while its steps run.

The registry step records its decision (``promotion_pending`` in ``results/registry.json``);
run_all calls :func:`promote_pending_champion` as the last act before swapping the run's
outputs into place and :func:`restore_champion` when that swap fails, so the site, the
registry and the monitoring log always describe the same champion.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# MLflow is imported inside the functions: run_all imports this module at start-up.


@dataclass
class PendingPromotion:
    """A promotion decided by the registry step of a run, applied when the run publishes."""

    model_name: str
    version: int
    previous_version: int | None
    tracking_uri: str


def promotion_lock_path(tracking_uri: str, model_name: str) -> Path:
    """Return the lock file that serializes promotions of a model in a store.

    Beside the database for an SQLite store; for a server, in this machine's cache
    (``$XDG_CACHE_HOME/cardfraud`` or ``~/.cache/cardfraud``), keyed by the URI and model.
    """
    from ..modeling.tracking import sqlite_path

    key = hashlib.sha256(f"{tracking_uri}|{model_name}".encode()).hexdigest()[:16]
    database = sqlite_path(tracking_uri)
    if database is not None:
        return database.resolve().with_name(f"{database.name}.promotion-{key}.lock")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cardfraud"
    return cache / f"promotion-{key}.lock"


@contextmanager
def promotion_lock(tracking_uri: str, model_name: str, say=print) -> Iterator[None]:
    """Hold the model's promotion lock from the registry step until the run has published.

    A second run on the same store waits here before comparing with the champion, so it
    compares with the champion the first run published: both succeed and exactly one version
    is champion. Runs on other machines sharing a server are caught at publish instead
    (:func:`promote_pending_champion` refuses a champion moved meanwhile).
    """
    path = promotion_lock_path(tracking_uri, model_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"registry: waiting for another run promoting {model_name} in {tracking_uri}")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class PromotionFailed(RuntimeError):
    """The champion alias could not be moved; the message is the one line to print."""


def pending_promotion(registry: dict | None, run_id: str) -> PendingPromotion | None:
    """Return the promotion the registry step of run ``run_id`` decided, if any.

    Results copied from an earlier run (``--only`` without the registry step) promote nothing.
    """
    if not registry or not registry.get("promotion_pending"):
        return None
    if registry.get("report_run_id") != run_id or registry.get("version") is None:
        return None
    previous = registry.get("previous_champion_version")
    return PendingPromotion(registry["model_name"], int(registry["version"]),
                            None if previous is None else int(previous),
                            registry["tracking_uri"])


def promote_pending_champion(pending: PendingPromotion) -> str:
    """Point ``champion`` at the pending version and tag when; return the time (UTC, ISO).

    The champion moves only if it is still the one the registry step compared against: under
    the store's lock for SQLite nothing can come between the check and the move; a server has
    no compare-and-set, so the alias is read back after the move.

    Raises:
        PromotionFailed: the registry could not be updated, or another run promoted a version
            meanwhile (nothing was changed).
    """
    from mlflow.exceptions import MlflowException

    from ..modeling.tracking import store_lock
    from .registry import CHAMPION, CHAMPION_SINCE_TAG

    client = _registry_client(pending)
    since = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    with store_lock(pending.tracking_uri):
        now = _champion_version(client, pending.model_name)
        if now != pending.previous_version:
            raise PromotionFailed(champion_taken_reason(pending, now))
        try:
            client.set_registered_model_alias(pending.model_name, CHAMPION, str(pending.version))
            client.set_model_version_tag(pending.model_name, str(pending.version),
                                         CHAMPION_SINCE_TAG, since)
        except MlflowException as exc:
            restore_champion(pending)
            raise PromotionFailed(f"could not make version {pending.version} of "
                                  f"{pending.model_name} champion: "
                                  f"{str(exc.message).splitlines()[0]}") from None
        now = _champion_version(client, pending.model_name)
    if now != pending.version:
        raise PromotionFailed(champion_taken_reason(pending, now))
    return since


def champion_taken_reason(pending: PendingPromotion, now: int | None) -> str:
    """Say that another run moved the champion while this one ran, and what to do."""
    compared = ("no champion" if pending.previous_version is None
                else f"champion v{pending.previous_version}")
    return (f"another run made v{now} of {pending.model_name} champion while this run compared "
            f"v{pending.version} with {compared}: v{pending.version} stays challenger; run "
            f"again to compare it with v{now}")


def _champion_version(client, model_name: str) -> int | None:
    """Return the version carrying ``champion`` (None when there is none)."""
    from mlflow.exceptions import MlflowException

    from .registry import CHAMPION

    try:
        return int(client.get_model_version_by_alias(model_name, CHAMPION).version)
    except MlflowException:
        return None


def restore_champion(pending: PendingPromotion) -> None:
    """Put ``champion`` back on the version that held it before the run (or remove it)."""
    from mlflow.exceptions import MlflowException

    from .registry import CHAMPION

    client = _registry_client(pending)
    try:
        if pending.previous_version is None:
            client.delete_registered_model_alias(pending.model_name, CHAMPION)
        else:
            client.set_registered_model_alias(pending.model_name, CHAMPION,
                                              str(pending.previous_version))
    except MlflowException:
        pass  # the alias was never moved, or the store is unreachable: nothing more to undo


def record_promotion(registry: dict, since: str) -> dict:
    """Return the registry results once the promotion is applied (for run.json)."""
    return {**registry, "promotion_pending": False, "champion_since": since}


def _registry_client(pending: PendingPromotion):
    """Return an MLflow client on the store where the registry step registered the version."""
    from ..modeling.tracking import tracking_client
    from .scorer import configure_quiet_tracking

    return tracking_client(configure_quiet_tracking(pending.tracking_uri))
