"""What a step needs before it runs: the contract's files, there and made from the current data.

``--only STEP`` (and ``--from``) reuse the published outputs for the steps that do not run. A
step may run only when every file the contract lists it as a reader of
(:func:`cardfraud.runner.contract.needed_by`) is there and was made from the transactions now
in the output dir: the results of the step that wrote the file record the data fingerprint
they were made from (``data_fingerprint``), which must equal the load step's. Otherwise the run
refuses with one line naming the step, the file, why, and the ``--only`` command that mends it.

The check runs before anything starts (on the published outputs) and again before each step
(on the run's own dir, once this run's load step may have changed the data); the registry
notebook opened by hand checks its inputs the same way.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .config import ConfigError
from .contract import (
    ARTIFACTS_FOLDER,
    DATA_FINGERPRINT,
    LOAD_STEP,
    NOT_IN_SPARK_RUNS,
    TRANSACTIONS,
    Artifact,
    needed_by,
    results_file,
)

SHOWN_DIGITS = 19  # "sha256:" and 12 hex digits: enough to tell two fingerprints apart


class StepInputsMissing(ConfigError):
    """A step's input is missing or stale; the message is the one line to print."""


@dataclass(frozen=True)
class InputProblem:
    """One file a step needs that is missing or was made from other data."""

    step: str
    artifact: Artifact
    reason: str


def recorded_fingerprint(artifacts: Path, step: str) -> str | None:
    """Return the data fingerprint the results of ``step`` record, or None."""
    try:
        results = json.loads((artifacts / results_file(step)).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if step == LOAD_STEP:
        return (results.get("data") or {}).get("fingerprint")
    return results.get(DATA_FINGERPRINT)


def input_problems(step: str, artifacts: Path, fresh: set[str] = frozenset(),
                   data_known: bool = True) -> list[InputProblem]:
    """Return the files ``step`` needs that are missing or made from other data.

    Args:
        step: the step about to run.
        artifacts: the ``artifacts/`` folder it will read.
        fresh: steps whose files this run writes before ``step`` runs (not checked).
        data_known: False when this run's load step has yet to run, so the data of the
            other files cannot be compared yet (only their presence is checked).
    """
    current = recorded_fingerprint(artifacts, LOAD_STEP)
    spark_run = (artifacts / TRANSACTIONS.file).is_dir()  # the load step wrote a Spark folder
    problems = []
    for artifact in needed_by(step):
        if artifact.writer in fresh or (spark_run and artifact.file in NOT_IN_SPARK_RUNS):
            continue
        if not (artifacts / artifact.file).exists():  # a Spark run hands on folders
            problems.append(InputProblem(step, artifact, "is missing"))
            continue
        if not data_known or artifact.writer == LOAD_STEP or current is None:
            continue
        made_from = recorded_fingerprint(artifacts, artifact.writer)
        if made_from != current:
            shown = made_from[:SHOWN_DIGITS] if made_from else "not recorded"
            problems.append(InputProblem(step, artifact, (
                f"was made from other data than the transactions there (data fingerprint "
                f"{shown} against {current[:SHOWN_DIGITS]})")))
    return problems


def steps_to_run(order: list[str], chosen: list[str], artifacts: Path) -> list[str]:
    """Return ``chosen`` plus every step that must run before it so that nothing is missing."""
    wanted = set(chosen)
    while True:
        added = set()
        for step in sorted(wanted, key=order.index):
            fresh = {s for s in wanted if order.index(s) < order.index(step)}
            added |= {p.artifact.writer for p in input_problems(step, artifacts, fresh,
                                                                LOAD_STEP not in fresh)}
        added &= set(order)
        if added <= wanted:
            return [s for s in order if s in wanted]
        wanted |= added


def refusal(problem: InputProblem, output: Path, order: list[str],
            requested: list[str]) -> StepInputsMissing:
    """Return the one-line refusal: the step, the file, why, and what to run first.

    ``requested`` are the steps the user asked for (the summary added to them is left out of
    the command shown).
    """
    writer = problem.artifact.writer
    mend = steps_to_run(order, [*requested, writer] if writer in order else requested,
                        output / ARTIFACTS_FOLDER)
    command = f"python run_all.py --only {' '.join(mend)}"
    return StepInputsMissing(
        f"step '{problem.step}' needs {ARTIFACTS_FOLDER}/{problem.artifact.file} (written by the "
        f"'{writer}' step), which {problem.reason} in {output}: run '{writer}' first, "
        f"e.g. {command}")


def check_chosen_steps(output: Path, order: list[str], chosen: list[str],
                       requested: list[str]) -> None:
    """Refuse, before anything runs, a chosen step whose input the published outputs lack.

    Args:
        output: the output dir whose published ``artifacts/`` the run starts from.
        order: every step's name, in step order.
        chosen: the steps this run runs, in order.
        requested: the steps the user asked for (``chosen`` without the added summary).

    Raises:
        StepInputsMissing: naming the first step, file and fix.
    """
    for index, step in enumerate(chosen):
        fresh = set(chosen[:index])
        problems = input_problems(step, output / ARTIFACTS_FOLDER, fresh, LOAD_STEP not in fresh)
        if problems:
            raise refusal(problems[0], output, order, requested)


def check_step(step: str, run_dir: Path, done: list[str], output: Path, order: list[str],
               requested: list[str]) -> None:
    """Refuse ``step`` when its inputs in the run's dir are missing or stale (see module doc)."""
    problems = input_problems(step, run_dir / ARTIFACTS_FOLDER, set(done))
    if problems:
        raise refusal(problems[0], output, order, requested)


def require_step_inputs(step: str, output_dir: str | os.PathLike) -> None:
    """Raise StepInputsMissing when ``step`` cannot run on the files in ``output_dir``.

    For a notebook run by hand or a step function called on its own.
    """
    output = Path(output_dir)
    problems = input_problems(step, output / ARTIFACTS_FOLDER)
    if problems:
        problem = problems[0]
        raise StepInputsMissing(
            f"step '{step}' needs {ARTIFACTS_FOLDER}/{problem.artifact.file} (written by the "
            f"'{problem.artifact.writer}' step), which {problem.reason} in {output}: run "
            f"'{problem.artifact.writer}' first")
