"""The data-bound work of the EDA, drift and modeling steps on Spark, in one place to import.

Each name is the Spark mirror of a pandas function and returns the same pandas table (or
counts), so page code can call either engine's:

- EDA (:mod:`.spark_eda`): class_balance, continuous_summary, log_histograms, flag_fraud_rates,
  fraud_rate_by_channel_chip_pin, distance_band_fraud_rates, daily_activity,
  feature_correlations, pair_fraud_rates;
- drift (:mod:`.spark_drift`): binned_features, the counts per bin behind PSI, JS and chi-square;
- samples (:mod:`.spark_sampling`): sample_rows for scatter figures, training_sample for modeling.

Quantiles are approximate with relative (rank) error :data:`QUANTILE_RELATIVE_ERROR`.
"""

from .spark_drift import binned_features, count_per_bin, reference_edges
from .spark_eda import (
    QUANTILE_RELATIVE_ERROR,
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
from .spark_sampling import TrainingSample, sample_rows, training_sample

__all__ = ["QUANTILE_RELATIVE_ERROR", "TrainingSample", "binned_features", "class_balance",
           "continuous_summary", "count_per_bin", "daily_activity", "distance_band_fraud_rates",
           "feature_correlations", "flag_fraud_rates", "fraud_rate_by_channel_chip_pin",
           "known_values", "log_histograms", "pair_fraud_rates", "reference_edges", "sample_rows",
           "training_sample"]
