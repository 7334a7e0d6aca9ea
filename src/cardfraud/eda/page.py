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

from ..engines import is_spark_frame
from ..report.figures import save_and_close
from ..runner.artifacts import save_step_results
from ..runner.phases import Phase, no_phase
from . import correlations as eda_correlations
from . import counts as eda_counts
from . import headlines as eda
from . import where_when as eda_where_when
from .distributions import draw_continuous_distributions


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


def counting_for(transactions):
    """Return the module that counts on this frame: :mod:`.counts` (pandas) or, for a Spark
    DataFrame, :mod:`cardfraud.engines.spark_eda_counts` (the same names and tables)."""
    if is_spark_frame(transactions):
        from ..engines import spark_eda_counts

        return spark_eda_counts
    return eda_counts


def run_eda(transactions, output_dir=None, *, seed: int = 42,
            sample_rows: int = 20000, histogram_bins: int = 60, pair_bins: int = 10,
            distance_bands_km: list | None = None,
            phase: Phase = no_phase) -> EdaPage:
    """Run the EDA step on the loaded purchases: tables, figures and results (saved).

    ``transactions``: a pandas frame or a Spark DataFrame (a Spark run). On Spark every table,
    figure and result comes from aggregates of all purchases, the same numbers as pandas
    (quantiles and equal-count bin edges within approxQuantile's error), except the pair
    figure's scatter: a bounded ``rand(seed)`` sample of ``sample_rows`` purchases, not the
    numpy sample pandas draws. The keyword arguments are the ``eda`` section of the params
    (same names and defaults as the notebook's parameters cell); ``phase`` names each section
    for a timer.
    """
    bands_km = [0, 2, 5, 10, 25, 50, 100, 250] if distance_bands_km is None else distance_bands_km
    counting = counting_for(transactions)
    columns = list(transactions.columns)
    figures: dict[str, Path] = {}

    def keep(fig, name: str) -> None:
        figures[name] = save_and_close(fig, name, output_dir)

    with phase("class balance and continuous features"):
        facts = counting.purchase_facts(transactions)
        balance = counting.class_balance(transactions)
        keep(draw_continuous_distributions(counting.continuous_histograms(transactions,
                                                                          histogram_bins)),
             "eda_continuous_distributions")
        summary = counting.continuous_summary(transactions)
    with phase("flags"):
        flag_rates = counting.flag_fraud_rates(transactions)
        keep(eda.plot_flag_fraud_rates(flag_rates, facts.fraud_rate), "eda_flag_fraud_rates")
        channel_chip_pin = counting.fraud_rate_by_channel_chip_pin(transactions)
    with phase("correlations"):
        correlations = counting.feature_correlations(transactions)
        pair = eda_correlations.strongest_pair(correlations)
        keep(eda_correlations.plot_correlations(correlations, facts.inputs_partly_unknown),
             "eda_correlations")
        view = counting.pair_view_counts(transactions, pair[0], pair[1], sample_rows, pair_bins,
                                         seed)
        keep(eda_correlations.draw_pair_view(view, *pair), "eda_strongest_pair")
    daily = None
    with phase("where: distance from home"):
        bands = None  # without distance_from_home the bands are unknown, not drawn
        if "distance_from_home" in columns:
            bands = counting.distance_band_fraud_rates(transactions, bands_km)
            unknown = facts.inputs_partly_unknown.get("distance_from_home", 0)
            keep(eda_where_when.plot_distance_bands(bands, facts.fraud_rate, unknown),
                 "eda_distance_bands")
    with phase("when: daily activity"):
        if facts.has_timestamps:
            daily = counting.daily_activity(transactions)
            keep(eda_where_when.plot_daily_activity(daily), "eda_daily_activity")
    with phase("results"):
        results = eda.results_from_facts(facts, flag_rates, bands, pair, daily)
        save_step_results("eda", results, output_dir)
    return EdaPage(eda.scope_sentence(facts), balance, summary, flag_rates, channel_chip_pin,
                   pair, bands, daily, results, figures)
