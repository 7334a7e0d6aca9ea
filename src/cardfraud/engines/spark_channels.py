"""The channel step's counting on a Spark DataFrame, under the names the page calls.

The same names as :mod:`cardfraud.channels.counts` (pandas). Only counts reach the driver:
the end-state counts, the what-if counts per channel and authentication, the first and last
day. The flow's draw and the Monte Carlo run on the driver from those counts (on either
engine), so they give the pandas numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..channels.what_if import (
    WHAT_IF_RULES,
    RuleCounts,
    rule_row,
    unknown_rule_row,
    what_if_table,
)
from ..data.schema import TARGET

__all__ = ["authentication_what_if", "cell_counts", "purchase_count",
           "purchases_per_day"]

_AUTHENTICATION = ("used_chip", "used_pin_number")


def purchase_count(frame) -> int:
    """Return the number of purchases in the data."""
    return int(frame.count())


def cell_counts(frame) -> np.ndarray:
    """Return purchase counts of onsite-legitimate, onsite-fraud, online-legitimate, online-fraud."""
    from pyspark.sql import functions as F

    code = F.col("online_order").cast("int") * 2 + F.col(TARGET).cast("int")
    counts = np.zeros(4, dtype=np.int64)
    for row in frame.groupBy(code.alias("cell")).count().collect():
        counts[row["cell"]] = row["count"]
    return counts


def purchases_per_day(frame) -> float:
    """Return the average purchases per calendar day over the data's period."""
    from pyspark.sql import functions as F

    row = frame.agg(F.count(F.lit(1)).alias("n"), F.min(F.to_date("timestamp")).alias("start"),
                    F.max(F.to_date("timestamp")).alias("end")).first()
    return int(row["n"]) / ((row["end"] - row["start"]).days + 1)


def _grouped_counts(frame, columns: list[str]) -> pd.DataFrame:
    """Return purchases per combination of ``columns`` and fraud (a table of at most 16 rows)."""
    from pyspark.sql import functions as F

    rows = frame.groupBy(*[F.col(c).cast("int").alias(c) for c in columns + [TARGET]]) \
        .count().collect()
    return pd.DataFrame([r.asDict() for r in rows], columns=columns + [TARGET, "count"])


def authentication_what_if(frame) -> pd.DataFrame:
    """Return fraud rates with vs without authentication and what a mandatory rule would meet.

    The table of :func:`cardfraud.channels.what_if.authentication_what_if`, from the
    purchases counted per channel, chip, PIN and fraud.
    """
    present = [c for c in ("online_order", *_AUTHENTICATION) if c in frame.columns]
    cells = _grouped_counts(frame, present)
    all_frauds = int(cells.loc[cells[TARGET] == 1, "count"].sum())
    rows = []
    for rule, where, needs in WHAT_IF_RULES:
        # without online_order every purchase's channel is unknown: none in either channel
        in_channel = cells[cells["online_order"] == (1 if where == "online" else 0)] \
            if "online_order" in present else cells.iloc[0:0]
        missing = [name for name in needs if name not in present]
        if missing:
            rows.append(unknown_rule_row(rule, where, int(in_channel["count"].sum()), missing))
            continue
        authenticated = np.logical_and.reduce([in_channel[n].to_numpy() == 1 for n in needs])
        fraud = in_channel[TARGET].to_numpy() == 1
        count = in_channel["count"].to_numpy()
        rows.append(rule_row(rule, where, RuleCounts(
            int(count[authenticated].sum()), int(count[authenticated & fraud].sum()),
            int(count[~authenticated].sum()), int(count[~authenticated & fraud].sum())),
            all_frauds))
    return what_if_table(rows)
