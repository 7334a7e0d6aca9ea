"""Where each step finds and leaves its files, and how it hands results on.

Every step writes into one output dir (``reports/`` by default)::

    artifacts/transactions.parquet   the cleaned data (load step)
    artifacts/results/<step>.json    the step's headline results, merged into run.json
    artifacts/figures/<step>_*.png   figures, also embedded in the executed notebook
    executed/NN_<step>.ipynb         executed notebooks
    site/                            the rendered report site
    run.json                         the run record

Paths are built from the project root or the output dir passed in, never from the
current working directory (papermill changes it). Paths a user types on the command line are
made absolute from the folder the command runs in (:func:`path_from_caller`) before any
notebook starts.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[3]
TRANSACTIONS_FILE = "transactions.parquet"
SQLITE_PREFIX = "sqlite:///"


def resolve_output_dir(output_dir: str | os.PathLike | None = None) -> Path:
    """Return the absolute output dir: the one given, else ``<project root>/reports``."""
    if output_dir is None or str(output_dir) == "":
        return PROJECT_ROOT / "reports"
    path = Path(output_dir)
    return path if path.is_absolute() else (PROJECT_ROOT / path).resolve()


def artifacts_dir(output_dir: str | os.PathLike | None = None) -> Path:
    """Return ``<output dir>/artifacts``, created if needed."""
    path = resolve_output_dir(output_dir) / "artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path


def figures_dir(output_dir: str | os.PathLike | None = None) -> Path:
    """Return ``<output dir>/artifacts/figures``, created if needed."""
    path = artifacts_dir(output_dir) / "figures"
    path.mkdir(parents=True, exist_ok=True)
    return path


def transactions_path(output_dir: str | os.PathLike | None = None) -> Path:
    """Return the path of the cleaned transactions handed on by the load step."""
    return artifacts_dir(output_dir) / TRANSACTIONS_FILE


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
    """Write JSON to ``path`` through a temporary file so readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(
        _clean_floats(json.loads(json.dumps(payload, default=_json_default))), indent=2
    )
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
    os.replace(tmp, path)
    return path


def save_step_results(step: str, results: dict, output_dir: str | os.PathLike | None = None) -> Path:
    """Save a step's headline results; run_all merges them into run.json under ``step``."""
    return write_json_atomic(artifacts_dir(output_dir) / "results" / f"{step}.json", results)


def load_step_results(step: str, output_dir: str | os.PathLike | None = None) -> dict:
    """Return the results a step saved, or raise FileNotFoundError naming the step to run first."""
    path = resolve_output_dir(output_dir) / "artifacts" / "results" / f"{step}.json"
    if not path.exists():
        raise FileNotFoundError(
            f"{path} not found: run the '{step}' step first (python run_all.py --only {step})"
        )
    return json.loads(path.read_text(encoding="utf-8"))


def save_figure(fig, name: str, output_dir: str | os.PathLike | None = None, dpi: int = 110) -> Path:
    """Save a matplotlib figure as ``artifacts/figures/<name>.png`` and return its path."""
    path = figures_dir(output_dir) / f"{name}.png"
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path


def path_from_caller(path: str | os.PathLike, cwd: Path) -> Path:
    """Return ``path`` (``~`` expanded) as an absolute path, a relative one taken from ``cwd``."""
    return Path(os.path.abspath(cwd / Path(path).expanduser()))


def tracking_uri_from_caller(uri: str, cwd: Path) -> str:
    """Return an ``sqlite:///relative.db`` tracking URI with its file taken from ``cwd``."""
    database = uri[len(SQLITE_PREFIX):]
    if not uri.startswith(SQLITE_PREFIX) or database.startswith("/") or not database:
        return uri
    return SQLITE_PREFIX + str(path_from_caller(database, cwd))


def write_text_atomic(path: Path, text: str) -> Path:
    """Write text to ``path`` through a temporary file so readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    os.replace(tmp, path)
    return path
