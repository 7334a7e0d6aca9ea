"""Bounded samples drawn in Spark: for scatter figures, and for training a model.

Only the sample reaches the driver. Draws are seeded (``rand(seed)``), so the same data read
the same way gives the same sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from ..data.schema import TARGET

_DRAW, _ROW = "_cardfraud_draw", "_cardfraud_row"


@dataclass
class TrainingSample:
    """A training sample and how it was drawn (shares kept of each class, for reweighting)."""

    frame: pd.DataFrame
    fraud_fraction: float  # share of the frauds kept (1.0: every fraud)
    genuine_fraction: float  # share of the genuine purchases kept
    frauds: int  # frauds in the whole data
    genuine: int  # genuine purchases in the whole data

    def as_record(self) -> dict:
        """Return the sampling figures for run.json (rows kept and fractions)."""
        kept = self.frame[TARGET].to_numpy() == 1
        return {"rows": len(self.frame), "frauds_kept": int(kept.sum()),
                "genuine_kept": int((~kept).sum()), "fraud_fraction": self.fraud_fraction,
                "genuine_fraction": self.genuine_fraction}


def _smallest_draws(frame, rows: int, share: float, seed: int):
    """Keep the ``rows`` rows with the smallest seeded draws (about ``share`` of the frame).

    A Bernoulli pre-filter with a margin of five standard deviations keeps the top-k step
    small; in the rare case it keeps fewer than ``rows``, fewer rows are returned.
    """
    from pyspark.sql import functions as F

    frame = frame.withColumn(_DRAW, F.rand(seed))
    if share < 1:
        margin = min(1.0, share + 5 * math.sqrt(share * (1 - share) / max(rows / share, 1))
                     + 10 / max(rows / share, 1))
        frame = frame.where(F.col(_DRAW) < margin)
    return frame.orderBy(_DRAW).limit(rows).drop(_DRAW)


def sample_rows(frame, rows: int, seed: int = 42, known: list[str] | None = None) -> pd.DataFrame:
    """Return a seeded random sample of at most ``rows`` purchases as a pandas frame.

    Args:
        known: columns that must be known (not null/NaN) in the sampled purchases.
    """
    from .spark_eda import known_values

    if known:
        frame = known_values(frame, known).dropna(subset=known)
    total = frame.count()
    if total == 0 or rows <= 0:
        return frame.limit(0).toPandas()
    return _smallest_draws(frame, rows, min(1.0, rows / total), seed).toPandas() \
        .reset_index(drop=True)


def training_sample(frame, max_rows: int, seed: int = 42,
                    time_column: str = "timestamp") -> TrainingSample:
    """Draw the training sample in Spark: every fraud up to half of ``max_rows``, the rest
    genuine purchases at random; returned in time order (then file order) as pandas.

    When there are more frauds than half of ``max_rows``, a random share of them is kept.
    """
    from pyspark.sql import functions as F

    if max_rows < 2:
        raise ValueError(f"modeling: train_sample_rows must be at least 2, not {max_rows!r}")
    frame = frame.withColumn(_ROW, F.monotonically_increasing_id())  # the order rows were read in
    row = frame.agg(F.count(F.lit(1)).alias("n"), F.sum(F.col(TARGET).cast("long")).alias("f")
                    ).first()
    frauds = int(row["f"] or 0)
    genuine = int(row["n"]) - frauds
    fraud_rows = min(frauds, max_rows // 2)
    genuine_rows = min(genuine, max_rows - fraud_rows)
    parts = []
    for label, total, keep, part_seed in ((1, frauds, fraud_rows, seed), (0, genuine, genuine_rows,
                                                                          seed + 1)):
        subset = frame.where(F.col(TARGET) == label)
        parts.append(subset if keep == total else
                     _smallest_draws(subset, keep, keep / total, part_seed))
    sample = parts[0].unionByName(parts[1]).toPandas()
    order = [time_column, _ROW] if time_column in sample.columns else [_ROW]
    sample = sample.sort_values(order, kind="stable").drop(columns=_ROW).reset_index(drop=True)
    kept_frauds = int((sample[TARGET] == 1).sum())
    return TrainingSample(sample, kept_frauds / frauds if frauds else 1.0,
                          (len(sample) - kept_frauds) / genuine if genuine else 1.0,
                          frauds, genuine)
