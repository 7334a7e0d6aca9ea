#!/usr/bin/env python
"""Run the cardfraud notebooks in order with papermill and publish the report site.

Examples:
  python run_all.py                                   # params/default.yaml, simulated data
  python run_all.py --params params/smoke.yaml        # small fast run
  python run_all.py --set load.path=extract.csv       # a real extract instead of the simulator
  python run_all.py --only modeling registry          # rerun two steps on the last run's data
  python run_all.py --output out                      # publish into ./out instead of reports/

Relative paths (--params, --output, --set load.path=..., --set monitoring.current_path=...,
an sqlite:/// tracking URI) are taken from the folder you run the command in. A run writes
only into an output dir that is new, empty or made by a cardfraud run (it holds
.cardfraud-output), and keeps any file there that no run wrote.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent  # the project dir: its notebooks, params and reports/
# the notebooks' kernel and the package find the project through this (cardfraud.runner.project)
os.environ["CARDFRAUD_PROJECT"] = str(ROOT)
if importlib.util.find_spec("cardfraud") is None:  # not installed: use the checkout's package
    sys.path.insert(0, str(ROOT / "src"))
# nbformat validates notebooks with jsonschema, which imports rfc3987-syntax (when installed,
# as Jupyter's dependencies do) only to check "iri" string formats no notebook schema uses;
# that import builds a grammar for about 2 s of CPU in every run. Marked absent in this process
# only, it is skipped (jsonschema then leaves "iri" formats unchecked).
sys.modules.setdefault("rfc3987_syntax", None)


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser of run_all.py."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default=str(ROOT / "params" / "default.yaml"),
                        help="YAML file with one section per step (default: params/default.yaml)")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="SECTION.KEY=VALUE",
                        help="override one parameter, e.g. --set load.path=data.csv or "
                             "--set modeling.alert_budget=0.02 (repeatable; values are YAML)")
    parser.add_argument("--only", nargs="+", metavar="STEP",
                        help="run only these steps, reusing the last run's outputs for the others")
    parser.add_argument("--from", dest="from_step", metavar="STEP",
                        help="run this step and every step after it")
    parser.add_argument("--output", default=None, metavar="DIR",
                        help="output dir for executed/, artifacts/, site/ and run.json: new, "
                             "empty or made by a cardfraud run (default: the project's reports/)")
    parser.add_argument("--renderer", default="auto", choices=["auto", "quarto", "nbconvert"],
                        help="site renderer: quarto when on PATH (auto), else nbconvert")
    parser.add_argument("--no-render", action="store_true",
                        help="execute the notebooks but do not build the site")
    parser.add_argument("--fresh-kernels", action="store_true",
                        help="start a new Jupyter kernel for every notebook (slower; by default "
                             "one kernel runs them all, its namespace cleared between notebooks)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and run the pipeline; return the exit code."""
    args = build_parser().parse_args(argv)
    if args.only and args.from_step:
        print("error: use either --only or --from, not both", file=sys.stderr)
        return 2
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    try:
        from cardfraud.runner.pipeline import run_pipeline

        return run_pipeline(params_path=args.params, overrides=args.overrides, only=args.only,
                            from_step=args.from_step, output_dir=args.output,
                            renderer=args.renderer, render=not args.no_render,
                            fresh_kernels=args.fresh_kernels)
    except KeyboardInterrupt:  # Ctrl-C before the run started (the run reports its own)
        print("interrupted: nothing published", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
