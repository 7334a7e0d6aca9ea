"""Staging and publishing a run: a run writes into a staging dir and is swapped into place whole.

The output dir is locked while a run stages or publishes; the champion moves as the last act
before the swap and is put back when the swap fails; failed runs are kept (the last few) for
inspection, and the monitoring log persists from one run to the next.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import re
import shutil
import signal
import threading
from contextlib import contextmanager
from pathlib import Path

from .artifacts import (
    write_json_atomic,
)
from .config import (
    ConfigError,
)
from .contract import ARTIFACTS_FOLDER, REGISTRY_RESULTS, kept_between_runs
from .output_dir import (
    LOCK_FILE,
    PUBLISHED,
    RUN_RECORD,
    files_under,
    foreign_files,
    published_files,
    record_published_files,
)

# Files that outlive a run (the monitoring log): carried into the next run's staging dir.
PERSISTENT_ARTIFACTS = kept_between_runs()
KEPT_FAILED_RUNS = 5
RUN_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{4}")


class OutputLock:
    """An exclusive lock on an output dir, so two runs never write into the same place."""

    def __init__(self, output: Path):
        self.path = output / LOCK_FILE
        self.handle = None

    def __enter__(self) -> OutputLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = open(self.path, "a+")
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.handle.seek(0)
            holder = self.handle.read().strip() or "another process"
            self.handle.close()
            raise ConfigError(
                f"another run is already writing to {self.path.parent} ({holder}); "
                f"wait for it to finish or pass --output DIR"
            ) from None
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write(f"pid {os.getpid()}, started {dt.datetime.now():%Y-%m-%d %H:%M:%S}")
        self.handle.flush()
        return self

    def __exit__(self, *exc) -> None:
        self.handle.seek(0)
        self.handle.truncate()
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


def prune_failed_runs(output: Path, keep: int = KEPT_FAILED_RUNS) -> None:
    """Delete all but the newest ``keep`` failed or interrupted runs kept for their tracebacks."""
    runs = sorted(p for p in (output / "runs").glob("2*") if p.is_dir() and RUN_ID.fullmatch(p.name))
    for old in runs[:-keep] if keep else runs:
        shutil.rmtree(old, ignore_errors=True)


def prepare_staging(output: Path, run_id: str, partial: bool) -> Path:
    """Create the run's staging dir; a partial run starts from the published outputs.

    Only files a published run wrote are carried over; the user's stay where they are.
    """
    prune_failed_runs(output)
    staging = output / "runs" / run_id
    (staging / "executed").mkdir(parents=True)
    (staging / ARTIFACTS_FOLDER).mkdir()
    ours = published_files(output)
    if partial:
        carried = {f for f in ours if f.split("/")[0] in ("executed", ARTIFACTS_FOLDER)}
    else:
        carried = {f"{ARTIFACTS_FOLDER}/{name}" for name in PERSISTENT_ARTIFACTS} & ours
    for name in sorted(carried):
        if (output / name).is_file():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(output / name, staging / name)
    return staging


def publish(staging: Path, output: Path) -> None:
    """Swap the staging outputs into the output dir; old ones are removed only after.

    Files under the old executed/, artifacts/ and site/ that no published run wrote (the
    user's) move into the new folders, so none is lost; the marker then lists what this run
    wrote. If the process dies half way, the old folders wait in ``runs/.replaced-<run id>``.

    Raises:
        RunFailed: before anything changes, when a file of the user's has the name of one
            this run wrote.
    """
    replaced = [name for name in PUBLISHED if (staging / name).exists()]
    written = files_under(staging, tuple(replaced))
    kept = foreign_files(output)
    clash = sorted(f for f in kept if f in written
                   or any(str(folder) in written for folder in Path(f).parents))
    if clash:
        raise RunFailed(f"{output / clash[0]} was not written by a cardfraud run and this run "
                        f"writes a file of that name: move it away and run again")
    untouched = {f for f in published_files(output) if f.split("/")[0] not in replaced}
    # listed before the swap, so that a run killed half way never takes ours for the user's
    record_published_files(output, published_files(output) | written)
    trash = output / "runs" / f".replaced-{staging.name}"
    trash.mkdir(parents=True, exist_ok=True)
    for name in replaced:
        if (output / name).exists():
            os.replace(output / name, trash / name)
        os.replace(staging / name, output / name)
        for user_file in sorted(f for f in kept if f.split("/")[0] == name):
            (output / user_file).parent.mkdir(parents=True, exist_ok=True)
            os.replace(trash / user_file, output / user_file)
    os.replace(staging / RUN_RECORD, output / RUN_RECORD)
    record_published_files(output, written | untouched)
    shutil.rmtree(trash, ignore_errors=True)
    shutil.rmtree(staging, ignore_errors=True)


@contextmanager
def interrupts_ignored():
    """Ignore Ctrl-C inside the block (publishing, cleaning up), then restore the handler."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def publish_with_promotion(staging: Path, output: Path, record: dict) -> None:
    """Move ``champion`` to the version this run's registry step promoted, then publish.

    The alias moves last, just before the swap (a registry failure then publishes nothing),
    and moves back when the swap fails, so site, registry and monitoring log stay in step.

    Raises:
        PromotionFailed: the registry could not be updated; nothing was published.
    """
    registry = record.get("registry") or {}
    if not registry.get("promotion_pending"):
        publish(staging, output)
        return
    from ..serving.promotion import (
        pending_promotion,
        promote_pending_champion,
        record_promotion,
        restore_champion,
    )

    pending = pending_promotion(registry, record["run_id"])
    if pending is None:
        publish(staging, output)
        return
    since = promote_pending_champion(pending)
    try:
        record["registry"] = record_promotion(registry, since)
        write_json_atomic(staging / ARTIFACTS_FOLDER / REGISTRY_RESULTS.file, record["registry"])
        write_json_atomic(staging / RUN_RECORD, record)
        publish(staging, output)
    except BaseException:
        restore_champion(pending)
        raise
    say(f"registry: version {pending.version} of {pending.model_name} is now champion")


class RunFailed(RuntimeError):
    """A step or the render failed; the message is the one line to print."""


def say(text: str) -> None:
    print(text, flush=True)
