"""The champion under monitoring in a Spark run: its score drift and performance, on Spark.

:func:`champion_score_drift` is :func:`cardfraud.monitoring.champion.champion_score_drift` with
the purchases scored on the executors by ``mlflow.pyfunc.spark_udf``
(:func:`cardfraud.engines.spark_scoring.with_scores`). The score bins are the reference
scores' exact quantiles, the PR-AUC comes from the purchases counted per distinct score
(:func:`cardfraud.engines.spark_ranks.score_metrics`), recall, precision and the share held
from the counts per decision: the pandas engine's numbers for the same purchases scored. Every
current purchase is scored; the reference is a seeded Spark sample of ``sample_rows`` when it
is larger (another draw than pandas', so the score PSI then differs by sampling noise).
"""

from __future__ import annotations

import numpy as np

from ..data.schema import TARGET
from ..report.locale_format import fill
from ..report.translate import _
from .champion import ChampionCheck, champion_inputs, scored_check
from .drift import BinnedComparison, _edge_labels, population_stability_index
from .window import MonitoringWindow


def score_on_executors(frame, scorer, tracking_uri: str | None):
    """Return ``frame`` with the scorer's ``probability`` and ``decision``, scored by
    ``spark_udf`` on the executors (cached: the scores are counted several times)."""
    from ..engines.spark_scoring import with_scores
    from ..serving.scorer import configure_quiet_tracking

    return with_scores(frame, scorer, scorer.uri, configure_quiet_tracking(tracking_uri)).cache()


def decision_counts(scored) -> dict:
    """Purchases, frauds, held for review and frauds held, counted in one pass."""
    from pyspark.sql import functions as F

    fraud, held = F.col(TARGET).cast("long") == 1, F.col("decision") == 1
    row = scored.agg(F.count(F.lit(1)).alias("rows"), F.count(F.when(fraud, 1)).alias("frauds"),
                     F.count(F.when(held, 1)).alias("held"),
                     F.count(F.when(fraud & held, 1)).alias("caught")).first()
    return {k: int(row[k]) for k in ("rows", "frauds", "held", "caught")}


def performance_now(scored) -> dict | None:
    """PR-AUC, recall, precision and share held of labelled scored purchases (None: one class),
    as :func:`cardfraud.monitoring.champion.performance_now`."""
    from ..engines.spark_ranks import score_metrics

    counts = decision_counts(scored)
    if counts["frauds"] in (0, counts["rows"]):
        return None
    precision = counts["caught"] / counts["held"] if counts["held"] else 0.0
    return {"average_precision": score_metrics(scored)["average_precision"],
            "recall": counts["caught"] / counts["frauds"], "precision": float(precision),
            "held_share": counts["held"] / counts["rows"], "frauds": counts["frauds"]}


def _bounded_reference(reference, rows: int, sample_rows: int | None, seed: int):
    """The reference purchases scored: all, or a seeded sample of ``sample_rows``."""
    from ..engines.spark_sampling import _smallest_draws

    if sample_rows and rows > sample_rows:
        return _smallest_draws(reference, int(sample_rows), sample_rows / rows, seed)
    return reference


def score_bins(reference_scored, current_scored, rows: int, bins: int) -> BinnedComparison:
    """Counts of reference and current scores per quantile bin of the reference scores."""
    from ..engines.spark_drift import count_per_bin
    from ..engines.spark_ranks import exact_quantiles

    cuts = np.unique(exact_quantiles(reference_scored, "probability",
                                     np.linspace(0.0, 1.0, int(bins) + 1)[1:-1], rows))
    reference = count_per_bin(reference_scored, {"probability": cuts})[0]["probability"]
    current = count_per_bin(current_scored, {"probability": cuts})[0]["probability"]
    return BinnedComparison(_edge_labels(cuts), reference, current)


def champion_score_drift(scorer, window: MonitoringWindow, bins: int = 10,
                         psi_watch: float = 0.1, psi_alert: float = 0.25,
                         sample_rows: int | None = 50_000, seed: int = 42,
                         at_training: dict | None = None,
                         tracking_uri: str | None = None) -> ChampionCheck:
    """Score reference and current purchases on the executors; compare scores and performance.

    The arguments of :func:`cardfraud.monitoring.champion.champion_score_drift`, plus the
    store ``tracking_uri`` the executors load the champion from.
    """
    reference = window.reference
    _inputs, skipped = champion_inputs(scorer, window)
    if skipped is not None:
        return skipped
    reference = _bounded_reference(reference, window.description["reference_rows"],
                                   sample_rows, seed)
    reference_scored = score_on_executors(reference, scorer, tracking_uri)
    current_scored = score_on_executors(window.current, scorer, tracking_uri)
    try:
        reference_rows = reference_scored.count()
        binned = score_bins(reference_scored, current_scored, reference_rows, bins)
        now = performance_now(current_scored) if window.description["current_has_labels"] \
            else None
    finally:
        reference_scored.unpersist()
        current_scored.unpersist()
    psi = population_stability_index(binned.reference_counts, binned.current_counts)
    threshold = (fill(_(" (threshold {threshold:.4f})"), threshold=scorer.threshold)
                 if scorer.threshold is not None else "")
    message = fill(_("Champion version {version}{threshold} scored {current:,} current and "
                     "{reference:,} reference purchases."), version=scorer.version,
                   threshold=threshold, current=window.description["current_rows"],
                   reference=reference_rows)
    if reference_rows < window.description["reference_rows"]:
        message += _(" The reference purchases scored are a seeded sample drawn on Spark: "
                     "another draw than a pandas run's, so the score PSI differs from it by "
                     "sampling noise.")
    return scored_check(message, scorer, window, psi, (psi_watch, psi_alert), binned, now,
                        at_training)
