"""The channel-simulation step as one call: every table, figure and number its page shows.

:func:`run_channel_simulation` is the step's sequence of calls, written once: the notebook
(``04_channel_simulation.ipynb``) calls it and shows its parts with the story between them,
the bench (``bench/bench_eda.py``) times the same call, and ``python -m cardfraud flow``
prints its first section, :func:`purchase_flow`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..eda.headlines import has_timestamps
from ..engines import is_spark_frame
from ..report.figures import save_and_close
from ..runner.artifacts import save_step_results
from ..runner.phases import Phase, no_phase
from . import counts as channel_counts
from . import simulation as flow
from .figures import plot_batch_frauds, plot_purchase_flow


@dataclass
class PurchaseFlow:
    """Purchases drawn from the data (as end-state counts), their stage counts and the Monte
    Carlo of batches."""

    purchases: int
    stages: pd.DataFrame
    batches: pd.DataFrame
    intervals: pd.DataFrame
    data_rows: int = 0  # purchases in the data
    cells: np.ndarray | None = None  # the data's end-state counts (flow.cell_counts)


@dataclass
class ChannelPage:
    """What the channel-simulation page shows; ``figures`` maps names to saved PNGs."""

    draw: str
    flow: PurchaseFlow
    per_day: float | None
    day_intervals: pd.DataFrame | None
    what_if: pd.DataFrame
    results: dict
    figures: dict[str, Path] = field(default_factory=dict)


def counting_for(transactions):
    """Return the module that counts on this frame: :mod:`.counts` (pandas) or, for a Spark
    DataFrame, :mod:`cardfraud.engines.spark_channels` (the same names)."""
    if is_spark_frame(transactions):
        from ..engines import spark_channels

        return spark_channels
    return channel_counts


def purchase_flow(transactions, purchases: int | None, runs: int, seed: int,
                  phase: Phase = no_phase) -> PurchaseFlow:
    """Draw ``purchases`` (None: every row), count their stages, simulate ``runs`` batches.

    ``transactions``: a pandas frame or a Spark DataFrame; either way the draw is made on the
    end-state counts (:func:`.simulation.draw_cell_counts`), so both give the same counts.
    """
    counting = counting_for(transactions)
    data_rows = counting.purchase_count(transactions)
    purchases = purchases or data_rows
    with phase("draw + stage counts"):
        cells = counting.cell_counts(transactions)
        stages = flow.stage_table(flow.draw_cell_counts(cells, purchases, seed), purchases)
    with phase("Monte Carlo"):
        batches = flow.simulate_batches_from_counts(cells, purchases, runs, seed)
        intervals = flow.batch_intervals(batches)
    return PurchaseFlow(purchases, stages, batches, intervals, data_rows, cells)


def run_channel_simulation(transactions, output_dir=None, *, seed: int = 42,
                           purchases: int | None = 10000, runs: int = 10000,
                           phase: Phase = no_phase) -> ChannelPage:
    """Run the channel-simulation step: flow, batches, per day, what-if, figures, results.

    ``transactions``: a pandas frame or a Spark DataFrame (a Spark run), counted by
    :func:`counting_for`'s module; the Monte Carlo runs on the driver from the counts, so
    both engines give the same results (the draw too: :func:`.simulation.draw_cell_counts`).
    The keyword arguments are the
    ``channel_simulation`` section of the params (same names and defaults as the notebook's
    parameters cell); the results are saved for the step.
    """
    counting = counting_for(transactions)
    counted = purchase_flow(transactions, purchases, runs, seed, phase)
    figures: dict[str, Path] = {}
    with phase("figures"):
        figures["channel_simulation_flow"] = save_and_close(
            plot_purchase_flow(counted.stages), "channel_simulation_flow", output_dir)
        figures["channel_simulation_monte_carlo"] = save_and_close(
            plot_batch_frauds(counted.batches, counted.intervals, counted.purchases),
            "channel_simulation_monte_carlo", output_dir)
    per_day = day_intervals = None
    with phase("per day"):
        if has_timestamps(transactions):
            per_day = counting.purchases_per_day(transactions)
            day_intervals = flow.batch_intervals(flow.simulate_batches_from_counts(
                counted.cells, max(round(per_day), 1), runs, seed))
    with phase("authentication what-if"):
        what_if = counting.authentication_what_if(transactions)
    results = flow.flow_results(counted.stages, counted.intervals, runs, seed,
                                counted.data_rows, what_if, per_day, day_intervals)
    save_step_results("channel_simulation", results, output_dir)
    draw = flow.describe_draw(counted.purchases, counted.data_rows, seed)
    return ChannelPage(draw, counted, per_day, day_intervals, what_if, results, figures)
