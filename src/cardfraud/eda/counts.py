"""The EDA step's counting functions on a pandas frame, under the names the page calls.

:func:`cardfraud.eda.page.run_eda` takes this module for a pandas frame and
:mod:`cardfraud.engines.spark_eda_counts` (the same names, the same tables) for a Spark
DataFrame; the figures are drawn from what these return, the same way for both engines.
"""

from __future__ import annotations

from .authentication import fraud_rate_by_channel_chip_pin
from .correlations import feature_correlations, pair_view_counts
from .distributions import continuous_histograms
from .headlines import class_balance, continuous_summary, flag_fraud_rates, purchase_facts
from .where_when import daily_activity, distance_band_fraud_rates

__all__ = ["class_balance", "continuous_histograms", "continuous_summary", "daily_activity",
           "distance_band_fraud_rates", "feature_correlations", "flag_fraud_rates",
           "fraud_rate_by_channel_chip_pin", "pair_view_counts", "purchase_facts"]
