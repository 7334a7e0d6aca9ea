"""The executive summary's figures from a Spark run's hand-over, counted on the executors.

A Spark run's modeling step writes the test period's scores as a folder of Parquet
(``test_predictions.parquet``); the summary needs only three sums of it.
"""

from __future__ import annotations

from pathlib import Path

from ..data.schema import TARGET


def alerts_and_caught(predictions: Path, threshold: float, engine: dict | None = None) -> dict:
    """Return ``{alerts, caught, caught_amount}`` of the test period's scores at ``threshold``;
    ``caught_amount`` is None when the scores carry no ``amount``."""
    from pyspark.sql import functions as F

    from .spark_load import read_handed_on

    scores = read_handed_on(predictions, engine)
    alert = F.col("probability") >= F.lit(float(threshold))
    caught = alert & (F.col(TARGET).cast("int") == 1)
    sums = [F.sum(alert.cast("long")).alias("alerts"), F.sum(caught.cast("long")).alias("caught")]
    if "amount" in scores.columns:
        sums.append(F.sum(F.when(caught, F.col("amount")).otherwise(0.0)).alias("amount"))
    row = scores.agg(*sums).first().asDict()
    return {"alerts": int(row["alerts"] or 0), "caught": int(row["caught"] or 0),
            "caught_amount": float(row["amount"] or 0.0) if "amount" in row else None}
