"""Time the EDA and channel-simulation steps at 1,000,000 rows (seconds each and total).

Runs the steps' functions that notebooks/02_eda.ipynb and 04_channel_simulation.ipynb call
(``run_eda``, ``run_channel_simulation``), with the ``eda`` and ``channel_simulation``
sections of a params file, on simulated transactions (``--rows``) or an extract (``--data``),
timing each section. Figures are saved as PNG (what the notebooks pay) into a temporary dir,
never into the project.

    .venv/bin/python bench/bench_eda.py                      # 1,000,000 simulated rows
    .venv/bin/python bench/bench_eda.py --data ../shared/data/card_transdata_head50k.csv
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
from timing import PhaseTimer  # noqa: E402

from cardfraud.channels.page import run_channel_simulation  # noqa: E402
from cardfraud.data.checks import DataValidationError  # noqa: E402
from cardfraud.data.cleaning import load_file  # noqa: E402
from cardfraud.data.schema import compact_dtypes  # noqa: E402
from cardfraud.eda.page import run_eda  # noqa: E402
from cardfraud.report import figures as plots  # noqa: E402
from cardfraud.runner.artifacts import PROJECT_ROOT  # noqa: E402
from cardfraud.runner.config import read_params  # noqa: E402

timed = PhaseTimer(width=46)


def read_data(args) -> pd.DataFrame:
    """Return the transactions: the extract given, else the simulator's (not timed)."""
    if args.data:
        return load_file(args.data)[0]
    from cardfraud.simulator.simulate import simulate

    return compact_dtypes(simulate(rows=args.rows, seed=args.seed))


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print seconds per section and the total."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="simulated rows")
    parser.add_argument("--data", help="CSV or Parquet extract instead of the simulator")
    parser.add_argument("--params", default=str(PROJECT_ROOT / "params" / "default.yaml"))
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    params = read_params(Path(args.params))
    try:
        transactions = read_data(args)
    except DataValidationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{len(transactions):,} rows; seconds per section:")
    plots.use_report_style()
    with tempfile.TemporaryDirectory(prefix="bench_eda_") as output_dir:
        run_eda(transactions, output_dir, **{**params.get("eda", {}), "seed": args.seed},
                phase=lambda name: timed(f"eda: {name}"))
        run_channel_simulation(
            transactions, output_dir,
            **{**params.get("channel_simulation", {}), "seed": args.seed},
            phase=lambda name: timed(f"channel simulation: {name}"))
    timed.print_total()
    return 0


if __name__ == "__main__":
    sys.exit(main())
