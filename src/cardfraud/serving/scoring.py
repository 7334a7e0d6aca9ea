"""Score purchases with the registered model: batch files and REST serving.

The registered model is a pyfunc (:class:`cardfraud.serving.scorer.FraudScorer`) wrapping a
scikit-learn pipeline and its decision threshold: it returns ``probability`` (P(fraud)),
``decision`` (1 = hold the purchase for review) and ``reasons`` (the up to three inputs that
raised the score most, in words, joined by "; "). ``python -m cardfraud score --input new.csv
--output scored.csv`` validates the file with the load step's rules (the fraud column is
optional: new purchases have no label yet), scores it and writes the input columns plus those
three through a temporary file and a rename, so a failure never leaves half a file. Reasons
are given to the purchases held for review (``--reasons alerts``, the default: SHAP values take
about 1 ms a purchase for gradient boosting, several for the forest: ``bench/bench_reasons.py``),
to every purchase (``--reasons all``) or to none (``--reasons none``); the others get "".
An existing output is replaced only with ``--overwrite``. The temporary file is named after
the scoring process (``.<output>.cardfraud-<pid>-<random>.tmp``): a score stopped by SIGTERM or Ctrl-C
removes its own, and leftovers of one killed outright (SIGKILL, power cut) are removed by the
next score writing into that folder once their process is gone.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import time
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from ..data.checks import DataValidationError
from ..data.files import read_transactions
from ..data.schema import model_features
from ..report.translate import _
from ..runner.atomic_write import TEMPORARY_FILE, atomic_path
from .history_scoring import (
    history_inputs,
    model_label_delay,
    refuse_without_history,
    with_history_features,
)
from .registry import CHAMPION, DEFAULT_MODEL_URI
from .scorer import (
    REASONS,
    SCORE_COLUMNS,
    LoadedScorer,
    check_model_uri,
    check_purchases,
    load_registered_scorer,
)

OUTPUT_SUFFIXES = {".csv", ".parquet", ".pq"}
INTERRUPTED_EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}


class ScoringInterrupted(BaseException):
    """The score was stopped by SIGTERM or Ctrl-C; its temporary file is removed on the way out.

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` swallows it.
    """

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def score_transactions(frame: pd.DataFrame, scorer: LoadedScorer,
                       reasons: str = "alerts") -> pd.DataFrame:
    """Return the transactions with ``probability`` (P(fraud)), ``decision`` and, when the
    model gives them, ``reasons`` appended (``reasons``: all, alerts or none get them)."""
    scored = scorer.score(frame, reasons=reasons)
    result = frame.drop(columns=[c for c in [*SCORE_COLUMNS, REASONS] if c in frame.columns])
    result = result.reset_index(drop=True)
    for column in scored.columns:
        result[column] = scored[column].to_numpy()
    return result


def process_is_running(pid: int) -> bool:
    """Return True when a process with this id exists (possibly another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_leftover_temporary_files(folder: Path) -> list[Path]:
    """Delete the temporary files (pandas engine) and folders (Spark engine) of scores whose
    process is gone; return what was deleted."""
    removed = []
    for candidate in folder.glob(".*.cardfraud-*.tmp"):
        match = TEMPORARY_FILE.fullmatch(candidate.name)
        if match and int(match.group(1)) != os.getpid() and not process_is_running(
                int(match.group(1))):
            if candidate.is_dir():
                shutil.rmtree(candidate, ignore_errors=True)
            else:
                candidate.unlink(missing_ok=True)
            removed.append(candidate)
    return removed


def write_table_atomic(frame: pd.DataFrame, path: Path) -> Path:
    """Write CSV or Parquet (by suffix) atomically (:mod:`cardfraud.runner.atomic_write`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_leftover_temporary_files(path.parent)
    with atomic_path(path) as tmp:
        if path.suffix.lower() == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
    return path


def check_output_path(input_path: Path, output_path: Path, overwrite: bool = False) -> None:
    """Raise ValueError when the output has an unknown suffix, would overwrite the input, or
    exists and ``overwrite`` is not set."""
    if output_path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise ValueError(f"{output_path}: output must end with .csv or .parquet")
    if output_path.is_dir():
        raise ValueError(f"{output_path}: is a directory; give a file name ending with .csv")
    if output_path.resolve() == input_path.resolve():
        raise ValueError(f"{output_path}: is the input file; write the scores to another file")
    if output_path.exists() and not overwrite:
        raise ValueError(f"{output_path}: already exists; pass --overwrite to replace it")


def score_file(input_path: str | os.PathLike, output_path: str | os.PathLike,
               model_uri: str = DEFAULT_MODEL_URI, tracking_uri: str | None = None,
               sep: str | None = None, decimal: str | None = None,
               overwrite: bool = False, history_path: str | os.PathLike | None = None,
               reasons: str = "alerts") -> dict:
    """Validate, score and write one file; return a summary of what was scored.

    ``history_path``: the cards' earlier purchases, from which a history model's card-history
    inputs are computed (:mod:`cardfraud.serving.history_scoring`); without it, a history
    model needs them in the input. ``reasons``: which purchases get their reasons (``alerts``:
    those held for review, ``all``, ``none``).

    Raises:
        DataValidationError: the input cannot be scored (message names file, column, rows).
        ValueError: the output path is unusable (or exists, without ``overwrite``).
        LookupError: the model cannot be loaded.
        TypeError: the model does not return a probability.
    """
    input_path, output_path = Path(input_path), Path(output_path)
    check_model_uri(model_uri)
    if history_path is not None and output_path.resolve() == Path(history_path).resolve():
        raise ValueError(f"{output_path}: is the history file; write the scores to another file")
    check_output_path(input_path, output_path, overwrite)
    started = time.perf_counter()
    purchases = read_transactions(input_path, sep=sep, decimal=decimal)
    scorer = load_registered_scorer(model_uri, tracking_uri)
    purchases = add_model_history(purchases, str(input_path), scorer, history_path, sep, decimal)
    frame = check_purchases(purchases, str(input_path), scorer.inputs)
    scored = score_transactions(frame, scorer, reasons)
    write_table_atomic(scored, output_path)
    flagged = int(scored["decision"].sum())
    explained = int(scored[REASONS].ne("").sum()) if REASONS in scored else 0
    return {"input": str(input_path), "output": str(output_path), "rows": len(scored),
            "flagged": flagged, "flagged_share": flagged / len(scored), "model_uri": model_uri,
            "reasons": reasons if REASONS in scored else "not given by the model",
            "explained": explained,
            "version": scorer.version, "threshold": scorer.threshold,
            "history_features": history_inputs(scorer.inputs),
            "seconds": round(time.perf_counter() - started, 3)}


def add_model_history(purchases: pd.DataFrame, source: str, scorer: LoadedScorer,
                      history_path: str | os.PathLike | None, sep: str | None = None,
                      decimal: str | None = None) -> pd.DataFrame:
    """Return the purchases with the model's card-history inputs computed from
    ``history_path`` (None: they must be in the purchases already, else DataValidationError)."""
    needed = history_inputs(scorer.inputs)
    if history_path is None:
        refuse_without_history(purchases, source, scorer.inputs)
        return purchases
    if not needed:
        raise DataValidationError(f"--history {history_path}: {scorer.uri} uses no card-history "
                                  f"features; score without --history")
    history = read_transactions(history_path, sep=sep, decimal=decimal)
    return with_history_features(purchases, source, history, str(history_path), needed,
                                 model_label_delay(scorer.model))


def serving_payload(frame: pd.DataFrame, rows: int = 2, inputs: list[str] | None = None) -> dict:
    """Return a ``dataframe_split`` request body for /invocations from the first rows.

    ``inputs``: the model's inputs (None = those the frame gives).
    """
    features = model_features(frame.head(rows), inputs)
    return {"dataframe_split": {"columns": list(features.columns),
                                "data": features.to_numpy().tolist()}}


def serving_commands(model_name: str, tracking_uri: str, payload: dict, port: int = 5001) -> str:
    """Return the shell commands that serve the champion locally and query it with curl."""
    body = json.dumps(payload, separators=(",", ":"))
    return "\n".join([
        f"export MLFLOW_TRACKING_URI={shlex.quote(tracking_uri)}",
        "export MLFLOW_DISABLE_TELEMETRY=true",
        f"mlflow models serve -m {shlex.quote(f'models:/{model_name}@{CHAMPION}')} "
        f"--env-manager local -h 127.0.0.1 -p {port}",
        "",
        _("# in another terminal:"),
        f"curl -s -X POST http://127.0.0.1:{port}/invocations "
        f"-H 'Content-Type: application/json' -d {shlex.quote(body)}",
    ])


@contextmanager
def stopping_signals_raise():
    """Turn SIGTERM and SIGINT into :class:`ScoringInterrupted` inside the block.

    The exception unwinds through ``write_table_atomic``, which removes its temporary file.
    """
    def interrupt(signum, frame):
        raise ScoringInterrupted(signum)

    previous = {signum: signal.signal(signum, interrupt) for signum in INTERRUPTED_EXIT}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
