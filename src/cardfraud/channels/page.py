"""The channel-simulation step as one call: every table, figure and number its page shows.

:func:`run_channel_simulation` is the step's sequence of calls, written once: the notebook
(``04_channel_simulation.ipynb``) calls it and shows its parts with the story between them,
the bench (``bench/bench_eda.py``) times the same call, and ``python -m cardfraud flow``
prints its first section, :func:`purchase_flow`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..eda.headlines import has_timestamps
from ..report.figures import save_and_close
from ..runner.artifacts import save_step_results
from ..runner.phases import Phase, no_phase
from . import simulation as flow
from .figures import plot_batch_frauds, plot_purchase_flow
from .what_if import authentication_what_if


@dataclass
class PurchaseFlow:
    """Purchases drawn from the data, their stage counts and the Monte Carlo of batches."""

    purchases: int
    drawn: pd.DataFrame
    stages: pd.DataFrame
    batches: pd.DataFrame
    intervals: pd.DataFrame


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


def purchase_flow(transactions: pd.DataFrame, purchases: int | None, runs: int, seed: int,
                  phase: Phase = no_phase) -> PurchaseFlow:
    """Draw ``purchases`` (None: every row), count their stages, simulate ``runs`` batches."""
    purchases = purchases or len(transactions)
    with phase("draw + stage counts"):
        drawn = flow.draw_purchases(transactions, purchases, seed)
        stages = flow.stage_counts(drawn)
    with phase("Monte Carlo"):
        batches = flow.simulate_batches(transactions, purchases, runs, seed)
        intervals = flow.batch_intervals(batches)
    return PurchaseFlow(purchases, drawn, stages, batches, intervals)


def run_channel_simulation(transactions: pd.DataFrame, output_dir=None, *, seed: int = 42,
                           purchases: int | None = 10000, runs: int = 10000,
                           phase: Phase = no_phase) -> ChannelPage:
    """Run the channel-simulation step: flow, batches, per day, what-if, figures, results.

    The keyword arguments are the ``channel_simulation`` section of the params (same names
    and defaults as the notebook's parameters cell); the results are saved for the step.
    """
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
            per_day = flow.purchases_per_day(transactions)
            day_intervals = flow.batch_intervals(
                flow.simulate_batches(transactions, max(round(per_day), 1), runs, seed))
    with phase("authentication what-if"):
        what_if = authentication_what_if(transactions)
    results = flow.flow_results(counted.stages, counted.intervals, runs, seed,
                                len(transactions), what_if, per_day, day_intervals)
    save_step_results("channel_simulation", results, output_dir)
    return ChannelPage(flow.describe_draw(counted.purchases, len(transactions), seed), counted,
                       per_day, day_intervals, what_if, results, figures)
