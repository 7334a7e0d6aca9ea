"""The channel step's counting on a pandas frame, under the names the page calls.

:func:`cardfraud.channels.page.run_channel_simulation` takes this module for a pandas frame
and :mod:`cardfraud.engines.spark_channels` (the same names) for a Spark DataFrame; the Monte
Carlo, the tables and the figures are then made from what these return, the same way.
"""

from __future__ import annotations

import pandas as pd

from .simulation import cell_counts, purchases_per_day
from .what_if import authentication_what_if

__all__ = ["authentication_what_if", "cell_counts", "purchase_count",
           "purchases_per_day"]


def purchase_count(transactions: pd.DataFrame) -> int:
    """Return the number of purchases in the data."""
    return len(transactions)
