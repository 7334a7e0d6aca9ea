"""The EDA step's data-bound computations on Spark: the same tables as the pandas functions.

Each function takes the cleaned transactions as a Spark DataFrame and returns the pandas table
(same index, columns and dtypes) of the pandas function it mirrors in :mod:`cardfraud.eda`, so
the page code draws either. Only aggregates reach the driver. Counts, means, minima and maxima
are exact; quantiles come from ``approxQuantile`` with relative error
:data:`QUANTILE_RELATIVE_ERROR`: the value returned for quantile q has a rank within
``QUANTILE_RELATIVE_ERROR * n`` of ``q * n`` (pandas interpolates between the two nearest
values, so the two agree to that rank). Unknown values (null or NaN) are left out as in pandas.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.schema import CONTINUOUS_FEATURES, FLAG_FEATURES, TARGET, available_inputs
from ..eda.authentication import channel_chip_pin_table, known_channel_chip_pin
from ..eda.correlations import equal_count_bins, pair_tables
from ..eda.headlines import FLAG_NAMES, continuous_summary_table, with_fraud_rates
from ..eda.where_when import daily_table, distance_band_table

QUANTILE_RELATIVE_ERROR = 1e-4  # rank error of approxQuantile, as a share of the rows


def known_values(frame, columns: list[str] | None = None):
    """Return ``frame`` with NaN turned into null in its floating columns (both mean unknown)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType, FloatType

    floats = {f.name for f in frame.schema.fields if isinstance(f.dataType, (DoubleType, FloatType))}
    chosen = [c for c in (columns or frame.columns) if c in floats]
    return frame.withColumns({c: F.nanvl(F.col(c), F.lit(None).cast("double")) for c in chosen}) \
        if chosen else frame


def class_balance(frame) -> pd.DataFrame:
    """Return purchases and share of purchases per class (legitimate, fraud)."""
    from pyspark.sql import functions as F

    row = frame.agg(F.count(F.lit(1)).alias("n"), F.sum(F.col(TARGET).cast("long")).alias("f")
                    ).first()
    frauds = int(row["f"] or 0)
    counts = np.array([int(row["n"]) - frauds, frauds], dtype=np.int64)
    return pd.DataFrame({"class": ["legitimate", "fraud"], "purchases": counts,
                         "share of purchases": counts / counts.sum()})


def _unbiased_skew_kurt(n: int, skewness: float | None, kurtosis: float | None):
    """Turn Spark's population skewness and excess kurtosis into pandas' unbiased ones."""
    if n < 3 or skewness is None or not np.isfinite(skewness):
        skew = np.nan if n < 3 else 0.0
    else:
        skew = skewness * np.sqrt(n * (n - 1)) / (n - 2)
    if n < 4 or kurtosis is None or not np.isfinite(kurtosis):
        kurt = np.nan if n < 4 else 0.0
    else:
        kurt = ((n + 1) * (n - 1) * (kurtosis + 3) - 3 * (n - 1) ** 2) / ((n - 2) * (n - 3))
    return float(skew), float(kurt)


def continuous_summary(frame, tail_quantile: float = 0.999,
                       relative_error: float = QUANTILE_RELATIVE_ERROR) -> pd.DataFrame:
    """Return median, mean, tail quantile, max, skewness, excess kurtosis and tail count.

    Median and tail quantile are approximate (``relative_error``), the rest exact; the tail
    count is of the purchases above the approximate tail quantile.
    """
    from pyspark.sql import functions as F

    features = [c for c in CONTINUOUS_FEATURES if c in frame.columns]
    if not features:
        return continuous_summary_table([])
    frame = known_values(frame, features)
    stats = frame.agg(F.count(F.lit(1)).alias("rows"), *[
        expr.alias(f"{name}_{c}") for c in features for name, expr in (
            ("n", F.count(c)), ("mean", F.mean(c)), ("max", F.max(c)),
            ("skew", F.skewness(c)), ("kurt", F.kurtosis(c)))]).first()
    quantiles = frame.approxQuantile(features, [0.5, tail_quantile], relative_error)
    beyond = frame.agg(*[F.count(F.when(F.col(c) > q[1], 1)).alias(c)
                         for c, q in zip(features, quantiles, strict=True)]).first()
    label = f"p{tail_quantile * 100:g}"
    rows = []
    for feature, found in zip(features, quantiles, strict=True):
        median, cut = found or (np.nan, np.nan)  # no known value: no quantile
        n = int(stats[f"n_{feature}"])
        skew, kurt = _unbiased_skew_kurt(n, stats[f"skew_{feature}"], stats[f"kurt_{feature}"])
        rows.append({"feature": feature, "median": float(median), "mean": stats[f"mean_{feature}"],
                     label: float(cut), "max": stats[f"max_{feature}"], "skewness": skew,
                     "kurtosis": kurt, f"purchases beyond {label}": int(beyond[feature]),
                     "purchases unknown": int(stats["rows"]) - n})
    return continuous_summary_table(rows)


