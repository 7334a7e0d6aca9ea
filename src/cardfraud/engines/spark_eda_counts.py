"""The EDA step's counting functions on a Spark DataFrame, under the names the page calls.

The same names and return values as :mod:`cardfraud.eda.counts` (pandas), so
:func:`cardfraud.eda.page.run_eda` draws the same figures and saves the same results from
either. The tables are :mod:`.spark_eda`'s; this module adds what the page needs beyond them:
the purchases' headline counts, the distribution figure's histograms and the pair figure's
sample and grid. Only aggregates and one bounded sample (the pair figure's scatter, drawn
with ``rand(seed)``, so not the pandas run's numpy sample) reach the driver.
"""

from __future__ import annotations

import numpy as np

from ..data.schema import CONTINUOUS_FEATURES, FEATURES, TARGET, unknown_inputs
from ..eda.correlations import PairView
from ..eda.distributions import ContinuousHistograms
from ..eda.headlines import CHANNELS, PurchaseFacts
from . import spark_sampling
from .spark_eda import (
    class_balance,
    continuous_summary,
    daily_activity,
    distance_band_fraud_rates,
    feature_correlations,
    flag_fraud_rates,
    fraud_rate_by_channel_chip_pin,
    known_values,
    log_histograms,
    pair_fraud_rates,
)

__all__ = ["class_balance", "continuous_histograms", "continuous_summary", "daily_activity",
           "distance_band_fraud_rates", "feature_correlations", "flag_fraud_rates",
           "fraud_rate_by_channel_chip_pin", "pair_view_counts", "purchase_facts",
           "unknown_counts"]


def _unknown_aggregates(columns: list[str]) -> list:
    """Spark aggregates: purchases with each column unknown (null or NaN), named after it."""
    from pyspark.sql import functions as F

    return [F.count(F.when(F.col(c).isNull(), 1)).alias(f"unknown_{c}") for c in columns]


def _unknown_from(row, columns: list[str]) -> dict[str, int]:
    """Return {column: purchases unknown} for the columns with any, from an aggregate row."""
    return {c: int(row[f"unknown_{c}"]) for c in columns if row[f"unknown_{c}"]}


def unknown_counts(frame, columns: list[str] | None = None) -> dict[str, int]:
    """Return, per input unknown on some purchases, how many purchases have it empty."""
    columns = [c for c in (FEATURES if columns is None else columns) if c in frame.columns]
    if not columns:
        return {}
    row = known_values(frame, columns).agg(*_unknown_aggregates(columns)).first()
    return _unknown_from(row, columns)


def purchase_facts(frame) -> PurchaseFacts:
    """Return the headline counts of the purchases, in one pass over the data."""
    from pyspark.sql import functions as F

    columns = [c for c in FEATURES if c in frame.columns]
    coordinates = {"latitude", "longitude"} <= set(frame.columns)
    fraud = F.col(TARGET).cast("long")
    channel = [] if "online_order" not in frame.columns else [
        e for value, name in ((0, "onsite"), (1, "online")) for e in (
            F.count(F.when(F.col("online_order") == value, 1)).alias(f"n_{name}"),
            F.sum(F.when(F.col("online_order") == value, fraud).otherwise(0)).alias(f"f_{name}"))]
    located = [F.count("latitude").alias("located")] if coordinates else []
    row = known_values(frame, columns + (["latitude"] if coordinates else [])).agg(
        F.count(F.lit(1)).alias("rows"), F.sum(fraud).alias("frauds"), *channel, *located,
        *_unknown_aggregates(columns)).first()
    rows, frauds = int(row["rows"]), int(row["frauds"] or 0)
    by_channel = {c: (int(row[f"f_{c}"]) / int(row[f"n_{c}"])) if channel and row[f"n_{c}"]
                  else None for c in CHANNELS}
    return PurchaseFacts(rows, frauds, frauds / rows if rows else float("nan"), by_channel,
                         unknown_inputs(frame.columns), _unknown_from(row, columns),
                         bool(coordinates and row["located"]), "timestamp" in frame.columns)


def continuous_histograms(frame, bins: int = 60) -> ContinuousHistograms:
    """Return the log-spaced histograms of the continuous features (all purchases binned)."""
    from pyspark.sql import functions as F

    continuous = [c for c in CONTINUOUS_FEATURES if c in frame.columns]
    row = known_values(frame, continuous).agg(
        F.count(F.lit(1)).alias("rows"), *_unknown_aggregates(continuous),
        *[F.count(F.when(F.col(c) <= 0, 1)).alias(f"zeros_{c}") for c in continuous]).first()
    return ContinuousHistograms(
        {feature: log_histograms(frame, feature, bins) for feature in continuous},
        {c: int(row[f"zeros_{c}"]) for c in continuous}, _unknown_from(row, continuous),
        int(row["rows"]), bins)


def pair_view_counts(frame, first: str, second: str, sample_rows: int = 20_000,
                     bins: int = 10, seed: int = 42) -> PairView:
    """Return the pair figure's grid (all purchases) and scatter sample (bounded, seeded).

    The grid is counted on every purchase knowing both features, with approximate
    equal-count bins (:func:`.spark_eda.pair_fraud_rates`); the scatter is a ``rand(seed)``
    sample of at most ``sample_rows`` of them (:func:`.spark_sampling.sample_rows`), so its
    points are not the pandas run's numpy sample (same size, same distribution).
    """
    rates, counts = pair_fraud_rates(frame, first, second, bins)
    columns = list(dict.fromkeys([first, second, TARGET]))
    sample = spark_sampling.sample_rows(frame.select(*columns), sample_rows, seed,
                                        known=[first, second])
    return PairView(sample, np.random.default_rng(seed), rates, int(counts.to_numpy().sum()),
                    unknown_counts(frame, [first, second]))
