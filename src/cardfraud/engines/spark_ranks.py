"""Exact rank statistics on Spark: running totals in value order, quantiles, KS, PR-AUC.

Everything here is exact (no approximate quantile reaches an answer): values are counted per
distinct value, cut into ranges by a few approximate quantiles only to spread the work, and each
range's running totals are offset by the totals of the ranges before it (a few dozen numbers on
the driver). So a window never runs over one partition holding all the data, and nothing but
aggregates reaches the driver.

- :func:`running_totals`: distinct values with their counts and the running totals up to them;
- :func:`exact_quantiles`: numpy's ``np.quantile`` (linear interpolation), order statistic for
  order statistic, so quantile bin edges and medians equal the pandas engine's;
- :func:`ks_two_sample`: the two-sample Kolmogorov-Smirnov statistic over the union of both
  sides' values, and SciPy's asymptotic p-value (``ks_2samp(method="asymp")``);
- :func:`score_metrics`: PR-AUC (average precision) and ROC AUC as scikit-learn computes them,
  from the purchases counted per distinct score.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
from scipy import stats

RANGES = 64  # how many value ranges the running totals are computed in, side by side
_VALUE, _RANGE, _ORDER = "__rank_value", "__rank_range", "__rank_order"


def _range_of(order, cuts: np.ndarray):
    """Spark column: the index of the range a value falls in (cuts searched ``right``)."""
    from pyspark.sql import functions as F

    return sum((F.when(order >= float(c), 1).otherwise(0) for c in cuts), F.lit(0))


@contextmanager
def running_totals(frame, value: str, counts: dict, descending: bool = False):
    """Give, inside the block, a Spark frame of the distinct values of ``value`` (nulls and NaN
    left out); the counts per distinct value stay cached on the executors until it ends.

    Args:
        counts: name -> Spark column counted per purchase (summed per distinct value).
        descending: running totals from the largest value down (scores: the highest first).

    Returns:
        Columns ``value``, each count and ``cum_<name>``: its total over the values up to and
        including this one (in the order asked).
    """
    from pyspark.sql import functions as F

    known = frame.where(F.col(value).isNotNull() & ~F.isnan(F.col(value)))
    grouped = known.groupBy(F.col(value).cast("double").alias(_VALUE)).agg(
        *[F.sum(column).alias(name) for name, column in counts.items()])
    grouped = grouped.withColumn(_ORDER, -F.col(_VALUE) if descending else F.col(_VALUE))
    grouped = grouped.cache()  # read three times: cut points, range totals, running totals
    try:
        yield _with_running_totals(grouped, value, counts)
    finally:
        grouped.unpersist()


def _with_running_totals(grouped, value: str, counts: dict):
    """The counts per distinct value with their running totals (see :func:`running_totals`)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    cuts = np.unique(grouped.approxQuantile(_ORDER, list(np.linspace(0, 1, RANGES + 1)[1:-1]),
                                            0.001))
    keyed = grouped.withColumn(_RANGE, _range_of(F.col(_ORDER), cuts))
    totals = {r[_RANGE]: r for r in keyed.groupBy(_RANGE).agg(
        *[F.sum(n).alias(n) for n in counts]).collect()}  # one row per range: a few dozen
    spark = grouped.sparkSession
    before, offsets = dict.fromkeys(counts, 0), []
    for index in sorted(totals):
        offsets.append((int(index), *[int(before[n]) for n in counts]))
        before = {n: before[n] + int(totals[index][n] or 0) for n in counts}
    offset_names = [f"__before_{n}" for n in counts]
    schema = ", ".join([f"{_RANGE} int", *[f"{n} long" for n in offset_names]])
    offset_frame = spark.createDataFrame(offsets, schema)
    within = Window.partitionBy(_RANGE).orderBy(_ORDER).rowsBetween(Window.unboundedPreceding,
                                                                    Window.currentRow)
    joined = keyed.join(F.broadcast(offset_frame), _RANGE)
    return joined.select(F.col(_VALUE).alias(value), *counts, *[
        (F.sum(n).over(within) + F.col(o)).alias(f"cum_{n}")
        for n, o in zip(counts, offset_names, strict=True)])


def _numpy_positions(n: int, probabilities) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """numpy's linear method: the order statistics below and above each quantile, and the
    weight of the upper one (numpy's virtual index of the linear method: ``(n - 1) * q``)."""
    q = np.asarray(probabilities, dtype=float)
    virtual = (n - 1) * q
    below = np.floor(virtual)
    gamma = virtual - below
    below = np.clip(below, 0, n - 1).astype(np.int64)
    above = np.clip(below + 1, 0, n - 1).astype(np.int64)
    return below, above, gamma


def _lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """numpy's interpolation, digit for digit (from the upper value when t >= 0.5)."""
    diff = b - a
    return np.where(t >= 0.5, b - diff * (1 - t), a + diff * t)


def order_statistics(frame, column: str, ranks: list[int]):
    """Return the values of ``column`` at the given 0-based ranks in ascending order."""
    from pyspark.sql import functions as F

    with running_totals(frame, column, {"n": F.lit(1)}) as totals:
        row = totals.agg(*[F.min(F.when(F.col("cum_n") >= int(k) + 1, F.col(column))).alias(
            f"k{i}") for i, k in enumerate(ranks)]).first()
    return {k: float(row[f"k{i}"]) for i, k in enumerate(ranks)}


