"""Where each step finds and leaves its files, and how it hands results on.

Every step writes into one output dir (``reports/`` by default)::

    artifacts/                       the files steps hand on (named in :mod:`.contract`)
    artifacts/results/<step>.json    the step's headline results, merged into run.json
    artifacts/figures/<step>_*.png   figures, also embedded in the executed notebook
    executed/NN_<step>.ipynb         executed notebooks
    site/                            the rendered report site
    run.json                         the run record

Paths are built from the output dir passed in (or the project dir, :mod:`.project`), never from the
current working directory (papermill changes it). Paths a user types on the command line are
made absolute from the folder the command runs in (:func:`path_from_caller`) before any
notebook starts.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from .atomic_write import atomic_path, write_text_atomic
from .contract import (
    ARTIFACTS_FOLDER,
    DATA_FINGERPRINT,
    FIGURES_FOLDER,
    LOAD_RESULTS,
    LOAD_STEP,
    RESULTS_FOLDER,
    TRANSACTIONS,
    Artifact,
    figure_file,
    results_file,
)
from .project import home_dir

SQLITE_PREFIX = "sqlite:///"


def resolve_output_dir(output_dir: str | os.PathLike | None = None) -> Path:
    """Return the absolute output dir: the one given, else ``<project>/reports``.

    A relative one is taken from the project dir (:mod:`.project`; the cwd outside a project).
    """
    if output_dir is None or str(output_dir) == "":
        return home_dir() / "reports"
    path = Path(output_dir)
    return path if path.is_absolute() else (home_dir() / path).resolve()


def artifacts_dir(output_dir: str | os.PathLike | None = None) -> Path:
    """Return ``<output dir>/artifacts``, created if needed."""
    path = resolve_output_dir(output_dir) / ARTIFACTS_FOLDER
    path.mkdir(parents=True, exist_ok=True)
    return path


def figures_dir(output_dir: str | os.PathLike | None = None) -> Path:
    """Return ``<output dir>/artifacts/figures``, created if needed."""
    path = artifacts_dir(output_dir) / FIGURES_FOLDER
    path.mkdir(parents=True, exist_ok=True)
    return path


def artifact_path(artifact: Artifact, output_dir: str | os.PathLike | None = None) -> Path:
    """Return where ``artifact`` lies in the output dir (its folder created if needed)."""
    path = artifacts_dir(output_dir) / artifact.file
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def transactions_path(output_dir: str | os.PathLike | None = None) -> Path:
    """Return the path of the cleaned transactions handed on by the load step."""
    return artifact_path(TRANSACTIONS, output_dir)


def _json_default(value: Any) -> Any:
    """Turn numpy scalars, paths and timestamps into plain JSON values."""
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _clean_floats(value: Any) -> Any:
    """Replace NaN and infinities (invalid JSON) by None, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean_floats(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean_floats(v) for v in value]
    return value


def write_json_atomic(path: Path, payload: Any) -> Path:
    """Write JSON to ``path`` atomically (:mod:`.atomic_write`): readers never see half a file."""
    text = json.dumps(
        _clean_floats(json.loads(json.dumps(payload, default=_json_default))), indent=2
    )
    return write_text_atomic(path, text + "\n")


def data_fingerprint(output_dir: str | os.PathLike | None = None) -> str | None:
    """Return the fingerprint of the transactions in the output dir (the load step's), or None."""
    path = resolve_output_dir(output_dir) / ARTIFACTS_FOLDER / LOAD_RESULTS.file
    try:
        return json.loads(path.read_text(encoding="utf-8"))["data"]["fingerprint"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save_step_results(step: str, results: dict, output_dir: str | os.PathLike | None = None) -> Path:
    """Save a step's headline results; run_all merges them into run.json under ``step``.

    The results also record ``data_fingerprint``, the transactions they were made from, so a
    later ``--only`` run can tell files made from other data (see :mod:`.step_inputs`).
    """
    if step == LOAD_STEP:
        made_from = (results.get("data") or {}).get("fingerprint")
    else:
        made_from = data_fingerprint(output_dir)
    if made_from is not None and DATA_FINGERPRINT not in results:
        results = {**results, DATA_FINGERPRINT: made_from}
    return write_json_atomic(artifacts_dir(output_dir) / results_file(step), results)


def load_step_results(step: str, output_dir: str | os.PathLike | None = None) -> dict:
    """Return the results a step saved, or raise FileNotFoundError naming the step to run first."""
    path = resolve_output_dir(output_dir) / ARTIFACTS_FOLDER / results_file(step)
    if not path.exists():
        raise FileNotFoundError(
            f"{path} not found: run the '{step}' step first (python run_all.py --only {step})"
        )
    return json.loads(path.read_text(encoding="utf-8"))


def collect_results(output_dir: str | os.PathLike | None = None) -> dict:
    """Return every step's saved results, keyed by step name (the sections of run.json)."""
    folder = resolve_output_dir(output_dir) / ARTIFACTS_FOLDER / RESULTS_FOLDER
    return {path.stem: json.loads(path.read_text(encoding="utf-8"))
            for path in sorted(folder.glob("*.json"))}


def save_figure(fig, name: str, output_dir: str | os.PathLike | None = None, dpi: int = 110) -> Path:
    """Save a matplotlib figure as ``artifacts/figures/<name>.png`` and return its path."""
    path = figure_path(name, output_dir)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")
    return path


def figure_path(name: str, output_dir: str | os.PathLike | None = None) -> Path:
    """Return the path of the figure ``name`` (``artifacts/figures/<name>.png``)."""
    return figures_dir(output_dir) / Path(figure_file(name)).name


def path_from_caller(path: str | os.PathLike, cwd: Path) -> Path:
    """Return ``path`` (``~`` expanded) as an absolute path, a relative one taken from ``cwd``."""
    return Path(os.path.abspath(cwd / Path(path).expanduser()))


def tracking_uri_from_caller(uri: str, cwd: Path) -> str:
    """Return an ``sqlite:///relative.db`` tracking URI with its file taken from ``cwd``."""
    database = uri[len(SQLITE_PREFIX):]
    if not uri.startswith(SQLITE_PREFIX) or database.startswith("/") or not database:
        return uri
    return SQLITE_PREFIX + str(path_from_caller(database, cwd))
