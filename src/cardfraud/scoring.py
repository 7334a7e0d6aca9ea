"""Score new transactions with a registered model, in batch or through the REST server.

``python -m cardfraud score --input new.csv --output scored.csv`` validates the file with the
load step's rules (the fraud column is optional: new purchases have no label yet), scores it
with the champion and writes the input columns plus ``probability`` and ``decision``. The output
is written to a temporary file next to it and renamed, so a failure never leaves half a file.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
import uuid
from pathlib import Path

import pandas as pd

from .data import FEATURES, DataValidationError, load_file, model_features
from .registry import CHAMPION, DEFAULT_MODEL_NAME, LoadedScorer, load_registered_scorer

OUTPUT_SUFFIXES = {".csv", ".parquet", ".pq"}
SCORE_COLUMNS = ["probability", "decision"]
DEFAULT_MODEL_URI = f"models:/{DEFAULT_MODEL_NAME}@{CHAMPION}"


def score_transactions(frame: pd.DataFrame, scorer: LoadedScorer) -> pd.DataFrame:
    """Return the transactions with ``probability`` (P(fraud)) and ``decision`` appended."""
    scored = scorer.score(frame)
    result = frame.drop(columns=[c for c in SCORE_COLUMNS if c in frame.columns])
    result = result.reset_index(drop=True)
    result["probability"] = scored["probability"].to_numpy()
    result["decision"] = scored["decision"].to_numpy()
    return result


def write_table_atomic(frame: pd.DataFrame, path: Path) -> Path:
    """Write CSV or Parquet (by suffix) via a temporary file in the same folder, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # A unique name opened normally (not mkstemp) so the file gets the user's usual permissions.
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    try:
        if path.suffix.lower() == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def check_output_path(input_path: Path, output_path: Path) -> None:
    """Raise ValueError when the output has an unknown suffix or would overwrite the input."""
    if output_path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise ValueError(f"{output_path}: output must end with .csv or .parquet")
    if output_path.exists() and output_path.is_dir():
        raise ValueError(f"{output_path}: is a directory; give a file name ending with .csv")
    if output_path.resolve() == input_path.resolve():
        raise ValueError(f"{output_path}: is the input file; write the scores to another file")


def score_file(input_path: str | os.PathLike, output_path: str | os.PathLike,
               model_uri: str = DEFAULT_MODEL_URI, tracking_uri: str | None = None,
               sep: str | None = None, decimal: str | None = None) -> dict:
    """Validate, score and write one file; return a summary of what was scored.

    Raises:
        DataValidationError: the input cannot be scored (message names file, column, rows).
        ValueError: the output path is unusable.
        LookupError: the model cannot be loaded.
        TypeError: the model does not return a probability.
    """
    input_path, output_path = Path(input_path), Path(output_path)
    check_output_path(input_path, output_path)
    started = time.perf_counter()
    # Every input row must get a score, so missing values fail instead of being dropped.
    frame, _ = load_file(input_path, sep=sep, decimal=decimal, on_missing="fail",
                         require_target=False)
    scorer = load_registered_scorer(model_uri, tracking_uri)
    scored = score_transactions(frame, scorer)
    write_table_atomic(scored, output_path)
    flagged = int(scored["decision"].sum())
    return {"input": str(input_path), "output": str(output_path), "rows": len(scored),
            "flagged": flagged, "flagged_share": flagged / len(scored), "model_uri": model_uri,
            "version": scorer.version, "threshold": scorer.threshold,
            "seconds": round(time.perf_counter() - started, 3)}


def serving_payload(frame: pd.DataFrame, rows: int = 2) -> dict:
    """Return a ``dataframe_split`` request body for /invocations from the first rows."""
    features = model_features(frame.head(rows))
    return {"dataframe_split": {"columns": list(FEATURES),
                                "data": features.to_numpy().tolist()}}


def serving_commands(model_name: str, tracking_uri: str, payload: dict, port: int = 5001) -> str:
    """Return the shell commands that serve the champion locally and query it with curl."""
    model_uri = f"models:/{model_name}@{CHAMPION}"
    body = json.dumps(payload, separators=(",", ":"))
    return "\n".join([
        f"export MLFLOW_TRACKING_URI={shlex.quote(tracking_uri)}",
        "export MLFLOW_DISABLE_TELEMETRY=true",
        f"mlflow models serve -m {shlex.quote(model_uri)} --env-manager local -h 127.0.0.1 -p {port}",
        "",
        "# in another terminal:",
        f"curl -s -X POST http://127.0.0.1:{port}/invocations "
        f"-H 'Content-Type: application/json' -d {shlex.quote(body)}",
    ])


def build_parser() -> argparse.ArgumentParser:
    """Return the ``score`` command's argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m cardfraud score",
        description="Score new transactions (CSV or Parquet) with a registered model.")
    parser.add_argument("--input", required=True, help="transactions to score (.csv or .parquet)")
    parser.add_argument("--output", required=True, help="where to write the scores (.csv or .parquet)")
    parser.add_argument("--model", default=DEFAULT_MODEL_URI,
                        help=f"model URI (default {DEFAULT_MODEL_URI})")
    parser.add_argument("--tracking-uri", default=None,
                        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else the project's mlruns/)")
    parser.add_argument("--sep", default=None, help="CSV separator (guessed when omitted)")
    parser.add_argument("--decimal", default=None, help="CSV decimal mark (guessed when omitted)")
    return parser


def cli(argv: list[str] | None = None) -> int:
    """Run ``score``; return 0 on success, 2 on bad input, 1 when the model cannot be used."""
    args = build_parser().parse_args(argv)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    try:
        summary = score_file(args.input, args.output, args.model, args.tracking_uri,
                             sep=args.sep, decimal=args.decimal)
    except (DataValidationError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except TypeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except LookupError as exc:
        print(f"error: {exc}. Run the registry step (python run_all.py --only registry) "
              f"or pass --model", file=sys.stderr)
        return 1
    version = f"version {summary['version']}, " if summary["version"] is not None else ""
    threshold = summary["threshold"]
    print(f"scored {summary['rows']:,} transactions from {summary['input']} with "
          f"{summary['model_uri']} ({version}threshold "
          f"{'n/a' if threshold is None else f'{threshold:.4f}'}): {summary['flagged']:,} held "
          f"for review ({summary['flagged_share']:.2%}) -> {summary['output']} "
          f"in {summary['seconds']:.1f} s")
    return 0
