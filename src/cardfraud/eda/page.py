"""The EDA step as one call: every table, figure and headline number its page shows.

:func:`run_eda` is the step's sequence of calls, written once: the notebook
(``02_eda.ipynb``) calls it and shows its parts with the story between them, and the bench
(``bench/bench_eda.py``) times the same call phase by phase. Figures are saved under
``artifacts/figures`` (the page embeds those files) and the results as the ``eda`` step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..data.partly_unknown import unknown_counts
from ..report.figures import save_and_close
from ..runner.artifacts import save_step_results
from ..runner.phases import Phase, no_phase
from . import correlations as eda_correlations
from . import headlines as eda
from . import where_when as eda_where_when
from .authentication import fraud_rate_by_channel_chip_pin


@dataclass
class EdaPage:
    """What the EDA page shows: tables, saved figures (name -> PNG) and the step's results."""

    scope: str
    class_balance: pd.DataFrame
    continuous_summary: pd.DataFrame
    flag_rates: pd.DataFrame
    channel_chip_pin: pd.DataFrame
    strongest_pair: tuple[str, str, float]
    distance_bands: pd.DataFrame | None  # None: the extract has no distance_from_home
    daily: pd.DataFrame | None
    results: dict
    figures: dict[str, Path] = field(default_factory=dict)


def run_eda(transactions: pd.DataFrame, output_dir=None, *, seed: int = 42,
            sample_rows: int = 20000, histogram_bins: int = 60, pair_bins: int = 10,
            distance_bands_km: list | None = None,
            phase: Phase = no_phase) -> EdaPage:
    """Run the EDA step on the loaded purchases: tables, figures and results (saved).

    The keyword arguments are the ``eda`` section of the params (same names and defaults as
    the notebook's parameters cell); ``phase`` names each section for a timer.
    """
    bands_km = [0, 2, 5, 10, 25, 50, 100, 250] if distance_bands_km is None else distance_bands_km
    fraud_rate = transactions["fraud"].mean()
    figures: dict[str, Path] = {}

    def keep(fig, name: str) -> None:
        figures[name] = save_and_close(fig, name, output_dir)

    with phase("class balance and continuous features"):
        balance = eda.class_balance(transactions)
        keep(eda.plot_continuous_distributions(transactions, histogram_bins),
             "eda_continuous_distributions")
        summary = eda.continuous_summary(transactions)
    with phase("flags"):
        flag_rates = eda.flag_fraud_rates(transactions)
        keep(eda.plot_flag_fraud_rates(flag_rates, fraud_rate), "eda_flag_fraud_rates")
        channel_chip_pin = fraud_rate_by_channel_chip_pin(transactions)
    with phase("correlations"):
        correlations = eda_correlations.feature_correlations(transactions)
        pair = eda_correlations.strongest_pair(correlations)
        keep(eda_correlations.plot_correlations(correlations, unknown_counts(transactions)),
             "eda_correlations")
        keep(eda_correlations.plot_pair_view(transactions, *pair, sample_rows=sample_rows,
                                             bins=pair_bins, seed=seed), "eda_strongest_pair")
    daily = None
    with phase("where: distance from home"):
        bands = None  # without distance_from_home the bands are unknown, not drawn
        if "distance_from_home" in transactions:
            bands = eda_where_when.distance_band_fraud_rates(transactions, bands_km)
            unknown = int(transactions["distance_from_home"].isna().sum())
            keep(eda_where_when.plot_distance_bands(bands, fraud_rate, unknown),
                 "eda_distance_bands")
    with phase("when: daily activity"):
        if eda.has_timestamps(transactions):
            daily = eda_where_when.daily_activity(transactions)
            keep(eda_where_when.plot_daily_activity(daily), "eda_daily_activity")
    with phase("results"):
        results = eda.eda_results(transactions, flag_rates, bands, pair, daily)
        save_step_results("eda", results, output_dir)
    return EdaPage(eda.data_scope(transactions), balance, summary, flag_rates, channel_chip_pin,
                   pair, bands, daily, results, figures)