def _equal_width_bin(value, edges: np.ndarray):
    """Spark column: numpy's equal-width histogram bin of ``value`` (same rounding fixes)."""
    from pyspark.sql import functions as F

    bins = len(edges) - 1
    first, width = float(edges[0]), float(edges[-1] - edges[0])
    array = F.array(*[F.lit(float(e)) for e in edges])
    index = F.least(F.floor((value - first) / width * bins).cast("int"), F.lit(bins - 1))
    index = F.greatest(index, F.lit(0))
    index = F.when(value < F.element_at(array, index + 1), index - 1).otherwise(index)
    index = F.when((value >= F.element_at(array, index + 2)) & (index != bins - 1),
                   index + 1).otherwise(index)
    return F.greatest(F.least(index, F.lit(bins - 1)), F.lit(0))


def log_histograms(frame, feature: str, bins: int = 60):
    """Return log-spaced bin edges and each class's share of purchases per bin (all rows)."""
    from pyspark.sql import functions as F

    frame = known_values(frame, [feature]).where(F.col(feature).isNotNull())
    row = frame.agg(F.min(F.when(F.col(feature) > 0, F.col(feature))).alias("low"),
                    F.max(feature).alias("high")).first()
    low = row["low"] if row["low"] is not None else 1e-3
    log_edges = np.linspace(np.log10(low), np.log10(max(row["high"], low * 10)), bins + 1)
    value = F.col(feature)
    # the smallest positive value and the largest sit exactly on the outer edges
    log_value = F.when(value <= low, F.lit(float(log_edges[0]))) \
        .when(value == row["high"], F.lit(float(np.log10(row["high"])))) \
        .otherwise(F.log10(value))
    counted = frame.groupBy((F.col(TARGET) == 1).alias("is_fraud"),
                            _equal_width_bin(log_value, log_edges).alias("bin")).count().collect()
    counts = {0: np.zeros(bins, dtype=np.int64), 1: np.zeros(bins, dtype=np.int64)}
    for r in counted:
        counts[int(r["is_fraud"])][r["bin"]] += r["count"]
    return 10.0 ** log_edges, {label: c / max(c.sum(), 1) for label, c in counts.items()}


