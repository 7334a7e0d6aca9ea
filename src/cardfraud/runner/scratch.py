"""Where a notebook reads and writes when it is opened by hand instead of run by run_all.

run_all passes ``output_dir`` (the run's staging dir). A notebook opened in Jupyter keeps the
default ``output_dir = None``: it then reads the published outputs (``reports/``, or the
folder named by ``$CARDFRAUD_REPORTS``) through a copy in a new scratch dir,
``<published>/scratch/<UTC time>-<id>/``, and writes only there, so the published artifacts,
the monitoring log and the site are never touched by a notebook run by hand.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from pathlib import Path

from .artifacts import resolve_output_dir

PUBLISHED_ENV = "CARDFRAUD_REPORTS"
SCRATCH_FOLDER = "scratch"
KEPT_SCRATCH_DIRS = 5


def published_dir() -> Path:
    """Return the published outputs a notebook opened by hand reads: $CARDFRAUD_REPORTS or reports/."""
    return resolve_output_dir(os.environ.get(PUBLISHED_ENV) or None)


def new_scratch_dir(published: Path, keep: int = KEPT_SCRATCH_DIRS) -> Path:
    """Create ``<published>/scratch/<time>-<id>``, deleting all but the newest earlier ones."""
    root = published / SCRATCH_FOLDER
    root.mkdir(parents=True, exist_ok=True)
    older = sorted(p for p in root.iterdir() if p.is_dir())
    for old in older[:-(keep - 1)] if keep > 1 else older:
        shutil.rmtree(old, ignore_errors=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    for _ in range(100):  # two dirs in one second: the random suffix tells them apart
        scratch = root / f"{stamp}-{uuid.uuid4().hex[:4]}"
        try:
            scratch.mkdir()
            return scratch
        except FileExistsError:
            continue  # a clash of suffixes: draw another
    raise FileExistsError(f"{root}: no free scratch dir name for {stamp}")


def notebook_output_dir(output_dir: str | os.PathLike | None) -> str:
    """Return where the notebook reads and writes: run_all's dir, else a scratch copy.

    Opened by hand (``output_dir`` None), the published ``artifacts/`` are copied into a new
    scratch dir, which is returned and printed.
    """
    if output_dir is not None and str(output_dir) != "":
        return str(output_dir)
    published = published_dir()
    scratch = new_scratch_dir(published)
    if (published / "artifacts").is_dir():
        shutil.copytree(published / "artifacts", scratch / "artifacts",
                        ignore=shutil.ignore_patterns(".*.tmp"))
    print(f"Opened by hand (output_dir = None): reading the published outputs of {published} "
          f"and writing only to the scratch dir {scratch}; nothing published is changed.")
    return str(scratch)
