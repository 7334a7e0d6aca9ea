"""The binned counts behind the drift metrics, counted in Spark.

Per feature, the reference's quantile cut points (``approxQuantile``, relative error
:data:`~cardfraud.engines.spark_eda.QUANTILE_RELATIVE_ERROR`; the 0/1 categories for a flag),
then the reference and current purchases counted per bin: two passes over each side for all
features together. PSI, Jensen-Shannon distance and the chi-square test are then computed on
the driver from these counts with :mod:`cardfraud.monitoring.drift`'s functions. Counts are
exact for the edges used; the edges agree with numpy's within the stated rank error.
"""

from __future__ import annotations

import numpy as np

from ..data.schema import FLAG_FEATURES
from ..monitoring.drift import BinnedComparison, _edge_labels
from .spark_eda import QUANTILE_RELATIVE_ERROR, known_values


def reference_edges(reference, features: list[str], bins: int = 10,
                    relative_error: float = QUANTILE_RELATIVE_ERROR) -> dict[str, np.ndarray]:
    """Return each continuous feature's inner quantile cut points of the reference (ties merged).

    Mirrors :func:`cardfraud.monitoring.drift.quantile_edges`; one pass for all features.
    """
    continuous = [f for f in features if f not in FLAG_FEATURES]
    if not continuous:
        return {}
    probabilities = list(np.linspace(0.0, 1.0, int(bins) + 1)[1:-1])
    quantiles = known_values(reference, continuous).approxQuantile(continuous, probabilities,
                                                                   relative_error)
    return {f: np.unique(np.asarray(q, dtype=float)) for f, q in zip(continuous, quantiles,
                                                                     strict=True)}


def _bin_aggregates(feature: str, edges: np.ndarray | None):
    """Spark aggregates: the known values of ``feature`` per bin (flag: 0 and 1), and unknowns."""
    from pyspark.sql import functions as F

    value = F.col(feature)
    if edges is None:
        cells = [F.count(F.when(value == v, 1)) for v in (0, 1)]
    else:
        index = sum((F.when(value >= float(e), 1).otherwise(0) for e in edges), F.lit(0))
        cells = [F.count(F.when(value.isNotNull() & (index == b), 1)) for b in range(len(edges) + 1)]
    return [c.alias(f"{feature}__{b}") for b, c in enumerate(cells)] + [
        F.count(F.when(value.isNull(), 1)).alias(f"{feature}__unknown")]


def count_per_bin(frame, edges: dict[str, np.ndarray | None]) -> tuple[dict, dict, int]:
    """Return, in one pass, counts per bin and unknown counts per feature, and the rows.

    Args:
        edges: inner cut points per feature (searchsorted ``right``), None for a 0/1 flag.
    """
    from pyspark.sql import functions as F

    frame = known_values(frame, list(edges))
    row = frame.agg(F.count(F.lit(1)).alias("__rows"), *[
        a for feature, cuts in edges.items() for a in _bin_aggregates(feature, cuts)]).first()
    counts = {f: np.array([row[f"{f}__{b}"] for b in range(2 if cuts is None else len(cuts) + 1)],
                          dtype=np.int64) for f, cuts in edges.items()}
    return counts, {f: int(row[f"{f}__unknown"]) for f in edges}, int(row["__rows"])


def binned_features(reference, current, features: list[str], bins: int = 10,
                    relative_error: float = QUANTILE_RELATIVE_ERROR):
    """Return each feature's reference and current counts per bin, and its unknown shares.

    Returns:
        ``{feature: BinnedComparison}`` (as :func:`cardfraud.monitoring.drift.bin_values` gives),
        ``{feature: {"unknown_reference": share, "unknown_current": share}}`` and the inner cut
        points used per feature (None for a flag). approxQuantile may pick slightly different
        cut points from one run to the next (within its error), so the cut points are returned.
    """
    edges = {f: None for f in features if f in FLAG_FEATURES}
    edges.update(reference_edges(reference, features, bins, relative_error))
    edges = {f: edges[f] for f in features}
    ref_counts, ref_unknown, ref_rows = count_per_bin(reference, edges)
    cur_counts, cur_unknown, cur_rows = count_per_bin(current, edges)
    binned, unknown = {}, {}
    for feature, cuts in edges.items():
        labels = ["no (0)", "yes (1)"] if cuts is None else _edge_labels(cuts)
        binned[feature] = BinnedComparison(labels, ref_counts[feature], cur_counts[feature])
        unknown[feature] = {
            "unknown_reference": ref_unknown[feature] / ref_rows if ref_rows else 0.0,
            "unknown_current": cur_unknown[feature] / cur_rows if cur_rows else 0.0}
    return binned, unknown, edges
