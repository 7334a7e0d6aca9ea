"""Time the built-in simulator and measure its peak memory.

    .venv/bin/python bench/bench_simulate.py                 # 1,000,000 rows, seed 42
    .venv/bin/python bench/bench_simulate.py --rows 200000 --report

The budget is 10 s and 2 GB of peak resident memory for 1,000,000 rows on the project's
2-core machine; the exit code is 1 when a run of at least 1,000,000 rows goes over it.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import psutil

from cardfraud.simulator.realism import realism_report
from cardfraud.simulator.simulate import SIMULATOR_DEFAULTS, simulate

BUDGET_SECONDS = 10.0
BUDGET_MB = 2048.0


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports ru_maxrss in KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(argv: list[str] | None = None) -> int:
    """Run ``simulate(rows=N)`` once and print seconds, peak memory and the budget verdict."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=SIMULATOR_DEFAULTS["rows"])
    parser.add_argument("--seed", type=int, default=SIMULATOR_DEFAULTS["seed"])
    parser.add_argument("--report", action="store_true", help="also print the calibration table")
    args = parser.parse_args(argv)

    before_mb = psutil.Process().memory_info().rss / 2**20
    started = time.perf_counter()
    frame = simulate(rows=args.rows, seed=args.seed)
    seconds = time.perf_counter() - started
    peak_mb = peak_rss_mb()
    print(f"simulate(rows={args.rows:,}, seed={args.seed}): {seconds:.2f} s, "
          f"{args.rows / seconds:,.0f} rows/s")
    print(f"peak resident memory {peak_mb:,.0f} MB (imports alone: {before_mb:,.0f} MB); "
          f"frame {frame.memory_usage(deep=True).sum() / 2**20:,.0f} MB")
    over = seconds > BUDGET_SECONDS or peak_mb > BUDGET_MB
    if args.rows >= 1_000_000:
        print(f"budget for 1,000,000 rows: {BUDGET_SECONDS:g} s and {BUDGET_MB:,.0f} MB: "
              f"{'OVER' if over else 'within'}")
    if args.report:
        report = realism_report(frame)
        print(report.to_string(index=False))
    return 1 if over and args.rows >= 1_000_000 else 0


if __name__ == "__main__":
    sys.exit(main())
