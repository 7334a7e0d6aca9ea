"""``python -m cardfraud score``: its options, and the one line it prints.

The parser loads nothing heavy, so ``score --help`` answers at once; pandas, the package's
data checks and MLflow are imported once the arguments are read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .names import DEFAULT_MODEL_URI


def build_parser() -> argparse.ArgumentParser:
    """Return the ``score`` command's argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m cardfraud score",
        description="Score new transactions (CSV or Parquet) with a registered model.")
    parser.add_argument("--input", required=True, help="transactions to score (.csv or .parquet)")
    parser.add_argument("--output", required=True,
                        help="where to write the scores (.csv or .parquet)")
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
    return parser



def cli(argv: list[str] | None = None) -> int:
    """Run ``score``; return 0 on success, 2 on bad input, 1 when the model cannot be used,
    130/143 when stopped by Ctrl-C/SIGTERM (no output written, no temporary file left)."""
    args = build_parser().parse_args(argv)
    from ..runner.artifacts import tracking_uri_from_caller
    from .scoring import INTERRUPTED_EXIT, ScoringInterrupted, score_file, stopping_signals_raise

    try:
        with stopping_signals_raise():
            summary = score_file(args.input, args.output, args.model,
                                 args.tracking_uri and tracking_uri_from_caller(
                                     args.tracking_uri, Path.cwd()), sep=args.sep,
                                 decimal=args.decimal, overwrite=args.overwrite,
                                 history_path=args.history)
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
    version = f"version {summary['version']}, " if summary["version"] is not None else ""
    threshold = summary["threshold"]
    history = (f" and {len(summary['history_features'])} card-history features from "
               f"{args.history}" if args.history else "")
    print(f"scored {summary['rows']:,} transactions from {summary['input']}{history} with "
          f"{summary['model_uri']} ({version}threshold "
          f"{'n/a' if threshold is None else f'{threshold:.4f}'}): {summary['flagged']:,} held "
          f"for review ({summary['flagged_share']:.2%}) -> {summary['output']} "
          f"in {summary['seconds']:.1f} s")
    return 0
