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
    parser.add_argument("--label-delay-days", type=float, default=7.0,
                        help="days before a purchase by which a fraud label is known; use the "
                             "model's (default 7)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the output file when it exists (refused otherwise)")
    parser.add_argument("--sep", default=None, help="CSV separator (guessed when omitted)")
    parser.add_argument("--decimal", default=None, help="CSV decimal mark (guessed when omitted)")
    return parser


def cli(argv: list[str] | None = None) -> int:
    """Run ``history-features``; 0 on success, 2 on bad input, 1 when the output cannot be
    written."""
    args = build_parser().parse_args(argv)
    from .history_scoring import write_history_features

    try:
        summary = write_history_features(args.input, args.history, args.output,
                                         args.label_delay_days, sep=args.sep,
                                         decimal=args.decimal, overwrite=args.overwrite)
    except ValueError as exc:  # includes DataValidationError
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"{len(summary['features'])} card-history features of {summary['rows']:,} purchases "
          f"from {summary['history_rows']:,} earlier ones in {summary['history']} -> "
          f"{summary['output']} in {summary['seconds']:.1f} s ({', '.join(summary['features'])})")
    return 0
