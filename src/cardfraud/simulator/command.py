"""``python -m cardfraud simulate``: the simulator from the command line.

Simulates purchases with the knobs of :mod:`cardfraud.simulator.simulate` given as options,
writes them as a Parquet or CSV file (or, with ``--raw``, as a bank's raw extract and
cardholder file) and prints the calibration report against the public table.
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from .realism import print_report
from .simulate import SIMULATOR_DEFAULTS, simulate

_CLI_TYPES = {"drift_day": int}  # knobs whose default (None) does not tell their type


def _parser() -> argparse.ArgumentParser:
    """Options: rows, seed, output file, report, and every scalar knob as --knob-name."""
    parser = argparse.ArgumentParser(
        prog="python -m cardfraud simulate",
        description="Simulate card purchases with the card_transdata columns (see docs/simulator.md).")
    parser.add_argument("--rows", type=int, default=SIMULATOR_DEFAULTS["rows"], help="purchases to simulate")
    parser.add_argument("--seed", type=int, default=SIMULATOR_DEFAULTS["seed"], help="random seed")
    parser.add_argument("--out", help="write the purchases to this .parquet or .csv file (with "
                                      "--raw: a folder)")
    parser.add_argument("--raw", action="store_true",
                        help="write a bank's raw extract instead: DIR/purchases.csv (codes, no "
                             "derived inputs) and DIR/cardholders.csv (homes); load.source=raw")
    parser.add_argument("--report", action="store_true",
                        help="print the calibration table and the separability check")
    for knob, default in SIMULATOR_DEFAULTS.items():
        if knob in {"rows", "seed", "cities"}:
            continue
        kind = _CLI_TYPES.get(knob, type(default))
        parser.add_argument(f"--{knob.replace('_', '-')}", dest=knob, type=kind, default=None,
                            help=f"default: {default}")
    return parser


def _write(frame: pd.DataFrame, path: str) -> None:
    """Write ``frame`` as Parquet or CSV according to the file's suffix."""
    from pathlib import Path

    from ..runner.atomic_write import atomic_path

    target = Path(path)
    with atomic_path(target) as tmp:
        if target.suffix.lower() in {".parquet", ".pq"}:
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False)


def cli(argv: list[str] | None = None) -> int:
    """``python -m cardfraud simulate``: simulate, optionally write a file and print the report."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help or a usage error: argparse has printed the message
        return int(exc.code or 0)
    if not args.out and not args.report:
        print("error: give --out FILE.parquet|FILE.csv and/or --report", file=sys.stderr)
        return 2
    if args.raw and not args.out:
        print("error: --raw needs --out DIR (the folder for purchases.csv and cardholders.csv)",
              file=sys.stderr)
        return 2
    if args.out and not args.raw and not args.out.lower().endswith((".parquet", ".pq", ".csv")):
        print(f"error: --out must end in .parquet or .csv, not {args.out!r}", file=sys.stderr)
        return 2
    knobs = {k: v for k, v in vars(args).items() if k in SIMULATOR_DEFAULTS and v is not None}
    try:
        frame = simulate(**knobs)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.out and args.raw:
        from .raw_extract import write_raw_extract

        purchases, cardholders = write_raw_extract(frame, args.out, seed=int(knobs.get("seed", 0)))
        print(f"wrote {len(frame):,} purchases ({int(frame['fraud'].sum()):,} fraudulent) to "
              f"{purchases} and {frame['card_id'].nunique():,} cardholders to {cardholders}")
    elif args.out:
        _write(frame, args.out)
        print(f"wrote {len(frame):,} purchases ({int(frame['fraud'].sum()):,} fraudulent) to {args.out}")
    if args.report:
        print_report(frame)
    return 0