def exact_quantiles(frame, column: str, probabilities, known_rows: int) -> np.ndarray:
    """Return ``np.quantile(values, probabilities)`` of the known values of ``column``.

    Args:
        known_rows: how many values are known (not null, not NaN), counted by the caller.
    """
    below, above, gamma = _numpy_positions(known_rows, probabilities)
    found = order_statistics(frame, column, sorted({*below.tolist(), *above.tolist()}))
    low = np.array([found[k] for k in below])
    high = np.array([found[k] for k in above])
    return _lerp(low, high, gamma)


def ks_two_sample(reference, current, column: str, reference_rows: int,
                  current_rows: int) -> tuple[float, float]:
    """Return the KS statistic of the known values of ``column`` and its asymptotic p-value.

    The statistic is exact: the largest gap between the two sides' running shares, at every
    distinct value of either side (as ``scipy.stats.ks_2samp``); the p-value is SciPy's
    ``kstwo`` survival function at the effective sample size, as ``method="asymp"``.
    """
    found = two_sample_ranks(reference, current, column, reference_rows, current_rows, [], [])
    return found["statistic"], found["p_value"]


def two_sample_ranks(reference, current, column: str, reference_rows: int, current_rows: int,
                     reference_ranks: list[int], current_ranks: list[int]) -> dict:
    """One pass over both sides' distinct values: the KS test and order statistics of each side.

    Args:
        reference_rows, current_rows: the known values of ``column`` on each side.
        reference_ranks, current_ranks: 0-based ranks whose values are wanted.

    Returns:
        ``statistic`` and ``p_value`` (see :func:`ks_two_sample`), ``reference`` and
        ``current``: {rank: value}.
    """
    from pyspark.sql import functions as F

    both = reference.select(F.col(column).alias(_VALUE), F.lit(1).alias("r"),
                            F.lit(0).alias("c")).unionByName(
        current.select(F.col(column).alias(_VALUE), F.lit(0).alias("r"), F.lit(1).alias("c")))
    gap = (F.col("cum_r") / F.lit(float(reference_rows))) - (
        F.col("cum_c") / F.lit(float(current_rows)))
    ranked = [(side, int(k)) for side, ranks in (("r", reference_ranks), ("c", current_ranks))
              for k in sorted(set(ranks))]
    with running_totals(both, _VALUE, {"r": F.col("r"), "c": F.col("c")}) as totals:
        row = totals.agg(F.max(gap).alias("most"), F.min(gap).alias("least"), *[
            F.min(F.when(F.col(f"cum_{side}") >= k + 1, F.col(_VALUE))).alias(f"{side}{k}")
            for side, k in ranked]).first()
    statistic = max(float(row["most"]), float(np.clip(-float(row["least"]), 0, 1)))
    m, n = sorted([float(reference_rows), float(current_rows)], reverse=True)
    p_value = float(np.clip(stats.kstwo.sf(statistic, np.round(m * n / (m + n))), 0, 1))
    return {"statistic": statistic, "p_value": p_value,
            "reference": {k: float(row[f"r{k}"]) for side, k in ranked if side == "r"},
            "current": {k: float(row[f"c{k}"]) for side, k in ranked if side == "c"}}


def score_metrics(scored, fraud: str = "fraud", probability: str = "probability") -> dict:
    """Return ``average_precision`` and ``roc_auc`` of the scores against the fraud labels.

    scikit-learn's definitions, over the distinct scores from the highest down: average
    precision sums each threshold's precision times the recall it adds; ROC AUC is the
    trapezoid area under (false positive rate, recall). None when one class only.
    """
    from pyspark.sql import functions as F

    label = F.col(fraud).cast("long")
    with running_totals(scored, probability, {"tp": label, "fp": 1 - label},
                        descending=True) as totals:
        return _areas(totals)


def _areas(totals) -> dict:
    """Average precision and ROC AUC from the running totals of frauds and genuine purchases."""
    from pyspark.sql import functions as F

    sums = totals.agg(F.sum("tp").alias("frauds"), F.sum("fp").alias("genuine")).first()
    frauds, genuine = int(sums["frauds"] or 0), int(sums["genuine"] or 0)
    if not frauds or not genuine:
        return {"average_precision": None, "roc_auc": None}
    recall = F.col("cum_tp") / F.lit(float(frauds))
    recall_before = (F.col("cum_tp") - F.col("tp")) / F.lit(float(frauds))
    false_rate = F.col("cum_fp") / F.lit(float(genuine))
    false_before = (F.col("cum_fp") - F.col("fp")) / F.lit(float(genuine))
    precision = F.col("cum_tp") / (F.col("cum_tp") + F.col("cum_fp"))
    row = totals.agg(
        F.sum((recall - recall_before) * precision).alias("ap"),
        F.sum((false_rate - false_before) * (recall + recall_before) / 2).alias("auc")).first()
    return {"average_precision": float(row["ap"]), "roc_auc": float(row["auc"])}
