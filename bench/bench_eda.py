"""Time the EDA and channel-simulation functions at 1,000,000 rows (seconds each and total).

Runs the same package functions as notebooks/02_eda.ipynb and 04_channel_simulation.ipynb,
with the ``eda`` and ``channel_simulation`` sections of a params file, on simulated
transactions (``--rows``) or an extract (``--data``). Figures are drawn and rendered to PNG in
memory (what the notebooks pay), never written into the project.

    .venv/bin/python bench/bench_eda.py                      # 1,000,000 simulated rows
    .venv/bin/python bench/bench_eda.py --data ../shared/data/card_transdata_head50k.csv
"""

from __future__ import annotations

import argparse
import ast
import io
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from timing import PhaseTimer  # noqa: E402

from cardfraud.channels import simulation as flow  # noqa: E402
from cardfraud.channels.figures import plot_batch_frauds, plot_purchase_flow  # noqa: E402
from cardfraud.data.checks import DataValidationError
from cardfraud.data.cleaning import load_file
from cardfraud.data.schema import compact_dtypes
from cardfraud.eda import correlations as eda_correlations  # noqa: E402
from cardfraud.eda import headlines as eda  # noqa: E402
from cardfraud.eda import where_when as eda_where_when  # noqa: E402
from cardfraud.report import figures as plots  # noqa: E402
from cardfraud.runner.config import read_params  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parents[1]  # the project dir: bench/ lies in it

timed = PhaseTimer(width=34)


def render(fig) -> None:
    """Render a figure to PNG in memory, as the notebook does, and close it."""
    fig.savefig(io.BytesIO(), format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)


def step_params(params: dict, step: str, notebook: str) -> dict:
    """Return a step's parameters: the notebook's defaults overridden by the params file."""
    import papermill

    declared = papermill.inspect_notebook(str(PROJECT_ROOT / "notebooks" / notebook))
    defaults = {name: ast.literal_eval(info["default"]) for name, info in declared.items()}
    return {**defaults, **params.get(step, {})}


def read_data(args) -> pd.DataFrame:
    """Return the transactions: the extract given, else the simulator's (not timed)."""
    if args.data:
        return load_file(args.data)[0]
    from cardfraud.simulator.simulate import simulate

    return compact_dtypes(simulate(rows=args.rows, seed=args.seed))


def bench_eda(transactions: pd.DataFrame, params: dict, seed: int) -> None:
    """Time every EDA function the notebook calls, figures included."""
    with timed("class_balance"):
        eda.class_balance(transactions)
    with timed("continuous_summary"):
        eda.continuous_summary(transactions)
    with timed("plot_continuous_distributions"):
        render(eda.plot_continuous_distributions(transactions, params["histogram_bins"]))
    with timed("flag_fraud_rates + figure"):
        flags = eda.flag_fraud_rates(transactions)
        render(eda.plot_flag_fraud_rates(flags, transactions["fraud"].mean()))
    with timed("fraud_rate_by_channel_chip_pin"):
        eda.fraud_rate_by_channel_chip_pin(transactions)
    with timed("feature_correlations + figure"):
        correlations = eda_correlations.feature_correlations(transactions)
        pair = eda_correlations.strongest_pair(correlations)
        render(eda_correlations.plot_correlations(correlations))
    with timed("plot_pair_view"):
        render(eda_correlations.plot_pair_view(transactions, *pair,
                                               sample_rows=params["sample_rows"],
                                               bins=params["pair_bins"], seed=seed))
    with timed("distance bands + figure"):
        bands = eda_where_when.distance_band_fraud_rates(transactions, params["distance_bands_km"])
        render(eda_where_when.plot_distance_bands(bands, transactions["fraud"].mean()))
    daily = None
    if eda.has_timestamps(transactions):
        with timed("daily_activity + figure"):
            daily = eda_where_when.daily_activity(transactions)
            render(eda_where_when.plot_daily_activity(daily))
    with timed("eda_results"):
        eda.eda_results(transactions, flags, bands, pair, daily)


def bench_flow(transactions: pd.DataFrame, params: dict, seed: int) -> None:
    """Time the channel simulation: draw, stage counts, Monte Carlo, what-if, figures."""
    purchases = params["purchases"] or len(transactions)
    with timed(f"draw + stage counts ({purchases:,})"):
        stages = flow.stage_counts(flow.draw_purchases(transactions, purchases, seed))
    with timed("draw + stage counts (all rows)"):
        flow.stage_counts(flow.draw_purchases(transactions, len(transactions), seed))
    with timed("plot_purchase_flow"):
        render(plot_purchase_flow(stages))
    with timed(f"Monte Carlo ({params['runs']:,} runs)"):
        batches = flow.simulate_batches(transactions, purchases, params["runs"], seed)
        intervals = flow.batch_intervals(batches)
    with timed("plot_batch_frauds"):
        render(plot_batch_frauds(batches, intervals, purchases))
    with timed("authentication_what_if"):
        flow.authentication_what_if(transactions)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print seconds per function and the total."""
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
    print(f"{len(transactions):,} rows; seconds per function:")
    plots.use_report_style()
    bench_eda(transactions, step_params(params, "eda", "02_eda.ipynb"), args.seed)
    bench_flow(transactions,
               step_params(params, "channel_simulation", "04_channel_simulation.ipynb"),
               args.seed)
    timed.print_total()
    return 0


if __name__ == "__main__":
    sys.exit(main())
