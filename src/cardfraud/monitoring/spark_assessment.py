"""The monitoring assessment of a Spark run: drift per feature, feed checks and the champion.

The same tables and numbers as :mod:`.drift`, :mod:`.status` and :mod:`.champion`, counted on
the executors; only aggregates reach the driver:

- bin edges are the reference's exact quantiles (numpy's linear method, order statistic for
  order statistic: :func:`cardfraud.engines.spark_ranks.exact_quantiles`), so the counts per
  bin, PSI, Jensen-Shannon distance and chi-square test equal the pandas engine's;
- the KS statistic is exact too, the largest gap between the two sides' running shares over
  the union of their distinct values (:func:`cardfraud.engines.spark_ranks.ks_two_sample`),
  with SciPy's asymptotic p-value, as pandas' ``ks_2samp(method="asymp")``; medians are exact;
- the champion scores the purchases with ``mlflow.pyfunc.spark_udf``
  (:func:`cardfraud.engines.spark_scoring.with_scores`); its PR-AUC, recall and precision
  come from the purchases counted per score. When the reference has more purchases than
  ``score_sample_rows``, the reference scored is a seeded Spark sample: another draw than the
  pandas engine's, so the score PSI then differs from a pandas run's by the sampling noise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.schema import FEATURES, FLAG_FEATURES, available_inputs
from ..report.locale_format import fill
from ..report.table_language import key_words
from ..report.translate import _
from .drift import (
    BinnedComparison,
    FeatureDrift,
    _edge_labels,
    check_monitoring_params,
    chi_square_test,
    drift_status,
    js_distance,
    population_stability_index,
)
from .window import MonitoringWindow

_PROBABILITIES = "probability"


def _known_counts(frame, features: list[str]) -> tuple[int, dict]:
    """Rows, and known (not null, not NaN) values per feature, in one pass."""
    from pyspark.sql import functions as F

    from ..engines.spark_eda import known_values

    row = known_values(frame, features).agg(
        F.count(F.lit(1)).alias("__rows"), *[F.count(F.col(f)).alias(f) for f in features]).first()
    return int(row["__rows"]), {f: int(row[f]) for f in features}


def _continuous_comparison(reference, current, feature: str, ref_known: int, cur_known: int,
                           bins: int) -> dict:
    """The reference's inner quantile cut points (ties merged), both medians and the KS test
    of one continuous feature, all exact, from one pass over both sides' distinct values."""
    from ..engines.spark_eda import known_values
    from ..engines.spark_ranks import _lerp, _numpy_positions, two_sample_ranks

    probabilities = np.linspace(0.0, 1.0, int(bins) + 1)[1:-1]
    below, above, gamma = _numpy_positions(ref_known, probabilities)
    ref_middle, cur_middle = ([(n - 1) // 2, n // 2] for n in (ref_known, cur_known))
    found = two_sample_ranks(known_values(reference, [feature]), known_values(current, [feature]),
                             feature, ref_known, cur_known,
                             [*below.tolist(), *above.tolist(), *ref_middle], cur_middle)
    ref, cur = found["reference"], found["current"]
    edges = _lerp(np.array([ref[k] for k in below]), np.array([ref[k] for k in above]), gamma)
    return {"edges": np.unique(edges), "reference": float(np.mean([ref[k] for k in ref_middle])),
            "current": float(np.mean([cur[k] for k in cur_middle])),
            "statistic": found["statistic"], "p_value": found["p_value"]}


def _means(frame, features: list[str]) -> dict:
    """The mean of each feature's known values."""
    from pyspark.sql import functions as F

    from ..engines.spark_eda import known_values

    row = known_values(frame, features).agg(*[F.avg(F.col(f).cast("double")).alias(f)
                                              for f in features]).first()
    return {f: float(row[f]) for f in features}


def feature_drift(reference, current, bins: int = 10, psi_watch: float = 0.1,
                  psi_alert: float = 0.25) -> FeatureDrift:
    """Compare the model inputs of the current purchases with the reference ones, on Spark.

    The same table as :func:`cardfraud.monitoring.drift.feature_drift`; every figure is exact.
    """
    from ..engines.spark_drift import count_per_bin

    check_monitoring_params(bins, psi_watch, psi_alert)
    known = [f for f in available_inputs(reference) if f in current.columns]
    ref_rows, ref_known = _known_counts(reference, known)
    cur_rows, cur_known = _known_counts(current, known)
    continuous = {f: _continuous_comparison(reference, current, f, ref_known[f], cur_known[f],
                                            bins) for f in known if f not in FLAG_FEATURES}
    edges = {f: continuous[f]["edges"] if f in continuous else None for f in known}
    ref_counts = count_per_bin(reference, edges)[0] if known else {}
    cur_counts = count_per_bin(current, edges)[0] if known else {}
    flags = [f for f in known if f in FLAG_FEATURES]
    ref_means, cur_means = _means(reference, flags), _means(current, flags)
    rows, binned = {}, {}
    for feature in known:
        flag, cuts = feature in FLAG_FEATURES, edges[feature]
        binned[feature] = BinnedComparison(["no (0)", "yes (1)"] if flag else _edge_labels(cuts),
                                           ref_counts[feature], cur_counts[feature])
        counts = (binned[feature].reference_counts, binned[feature].current_counts)
        psi = population_stability_index(*counts)
        if flag:
            statistic, p_value = chi_square_test(*counts)
            ref_value, cur_value, test = ref_means[feature], cur_means[feature], "chi-square"
        else:
            found = continuous[feature]
            statistic, p_value, test = found["statistic"], found["p_value"], "KS"
            ref_value, cur_value = found["reference"], found["current"]
        rows[feature] = {
            "kind": "flag (share of 1)" if flag else "continuous (median)",
            "reference": float(ref_value), "current": float(cur_value), "psi": psi,
            "js_distance": js_distance(*counts), "test": test, "statistic": statistic,
            "p_value": p_value, "status": drift_status(psi, psi_watch, psi_alert),
            "unknown_reference": (ref_rows - ref_known[feature]) / ref_rows if ref_rows else 0.0,
            "unknown_current": (cur_rows - cur_known[feature]) / cur_rows if cur_rows else 0.0}
    table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("feature")
    return FeatureDrift(table=table, binned=binned,
                        unknown=[f for f in FEATURES if f not in known])


def _side_summary(frame, features: list[str]) -> dict:
    """Per feature: rows, unknown values, min, max, mean and first value (numpy's NaN rules)."""
    from pyspark.sql import functions as F

    from ..engines.spark_eda import known_values

    frame = known_values(frame, features)
    aggregates = [F.count(F.lit(1)).alias("__rows")]
    for f in features:
        value = F.col(f).cast("double")
        aggregates += [F.count(value).alias(f"{f}__known"), F.min(value).alias(f"{f}__min"),
                       F.max(value).alias(f"{f}__max"), F.avg(value).alias(f"{f}__mean")]
    row = frame.agg(*aggregates).first()
    summary = {}
    for f in features:
        unknown = row["__rows"] - row[f"{f}__known"]
        summary[f] = {k: (np.nan if unknown or row[f"{f}__{k}"] is None else
                          float(row[f"{f}__{k}"])) for k in ("min", "max", "mean")}
    return summary


def _outside_share(reference_summary: dict, current, features: list[str]) -> dict:
    """Per continuous feature, the share of current values outside the reference's range."""
    from pyspark.sql import functions as F

    from ..engines.spark_eda import known_values

    row = known_values(current, features).agg(F.count(F.lit(1)).alias("__rows"), *[
        F.count(F.when((F.col(f) < reference_summary[f]["min"])
                       | (F.col(f) > reference_summary[f]["max"]), 1)).alias(f)
        for f in features]).first()
    return {f: row[f] / row["__rows"] for f in features}


def data_feed_problems(window: MonitoringWindow) -> list[str]:
    """Return signs of a broken feed, as :func:`cardfraud.monitoring.status.data_feed_problems`."""
    features = [f for f in FEATURES if f in window.reference.columns
                and f in window.current.columns]
    ref, cur = _side_summary(window.reference, features), _side_summary(window.current, features)
    ranged = [f for f in features if f not in FLAG_FEATURES
              and not (cur[f]["min"] == cur[f]["max"] and ref[f]["min"] < ref[f]["max"])
              and not any(np.isnan(ref[f][k]) for k in ("min", "max"))]
    outside = _outside_share(ref, window.current, ranged) if ranged else {}
    problems = []
    for feature in features:
        r, c = ref[feature], cur[feature]
        if feature in FLAG_FEATURES:
            if c["min"] == c["max"] and 0.01 < r["mean"] < 0.99:
                problems.append(fill(_("{feature} is {value:g} on every current purchase "
                                       "(reference share of 1: {share:.1%})"),
                                     feature=key_words(feature), value=c["min"], share=r["mean"]))
        elif c["min"] == c["max"] and r["min"] < r["max"]:
            problems.append(fill(_("{feature} is {value:g} on every current purchase"),
                                 feature=key_words(feature), value=c["min"]))
        elif outside.get(feature, 0.0) > 0.5:
            problems.append(fill(_("{outside:.0%} of current {feature} values are outside "
                                   "the reference range {low:.3g}–{high:.3g}"),
                                 outside=outside[feature], feature=key_words(feature),
                                 low=r["min"], high=r["max"]))
    return problems
