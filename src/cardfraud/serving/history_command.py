"""``python -m cardfraud history-features``: the card-history features a REST caller sends.

Writes the input purchases with every card-history feature (issue 15) the two files allow,
computed from the cards' earlier purchases with the package's own function, so a request to a
served history model carries exactly what ``score --history`` and training compute. The parser
loads nothing heavy, so ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    """Return the ``history-features`` command's argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m cardfraud history-features",
        description="Compute the card-history features of new purchases from the cards' "
                    "earlier purchases (for a REST request to a served history model).")
    parser.add_argument("--input", required=True, help="the purchases (.csv or .parquet)")
    parser.add_argument("--history", required=True, metavar="FILE",
                        help="the cards' earlier purchases (.csv or .parquet: card_id, "
                             "timestamp, ...; labels optional)")
    parser.add_argument("--output", required=True,
                        help="where to write the purchases with their features (.csv or .parquet)")
    parser.add_argument("--model", default=None,
                        help="the served model (models:/<name>@champion, models:/<name>/<N>): "
                             "its history inputs, with the label delay it was trained with")
    parser.add_argument("--tracking-uri", default=None, help="MLflow tracking URI of --model "
                        "(default: $MLFLOW_TRACKING_URI, else the project's mlruns/mlflow.db)")
    parser.add_argument("--label-delay-days", type=float, default=None,
                        help="days before a purchase by which a fraud label is known (default: "
                             "the --model's, else 7)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the output file when it exists (refused otherwise)")
    parser.add_argument("--sep", default=None, help="CSV separator (guessed when omitted)")
    parser.add_argument("--decimal", default=None, help="CSV decimal mark (guessed when omitted)")
    return parser


def cli(argv: list[str] | None = None) -> int:
    """Run ``history-features``; 0 on success, 2 on bad input, 1 when the output cannot be
    written."""
    args = build_parser().parse_args(argv)
    from pathlib import Path

    from ..runner.artifacts import tracking_uri_from_caller
    from .history_scoring import write_history_features

    try:
        summary = write_history_features(
            args.input, args.history, args.output, args.label_delay_days, sep=args.sep,
            decimal=args.decimal, overwrite=args.overwrite, model_uri=args.model,
            tracking_uri=args.tracking_uri and tracking_uri_from_caller(args.tracking_uri,
                                                                        Path.cwd()))
    except ValueError as exc:  # includes DataValidationError
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except LookupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"{len(summary['features'])} card-history features of {summary['rows']:,} purchases "
          f"from {summary['history_rows']:,} earlier ones in {summary['history']} -> "
          f"{summary['output']} in {summary['seconds']:.1f} s, labels known "
          f"{summary['label_delay_days']:g} day(s) before ({', '.join(summary['features'])})")
    return 0
