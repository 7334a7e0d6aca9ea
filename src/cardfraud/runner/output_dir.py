"""Which output dirs a run may write in, and which of their files a run wrote.

A run writes only into an output dir that does not exist yet, is empty (a run's lock file
aside), or carries the marker file ``.cardfraud-output`` that the first run there left. The
marker lists the files the last published run wrote under ``executed/``, ``artifacts/`` and
``site/``: publishing replaces those and keeps every other file where it is (a user's
``site/mywebsite.html`` stays). Any other dir is refused with one line naming it and the
files found there.

Two dirs are adopted without a marker:

- the project's own ``reports/`` (the default, ignored by git; the repository ships its
  README.md);
- an output dir of a version of cardfraud from before the marker: nothing in it but
  ``executed/``, ``artifacts/``, ``site/``, ``runs/``, ``run.json``, ``.run.lock`` and a
  ``run.json`` that is a run record. That version replaced those three folders whole at every
  run, so their files no newer than ``run.json`` are taken as written by it; newer ones were
  put there afterwards and are kept like any file a run did not write.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from .artifacts import resolve_output_dir, write_json_atomic
from .config import ConfigError

MARKER = ".cardfraud-output"
PUBLISHED = ("executed", "artifacts", "site")
RUN_RECORD = "run.json"
LOCK_FILE = ".run.lock"
# what an output dir of an earlier version of the product held
EARLIER_LAYOUT = {*PUBLISHED, "runs", RUN_RECORD, LOCK_FILE}
EXAMPLES_SHOWN = 3


class OutputDirRefused(ConfigError):
    """The output dir holds files that no cardfraud run wrote; the message names it and them."""


def files_under(root: Path, folders: tuple[str, ...] = PUBLISHED) -> set[str]:
    """Return the files (and symlinks) under ``root/<folder>``, as relative POSIX paths."""
    found = set()
    for folder in folders:
        for dirpath, dirnames, filenames in os.walk(root / folder):
            here = Path(dirpath)
            links = [d for d in dirnames if (here / d).is_symlink()]  # os.walk does not follow
            for name in filenames + links:
                found.add((here / name).relative_to(root).as_posix())
    return found


def is_run_record(path: Path) -> bool:
    """Return True when ``path`` is a run.json written by run_all (a run id and its steps)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(record, dict) and {"run_id", "status", "steps"} <= set(record)


def files_of_earlier_run(output: Path) -> set[str]:
    """Return the published files an earlier version wrote: those no newer than its run.json."""
    record = output / RUN_RECORD
    if not is_run_record(record):
        return set()
    published_at = record.stat().st_mtime_ns
    return {name for name in files_under(output)
            if (output / name).lstat().st_mtime_ns <= published_at}


def is_earlier_output_dir(output: Path) -> bool:
    """Return True for an output dir of cardfraud from before the marker (see module doc)."""
    entries = {p.name for p in output.iterdir()}
    if not entries <= EARLIER_LAYOUT:
        return False
    records = [output / RUN_RECORD, *(output / "runs").glob(f"*/{RUN_RECORD}")]
    return any(is_run_record(path) for path in records)


def first_files(root: Path, count: int) -> list[str]:
    """Return up to ``count`` files under ``root`` in name order, without walking all of it."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        here = Path(dirpath)
        found += [(here / name).relative_to(root).as_posix() for name in sorted(filenames)]
        if len(found) >= count:
            break
    return found[:count]


def refusal(output: Path) -> OutputDirRefused:
    """Return the one-line refusal naming the dir and a few of the files found in it."""
    found = first_files(output, EXAMPLES_SHOWN + 1) or sorted(p.name for p in output.iterdir())
    shown = ", ".join(found[:EXAMPLES_SHOWN]) + (", ..." if len(found) > EXAMPLES_SHOWN else "")
    return OutputDirRefused(
        f"output dir {output} holds files no cardfraud run wrote ({shown}); a run writes only "
        f"into a new or empty dir or one a run created (it holds {MARKER}): pass another --output")


def claim_output_dir(output: Path) -> None:
    """Make sure a run may write into ``output``, marking it as cardfraud's when new.

    Raises:
        OutputDirRefused: the dir is a file or holds files no cardfraud run wrote.
    """
    if output.exists() and not output.is_dir():
        raise OutputDirRefused(f"output dir {output} is a file; pass a folder to --output")
    if (output / MARKER).is_file():
        return
    if not output.exists() or {p.name for p in output.iterdir()} <= {LOCK_FILE}:
        record_published_files(output, set())
    elif output == resolve_output_dir(None) or is_earlier_output_dir(output):
        record_published_files(output, files_of_earlier_run(output))
    else:
        raise refusal(output)


def published_files(output: Path) -> set[str]:
    """Return the files the last published run wrote, as the marker lists them."""
    try:
        marker = json.loads((output / MARKER).read_text(encoding="utf-8"))
        return set(marker.get("published_files", []))
    except (OSError, ValueError, AttributeError):
        return set()  # an unreadable marker: treat every file as the user's, so none is lost


def record_published_files(output: Path, files: set[str]) -> None:
    """Write the marker listing the files a published run wrote."""
    write_json_atomic(output / MARKER, {
        "about": "Output dir of cardfraud's run_all.py. A run replaces the files listed here "
                 "(those the last published run wrote) and keeps every other one.",
        "updated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "published_files": sorted(files),
    })


def foreign_files(output: Path) -> set[str]:
    """Return the files under executed/, artifacts/ and site/ that no published run wrote."""
    return files_under(output) - published_files(output)
