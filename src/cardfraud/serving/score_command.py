"""``python -m cardfraud score``: its options, and the one line it prints.

The parser loads nothing heavy, so ``score --help`` answers at once; pandas, the package's
data checks and MLflow are imported once the arguments are read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .names import DEFAULT_MODEL_URI

REASON_CHOICES = ("alerts", "all", "none")  # as cardfraud.serving.scorer.REASON_CHOICES
ENGINE_CHOICES = ("pandas", "spark")  # as cardfraud.engines.ENGINES
DEFAULT_REASONS = "alerts"
# the Spark engine's session when the command starts it: no progress bars over the one line
SPARK_COMMAND_CONF = {"spark.ui.showConsoleProgress": "false"}


def build_parser() -> argparse.ArgumentParser:
    """Return the ``score`` command's argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m cardfraud score",
        description="Score new transactions (CSV or Parquet) with a registered model.")
    parser.add_argument("--input", required=True, help="transactions to score (.csv or .parquet; "
                        "with --engine spark also a folder of partitioned Parquet)")
    parser.add_argument("--output", required=True,
                        help="where to write the scores (.csv or .parquet; with --engine spark "
                             "a folder of Parquet files)")
    parser.add_argument("--engine", choices=ENGINE_CHOICES, default="pandas",
                        help="pandas (default: the file in memory) or spark (scored on Spark's "
                             "executors with mlflow.pyfunc.spark_udf; no reasons)")
    parser.add_argument("--spark-master", default=None, metavar="URL",
                        help="with --engine spark: where the session runs (default local[*]; "
                             "spark://host:7077, yarn, k8s://..., sc://host:15002)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the output file when it exists (refused otherwise)")
    parser.add_argument("--model", default=DEFAULT_MODEL_URI,
                        help=f"model URI (default {DEFAULT_MODEL_URI})")
    parser.add_argument("--tracking-uri", default=None, help="MLflow tracking URI (default: "
                        "$MLFLOW_TRACKING_URI, else the project's mlruns/mlflow.db)")
    parser.add_argument("--history", default=None, metavar="FILE",
                        help="the cards' earlier purchases (.csv or .parquet: card_id, "
                        "timestamp, ...; labels optional): a history model's card-history "
                        "inputs are computed from them")
    parser.add_argument("--sep", default=None, help="CSV separator (guessed when omitted)")
    parser.add_argument("--decimal", default=None, help="CSV decimal mark (guessed when omitted)")
    parser.add_argument("--reasons", choices=REASON_CHOICES, default=None,
                        help="which purchases get a 'reasons' text, the up to three inputs that "
                             "raised the score most (SHAP values: about 1,000 purchases a "
                             "second for gradient boosting, fewer for a forest): alerts (default: those held for review), "
                             "all, none; the others get an empty text. Not computed with "
                             "--engine spark")
    return parser


def engine_settings_from(args: argparse.Namespace):
    """Return the engine settings the options give (the master is checked like
    ``common.spark.master``).

    Raises:
        ValueError: an unknown master.
    """
    from ..engines import DEFAULT_MASTER, EngineSettings, spark_settings_problem

    master = args.spark_master or DEFAULT_MASTER
    problem = spark_settings_problem({"master": master})
    if problem:
        raise ValueError(f"--spark-master: {problem}")
    return EngineSettings(args.engine, master, dict(SPARK_COMMAND_CONF))


def score_with_engine(args: argparse.Namespace, tracking_uri: str | None) -> dict:
    """Score with the engine ``--engine`` names; return its summary."""
    from ..engines import engine_for

    if args.engine == "pandas" and args.spark_master:
        raise ValueError("--spark-master is for --engine spark")
    settings = engine_settings_from(args)
    reasons = args.reasons or (DEFAULT_REASONS if args.engine == "pandas" else None)
    return engine_for(settings).score_extract(
        args.input, args.output, args.model, tracking_uri, settings, sep=args.sep,
        decimal=args.decimal, overwrite=args.overwrite, history_path=args.history,
        reasons=reasons)


def summary_line(summary: dict, history_file: str | None) -> str:
    """The one line ``score`` prints: rows, model, held for review, reasons, output, time."""
    version = f"version {summary['version']}, " if summary["version"] is not None else ""
    threshold = summary["threshold"]
    history = (f" and {len(summary['history_features'])} card-history features from "
               f"{history_file}" if history_file else "")
    reasons = (f"reasons for {summary['explained']:,}" if summary.get("engine") != "spark" else
               "reasons not computed on Spark (--engine pandas gives them)")
    return (f"scored {summary['rows']:,} transactions from {summary['input']}{history} with "
            f"{summary['model_uri']} ({version}threshold "
            f"{'n/a' if threshold is None else f'{threshold:.4f}'}): {summary['flagged']:,} held "
            f"for review ({summary['flagged_share']:.2%}), {reasons} "
            f"-> {summary['output']} in {summary['seconds']:.1f} s")



def cli(argv: list[str] | None = None) -> int:
    """Run ``score``; return 0 on success, 2 on bad input, 1 when the model cannot be used,
    130/143 when stopped by Ctrl-C/SIGTERM (no output written, no temporary file left)."""
    args = build_parser().parse_args(argv)
    from ..engines.spark_session import SparkUnavailable
    from ..runner.artifacts import tracking_uri_from_caller
    from .scoring import INTERRUPTED_EXIT, ScoringInterrupted, stopping_signals_raise

    try:
        with stopping_signals_raise():
            summary = score_with_engine(args, args.tracking_uri and tracking_uri_from_caller(
                args.tracking_uri, Path.cwd()))
    except SparkUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ScoringInterrupted as exc:
        print(f"interrupted ({exc}): {args.output} not written", file=sys.stderr)
        return INTERRUPTED_EXIT[exc.signum]
    except ValueError as exc:  # includes DataValidationError
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except TypeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except LookupError as exc:
        print(f"error: {exc}. Run the registry step (python run_all.py --only registry) "
              f"or pass --model", file=sys.stderr)
        return 1
    print(summary_line(summary, args.history))
    return 0
