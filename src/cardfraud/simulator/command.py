"""``python -m cardfraud simulate``: the simulator from the command line.

Simulates purchases with the knobs of :mod:`cardfraud.simulator.simulate` given as options,
writes them as a Parquet or CSV file (or, with ``--raw``, as a bank's raw extract and
cardholder file) and prints the calibration report against the public table. ``--out DIR/``
(a trailing slash, an existing directory or a name without a suffix) writes any number of
purchases as date-partitioned Parquet in bounded memory (:mod:`.chunked`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import pandas as pd

from .chunked import DEFAULT_CHUNK_ROWS
from .realism import print_report
from .simulate import SIMULATOR_DEFAULTS, simulate

_CLI_TYPES = {"drift_day": int}  # knobs whose default (None) does not tell their type
FILE_SUFFIXES = (".parquet", ".pq", ".csv")
REPORT_MAX_ROWS = 5_000_000  # --report on a directory reads it back into memory


def _parser() -> argparse.ArgumentParser:
    """Options: rows, seed, output file, report, and every scalar knob as --knob-name."""
    parser = argparse.ArgumentParser(
        prog="python -m cardfraud simulate",
        description="Simulate card purchases with the card_transdata columns (see docs/simulator.md).")
    parser.add_argument("--rows", type=int, default=SIMULATOR_DEFAULTS["rows"], help="purchases to simulate")
    parser.add_argument("--seed", type=int, default=SIMULATOR_DEFAULTS["seed"], help="random seed")
    parser.add_argument("--out", help="write the purchases to this .parquet or .csv file; DIR/ (a "
                                      "trailing slash, an existing folder or no suffix): "
                                      "date-partitioned Parquet written in chunks, for any rows "
                                      "(with --raw: a folder)")
    parser.add_argument("--chunk-rows", type=int, default=None,
                        help="with --out DIR/: purchases held in memory and written together "
                             f"(whole blocks of 500,000; the data does not depend on it; default "
                             f"{DEFAULT_CHUNK_ROWS:,})")
    parser.add_argument("--overwrite", action="store_true",
                        help="with --out DIR/: replace a directory that is not empty")
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
    directory = bool(args.out) and not args.raw and is_directory_target(args.out)
    if args.out and not args.raw and not directory and not args.out.lower().endswith(FILE_SUFFIXES):
        print(f"error: --out must end in .parquet or .csv (a file) or name a directory (DIR/), "
              f"not {args.out!r}", file=sys.stderr)
        return 2
    if not directory and (args.chunk_rows is not None or args.overwrite):
        print("error: --chunk-rows and --overwrite apply to --out DIR/ (a directory) only", file=sys.stderr)
        return 2
    knobs = {k: v for k, v in vars(args).items() if k in SIMULATOR_DEFAULTS and v is not None}
    if directory:
        return _simulate_directory(args, knobs)
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


def is_directory_target(out: str) -> bool:
    """True when ``--out`` names a directory: a trailing slash, an existing folder or no suffix."""
    return out.endswith(("/", os.sep)) or Path(out).is_dir() or not Path(out).suffix


def _simulate_directory(args: argparse.Namespace, knobs: dict) -> int:
    """``--out DIR/``: simulate in chunks into DIR and print one line (and the report if asked)."""
    from .chunked import simulate_to_directory

    rows = knobs.get("rows", SIMULATOR_DEFAULTS["rows"])
    if args.report and rows > REPORT_MAX_ROWS:
        print(f"error: --report with --out DIR/ reads the purchases back into memory: at most "
              f"{REPORT_MAX_ROWS:,} rows, not {rows:,}", file=sys.stderr)
        return 2
    chunk_rows = DEFAULT_CHUNK_ROWS if args.chunk_rows is None else args.chunk_rows
    started = time.perf_counter()
    try:
        summary = simulate_to_directory(args.out, chunk_rows=chunk_rows, overwrite=args.overwrite, **knobs)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {summary.rows:,} purchases ({summary.frauds:,} fraudulent) in {summary.files:,} "
          f"files to {summary.path}/ in {time.perf_counter() - started:.1f} s")
    if args.report:
        print_report(pd.read_parquet(summary.path))
    return 0