def _counts_by(frame, key, cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Return purchases and frauds per integer ``key`` (0 .. cells-1) as two int64 arrays."""
    from pyspark.sql import functions as F

    purchases, frauds = np.zeros(cells, dtype=np.int64), np.zeros(cells, dtype=np.int64)
    for r in frame.groupBy(key.alias("key")).agg(
            F.count(F.lit(1)).alias("n"), F.sum(F.col(TARGET).cast("long")).alias("f")).collect():
        if r["key"] is not None and 0 <= r["key"] < cells:
            purchases[r["key"]], frauds[r["key"]] = r["n"], r["f"]
    return purchases, frauds


def flag_fraud_rates(frame) -> pd.DataFrame:
    """Return purchases, frauds and fraud rate (95 % CI) for each value of the four flags."""
    from pyspark.sql import functions as F

    flags = [c for c in FLAG_FEATURES if c in frame.columns]
    aggregates = [expr for flag in flags for value in (0, 1) for expr in (
        F.count(F.when(F.col(flag) == value, 1)).alias(f"n_{flag}_{value}"),
        F.sum(F.when(F.col(flag) == value, F.col(TARGET).cast("long")).otherwise(0))
        .alias(f"f_{flag}_{value}"))]
    row = frame.agg(*aggregates).first() if flags else {}
    rows = [{"flag": FLAG_NAMES[flag], "value": "yes" if value else "no",
             "purchases": int(row[f"n_{flag}_{value}"]), "frauds": int(row[f"f_{flag}_{value}"])}
            for flag in flags for value in (0, 1)]
    return with_fraud_rates(pd.DataFrame(rows, columns=["flag", "value", "purchases", "frauds"]))


def fraud_rate_by_channel_chip_pin(frame) -> pd.DataFrame:
    """Return purchases, frauds and fraud rate (95 % CI) per channel x chip x PIN."""
    from pyspark.sql import functions as F

    known = known_channel_chip_pin(frame.columns)
    code = F.lit(0).cast("long")
    for column in known:
        code = code * 2 + F.col(column).cast("long")
    purchases, frauds = _counts_by(frame, code, 2 ** len(known))
    return channel_chip_pin_table(known, purchases, frauds)


def distance_band_fraud_rates(frame, bands_km: list[float]) -> pd.DataFrame:
    """Return purchases, frauds and fraud rate (95 % CI) per distance-from-home band."""
    from pyspark.sql import functions as F

    edges = np.asarray(sorted(bands_km), dtype=float)
    frame = known_values(frame, ["distance_from_home"])
    distance = F.col("distance_from_home")
    band = sum((F.when(distance >= float(e), 1).otherwise(0) for e in edges), F.lit(0)) - 1
    band = F.when(distance.isNotNull(), F.greatest(band, F.lit(0)))  # unknown: in no band
    purchases, frauds = _counts_by(frame, band, len(edges))
    return distance_band_table(edges, purchases, frauds)


def daily_activity(frame) -> pd.DataFrame:
    """Return purchases, frauds and fraud rate (95 % CI) per calendar day."""
    from pyspark.sql import functions as F

    rows = frame.groupBy(F.to_date("timestamp").alias("day")).agg(
        F.count(F.lit(1)).alias("n"), F.sum(F.col(TARGET).cast("long")).alias("f")
    ).orderBy("day").collect()
    days = pd.to_datetime([r["day"] for r in rows]).astype("datetime64[ns]")
    return daily_table(days, np.array([r["n"] for r in rows], dtype=np.int64),
                       np.array([r["f"] for r in rows], dtype=np.int64))


def _pearson(n: float, sa: float, sb: float, saa: float, sbb: float, sab: float) -> float:
    """Return Pearson's r from the sums of two shifted variables (NaN if one is constant)."""
    if n < 2:
        return np.nan
    spread = (saa - sa * sa / n) * (sbb - sb * sb / n)
    return float((sab - sa * sb / n) / np.sqrt(spread)) if spread > 0 else np.nan


def feature_correlations(frame) -> pd.DataFrame:
    """Return the Pearson correlation matrix of the features the extract gives and fraud.

    Two passes: the means, then sums of products of the values less their means (accurate
    where raw sums of squares would cancel). Each pair on the purchases that know both, as
    pandas does; for columns with no unknown value the column sums serve every pair.
    """
    from pyspark.sql import functions as F

    columns = available_inputs(frame.columns) + [TARGET]
    frame = known_values(frame.select([F.col(c).cast("double") for c in columns]))
    first = frame.agg(F.count(F.lit(1)).alias("rows"), *[
        e for i, c in enumerate(columns) for e in (F.count(c).alias(f"n{i}"),
                                                    F.mean(c).alias(f"m{i}"))]).first()
    rows = first["rows"]
    complete = [first[f"n{i}"] == rows for i in range(len(columns))]
    shifted = [F.col(c) - F.lit(float(first[f"m{i}"] or 0.0)) for i, c in enumerate(columns)]
    pairs = [(i, j) for i in range(len(columns)) for j in range(i, len(columns))]
    sums = [F.sum(shifted[i]).alias(f"s{i}") for i in range(len(columns)) if complete[i]]
    for i, j in pairs:
        a, b = shifted[i], shifted[j]
        if complete[i] and complete[j]:
            sums.append(F.sum(a * b).alias(f"p{i}_{j}"))
            continue
        both = F.col(columns[i]).isNotNull() & F.col(columns[j]).isNotNull()
        sums += [F.count(F.when(both, 1)).alias(f"n{i}_{j}"), *[
            F.sum(F.when(both, e)).alias(f"{k}{i}_{j}")
            for k, e in (("a", a), ("b", b), ("aa", a * a), ("bb", b * b), ("p", a * b))]]
    row = frame.agg(*sums).first() if rows else None
    matrix = np.full((len(columns), len(columns)), np.nan)
    for i, j in pairs:
        if row is None:
            continue
        if complete[i] and complete[j]:
            values = (rows, row[f"s{i}"], row[f"s{j}"], row[f"p{i}_{i}"], row[f"p{j}_{j}"],
                      row[f"p{i}_{j}"])
        else:
            values = tuple(row[f"{k}{i}_{j}"] or 0.0 for k in ("n", "a", "b", "aa", "bb", "p"))
        matrix[i, j] = matrix[j, i] = _pearson(*values)
    return pd.DataFrame(matrix, index=columns, columns=columns)


def feature_bin_edges(frame, feature: str, bins: int,
                      relative_error: float = QUANTILE_RELATIVE_ERROR):
    """Return bin edges and labels: no/yes for a flag, equal-count bins (approximate) otherwise.

    The inner edges come from ``approxQuantile`` (``relative_error``); the outer ones are the
    exact minimum and maximum, so every known value falls in a bin.
    """
    from pyspark.sql import functions as F

    if feature in FLAG_FEATURES:
        return np.array([-0.5, 0.5, 1.5]), ["no", "yes"]
    inner = frame.approxQuantile(feature, list(np.linspace(0, 1, bins + 1)[1:-1]), relative_error)
    low, high = frame.agg(F.min(feature), F.max(feature)).first()
    return equal_count_bins([low, *inner, high])


def _bin_of(column: str, edges: np.ndarray):
    """Spark column: the bin of ``column`` between sorted edges (numpy's searchsorted - 1)."""
    from pyspark.sql import functions as F

    return sum((F.when(F.col(column) >= float(e), 1).otherwise(0) for e in edges[1:-1]), F.lit(0))


def pair_counts(frame, first: str, second: str, x_edges: np.ndarray, y_edges: np.ndarray):
    """Return the purchases and frauds grids (rows: second) of two features over given edges."""
    y_bins, x_bins = len(y_edges) - 1, len(x_edges) - 1
    cell = _bin_of(second, y_edges) * x_bins + _bin_of(first, x_edges)
    purchases, frauds = _counts_by(frame, cell, y_bins * x_bins)
    return purchases.reshape(y_bins, x_bins), frauds.reshape(y_bins, x_bins)


def pair_fraud_rates(frame, first: str, second: str, bins: int = 10,
                     relative_error: float = QUANTILE_RELATIVE_ERROR):
    """Return the fraud-rate grid of two features (rows: second, columns: first) and purchases.

    Purchases with either feature unknown are left out; bins as :func:`feature_bin_edges`.
    """
    from pyspark.sql import functions as F

    frame = known_values(frame, [first, second]).dropna(subset=[first, second])
    frame = frame.select(F.col(first).cast("double"), F.col(second).cast("double"), TARGET)
    x_edges, x_labels = feature_bin_edges(frame, first, bins, relative_error)
    y_edges, y_labels = feature_bin_edges(frame, second, bins, relative_error)
    purchases, frauds = pair_counts(frame, first, second, x_edges, y_edges)
    return pair_tables(purchases, frauds, x_labels, y_labels)
