"""Where the project lives: the folder holding ``run_all.py``, ``params/`` and ``notebooks/``.

Nothing derives a location from where the package is installed: after ``pip install .`` it
lies in site-packages, far from the notebooks. The project dir is, in this order:

1. ``$CARDFRAUD_PROJECT`` when set (``run_all.py`` sets it to its own folder, so the
   notebooks' kernel and every command it starts find the same project);
2. else the nearest folder, from the current working directory upwards, holding
   ``run_all.py``, ``params/`` and ``notebooks/`` (Jupyter opens a notebook in ``notebooks/``).

What lives there: the notebooks, ``params/default.yaml``, the site's ``_quarto.yml``, and the
defaults of the output dir (``reports/``) and of the MLflow store (``mlruns/``). Outside any
project those two defaults are taken from the current working directory; the rest raises
:class:`ProjectNotFound` with one line saying what to do.
"""

from __future__ import annotations

import os
from pathlib import Path

from .config import ConfigError

PROJECT_ENV = "CARDFRAUD_PROJECT"
PROJECT_MARKERS = ("run_all.py", "params", "notebooks")


class ProjectNotFound(ConfigError):
    """No cardfraud project around the current folder, or ``$CARDFRAUD_PROJECT`` is not one."""


def is_project_dir(folder: Path) -> bool:
    """Return True when ``folder`` holds run_all.py, params/ and notebooks/."""
    return all((folder / marker).exists() for marker in PROJECT_MARKERS)


def find_project_dir(start: Path | None = None) -> Path | None:
    """Return the project dir (see module doc), None when there is none around ``start``.

    Raises:
        ProjectNotFound: ``$CARDFRAUD_PROJECT`` names a folder that is not a project.
    """
    named = os.environ.get(PROJECT_ENV)
    if named:
        folder = Path(named).expanduser().resolve()
        if not is_project_dir(folder):
            raise ProjectNotFound(f"{PROJECT_ENV}={named} is not a cardfraud project (a folder "
                                  f"holding {', '.join(PROJECT_MARKERS)}): fix or unset it")
        return folder
    here = Path(os.path.abspath(start or Path.cwd()))
    return next((folder for folder in (here, *here.parents) if is_project_dir(folder)), None)


def project_dir() -> Path:
    """Return the project dir, or raise ProjectNotFound naming the folder searched from."""
    found = find_project_dir()
    if found is None:
        raise ProjectNotFound(
            f"no cardfraud project found from {Path.cwd()} (a folder holding "
            f"{', '.join(PROJECT_MARKERS)}): run from the project folder or set "
            f"{PROJECT_ENV}=/path/to/project")
    return found


def home_dir() -> Path:
    """Return the folder holding the default ``reports/`` and ``mlruns/``: the project, or cwd."""
    return find_project_dir() or Path.cwd()


def notebooks_dir() -> Path:
    """Return ``<project>/notebooks``."""
    return project_dir() / "notebooks"


def default_params_file() -> Path:
    """Return ``<project>/params/default.yaml``."""
    return project_dir() / "params" / "default.yaml"


def quarto_template() -> Path:
    """Return ``<project>/_quarto.yml``, the site's Quarto settings."""
    return project_dir() / "_quarto.yml"
