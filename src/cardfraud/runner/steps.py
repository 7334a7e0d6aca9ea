"""The steps of a run: the notebooks found, the ones chosen (--only, --from), their parameters.

A step is a notebook ``notebooks/NN_<step>.ipynb``; the summary step is rerun whenever another
step runs. Each step receives its section of the params file, the keys of ``common`` it
declares, and paths the user typed taken from where the command runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .artifacts import (
    path_from_caller,
    tracking_uri_from_caller,
)
from .config import (
    COMMON_SECTION,
    REPORT_SECTION,
    ConfigError,
    apply_overrides,
    check_sections,
    read_params,
)
from .contract import SUMMARY_STEP
from .parameter_rules import check_parameter_values
from .project import notebooks_dir as project_notebooks

RUNTIME_PARAMETERS = {"output_dir", "run_id"}
# parameters naming a file, per section; relative ones are taken from the caller's cwd
PATH_PARAMETERS = {"load": ("path", "coordinates_path", "cardholders_path", "cities_path"),
                   "monitoring": ("current_path",), "geo": ("boundaries",)}
TRACKING_URI = "tracking_uri"
# a step whose params section has a shorter name than the step (``geo.fdr``, not georeferencing.fdr)
PARAMS_SECTIONS = {"georeferencing": "geo"}
# the report section's keys, passed to every notebook that declares them
REPORT_KEYS = {"language"}


@dataclass(frozen=True)
class Step:
    """One notebook of the chain: ``notebooks/NN_<name>.ipynb``."""

    number: int
    name: str
    notebook: Path

    @property
    def section(self) -> str:
        """Name of the step's section in the params files."""
        return PARAMS_SECTIONS.get(self.name, self.name)

    @property
    def executed_name(self) -> str:
        """File name of the executed notebook."""
        return self.notebook.name


def discover_steps(notebooks_dir: Path | None = None) -> list[Step]:
    """Return the steps in order: adding a step is adding a ``NN_<name>.ipynb`` notebook.

    The notebooks are those of the project dir (:mod:`.project`) unless a folder is given.
    """
    notebooks_dir = notebooks_dir or project_notebooks()
    steps = []
    for path in sorted(notebooks_dir.glob("[0-9][0-9]_*.ipynb")):
        match = re.fullmatch(r"(\d\d)_(\w+)\.ipynb", path.name)
        if match:
            steps.append(Step(int(match.group(1)), match.group(2), path))
    return steps


def select_steps(steps: list[Step], only: list[str] | None, from_step: str | None) -> list[Step]:
    """Return the steps to run for ``--only`` / ``--from``; unknown names raise ConfigError."""
    names = [s.name for s in steps]
    for name in (only or []) + ([from_step] if from_step else []):
        if name not in names:
            raise ConfigError(f"unknown step {name!r} (steps: {', '.join(names)})")
    if only:
        return [s for s in steps if s.name in only]
    if from_step:
        return steps[names.index(from_step):]
    return list(steps)


def with_summary(steps: list[Step], chosen: list[Step]) -> list[Step]:
    """Add the summary step when another step runs, so the home page never shows stale figures."""
    summary = [s for s in steps if s.name == SUMMARY_STEP]
    if not summary or not chosen or any(s.name == SUMMARY_STEP for s in chosen):
        return chosen
    return [*chosen, *summary]


def declared_parameters(steps: list[Step]) -> dict[str, set[str]]:
    """Return, per params section, the parameter names its notebook's ``parameters`` cell declares."""
    import papermill

    declared = {}
    for step in steps:
        names = set(papermill.inspect_notebook(str(step.notebook)))
        declared[step.section] = names - RUNTIME_PARAMETERS
    declared[COMMON_SECTION] = set().union(*declared.values()) if declared else set()
    declared[REPORT_SECTION] = REPORT_KEYS & declared[COMMON_SECTION]
    return declared


def resolve_params(params_path: str | Path, overrides: list[str],
                   steps: list[Step]) -> tuple[dict, dict[str, set[str]]]:
    """Read, check and override the params; raise ConfigError before any notebook runs.

    Returns:
        The resolved params and, per step, the parameters its notebook declares.
    """
    params = read_params(params_path)
    declared = declared_parameters(steps)
    check_sections(params, declared, str(params_path))
    resolved = apply_overrides(params, overrides, declared)
    check_parameter_values(resolved, str(params_path) + (" with --set" if overrides else ""))
    return resolved, declared


def paths_from_caller(params: dict, cwd: Path) -> dict:
    """Return the params with every relative file path and SQLite URI made absolute from ``cwd``.

    papermill runs the notebooks in ``notebooks/``: a ``load.path=mydata.csv`` typed in the
    caller's folder must not be looked up there.
    """
    resolved = {section: dict(values) for section, values in params.items()}
    for section, values in resolved.items():
        for key in PATH_PARAMETERS.get(section, ()):
            if isinstance(values.get(key), str) and values[key].strip():
                values[key] = str(path_from_caller(values[key], cwd))
        if isinstance(values.get(TRACKING_URI), str):
            values[TRACKING_URI] = tracking_uri_from_caller(values[TRACKING_URI], cwd)
    return resolved


def check_extract_headers(params: dict) -> None:
    """Raise ConfigError when ``load.columns`` names a header ``load.path`` lacks (no notebook ran)."""
    load = params.get("load", {})
    if not load.get("columns") or not load.get("path"):
        return
    from ..data.checks import DataValidationError
    from ..data.column_mapping import check_mapping_before_run

    try:
        check_mapping_before_run(load)
    except DataValidationError as exc:
        raise ConfigError(str(exc)) from None
