"""Bootstrap 95 % intervals of the test PR-AUC and of the recall at the chosen threshold.

Resampling unit: **cards** when the extract has card ids. A compromised card's frauds come in
bursts (several purchases within hours or days), so the test purchases are not independent:
drawing purchases one by one would treat a burst of ten frauds as ten independent pieces of
evidence and give too narrow an interval. Each resample draws the test period's cards with
replacement and keeps all of a drawn card's purchases (a cluster bootstrap). Without card ids,
purchases are drawn one by one (i.i.d.). Days are not used as the unit: a 14-day test period
gives too few clusters for a percentile interval.

Vectorised: the scores are sorted once; a resample only reweights clusters, and every resample's
PR-AUC (average precision, ties handled as scikit-learn does) comes from cumulative sums over
the score groups that hold a fraud, for blocks of resamples at a time. The intervals are the
2.5 and 97.5 percentiles of the resamples; every candidate is resampled with the same draws
(paired), seeded by ``common.seed``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from ..data.schema import CARD_ID
from ..report.locale_format import fill, format_percent, format_value
from ..report.table_language import model_label
from ..report.translate import _

BLOCK_CELLS = 4_000_000  # weights drawn per block (resamples x clusters), bounds the memory


@dataclass
class ResamplingLayout:
    """The test purchases arranged for reweighting: clusters, score segments, frauds."""

    purchases: sparse.csr_matrix  # segments x clusters: purchases per score segment
    frauds: sparse.csr_matrix  # segments x clusters: frauds per score segment
    frauds_flagged: np.ndarray  # per cluster: frauds at or above the threshold
    frauds_total: np.ndarray  # per cluster: frauds


def resampling_unit(frame: pd.DataFrame) -> str:
    """Return ``cards`` when the extract has card ids, else ``purchases``."""
    return "cards" if CARD_ID in frame.columns else "purchases"


def cluster_codes(frame: pd.DataFrame, rows) -> np.ndarray:
    """Return each test purchase's cluster number: its card, or itself without card ids (a
    purchase whose card_id is empty is a card of its own)."""
    if resampling_unit(frame) == "cards":
        codes = pd.factorize(frame[CARD_ID].to_numpy()[rows])[0]
        empty = codes < 0
        codes[empty] = codes.max(initial=-1) + 1 + np.arange(int(empty.sum()))
        return codes
    return np.arange(len(rows))


def _score_segments(fraud: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Return, per purchase, the number of the first fraud-holding score group at or below its
    score (-1 below the last fraud: such purchases never change precision or recall)."""
    order = np.argsort(-scores, kind="stable")
    sorted_scores = scores[order]
    group = np.r_[0, np.cumsum(sorted_scores[1:] != sorted_scores[:-1])]
    has_fraud = np.zeros(group[-1] + 1 if len(group) else 0, dtype=bool)
    has_fraud[group[fraud[order] == 1]] = True
    fraud_groups = np.flatnonzero(has_fraud)
    segment_of_group = np.searchsorted(fraud_groups, np.arange(len(has_fraud)))
    segment_of_group[segment_of_group >= len(fraud_groups)] = -1
    segments = np.empty(len(scores), dtype=np.int64)
    segments[order] = segment_of_group[group]
    return segments


def resampling_layout(fraud, scores, clusters, threshold: float, sizes=None) -> ResamplingLayout:
    """Arrange purchases (0/1 ``fraud``, ``scores``, ``clusters`` numbers) for reweighting.

    ``sizes``: purchases each row stands for (default 1 each).
    """
    fraud, scores = np.asarray(fraud).astype(int), np.asarray(scores, dtype=float)
    clusters = np.asarray(clusters)
    sizes = np.ones(len(fraud)) if sizes is None else np.asarray(sizes, dtype=float)
    segments = _score_segments(fraud, scores)
    kept = segments >= 0
    shape = (int(segments.max()) + 1 if kept.any() else 0, int(clusters.max()) + 1)

    def counts(weights):
        return sparse.csr_matrix((weights[kept].astype(np.float32),
                                  (segments[kept], clusters[kept])), shape=shape)

    flagged = (fraud == 1) & (scores >= threshold)
    return ResamplingLayout(
        purchases=counts(sizes), frauds=counts(fraud * sizes),
        frauds_flagged=np.bincount(clusters, weights=flagged * sizes, minlength=shape[1]),
        frauds_total=np.bincount(clusters, weights=fraud * sizes, minlength=shape[1]))


def reweighted_metrics(layout: ResamplingLayout, weights: np.ndarray) -> dict:
    """Return PR-AUC and recall for each column of ``weights`` (clusters x resamples).

    With every weight 1 the PR-AUC equals scikit-learn's ``average_precision_score``.
    """
    weights = np.ascontiguousarray(weights, dtype=np.float32)
    frauds = np.asarray(layout.frauds @ weights)
    caught = np.cumsum(frauds, axis=0)
    alerted = np.cumsum(np.asarray(layout.purchases @ weights), axis=0)
    precision = np.divide(caught, alerted, out=np.zeros_like(caught), where=alerted > 0)
    total = layout.frauds_total @ weights
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"average_precision": (frauds * precision).sum(axis=0, dtype=float) / total,
                "recall": (layout.frauds_flagged @ weights) / total}


def card_weights(clusters: int, resamples: int, rng: np.random.Generator):
    """Yield blocks of bootstrap weights (clusters x block): how often each cluster is drawn."""
    block = max(1, min(resamples, BLOCK_CELLS // max(clusters, 1)))
    for first in range(0, resamples, block):
        size = min(block, resamples - first)
        draws = rng.integers(0, clusters, size=(size, clusters), dtype=np.int32)
        draws += np.arange(size, dtype=np.int32)[:, None] * np.int32(clusters)
        counts = np.bincount(draws.ravel(), minlength=size * clusters).reshape(size, clusters)
        yield np.ascontiguousarray(counts.T, dtype=np.float32)


def purchase_cells(fraud, scores, threshold: float) -> tuple:
    """Group purchases that a one-by-one bootstrap cannot tell apart (same score group that
    matters, label and alert): the cells' representative rows and how many purchases each holds."""
    fraud, scores = np.asarray(fraud).astype(int), np.asarray(scores, dtype=float)
    keys = pd.DataFrame({"segment": _score_segments(fraud, scores), "fraud": fraud,
                         "alert": scores >= threshold})
    codes = keys.groupby(list(keys.columns), sort=False).ngroup().to_numpy()
    sizes = np.bincount(codes)
    representative = np.zeros(len(sizes), dtype=np.int64)
    representative[codes[::-1]] = np.arange(len(codes))[::-1]
    return representative, sizes


def _percentiles(draws: dict, estimate: dict, confidence: float) -> dict:
    """Return estimate, low and high of each measure from its resampled values."""
    tail = 100 * (1 - confidence) / 2
    result = {}
    for name, values in draws.items():
        low, high = np.nanpercentile(np.concatenate(values), [tail, 100 - tail])
        result[name] = {"estimate": float(estimate[name][0]), "low": float(low),
                        "high": float(high)}
    return result


def bootstrap_candidates(fraud, scores: dict, thresholds: dict, clusters=None,
                         resamples: int = 1000, seed: int = 42,
                         confidence: float = 0.95) -> dict:
    """Return, per candidate, the estimate and percentile interval of PR-AUC and recall.

    Args:
        fraud: the test purchases' labels; scores: each candidate's fraud probabilities.
        thresholds: each candidate's alert threshold (recall = frauds at or above / frauds).
        clusters: each purchase's card number (all a card's purchases are drawn together,
            every candidate with the same draws); None draws purchases one by one (Poisson
            weights on groups of purchases that cannot be told apart).
        resamples: bootstrap resamples; seed: the random seed.
    """
    results = {}
    if clusters is not None:
        layouts = {name: resampling_layout(fraud, score, clusters, thresholds[name])
                   for name, score in scores.items()}
        n_clusters = int(np.max(clusters)) + 1
        draws = {name: {"average_precision": [], "recall": []} for name in scores}
        for weights in card_weights(n_clusters, int(resamples), np.random.default_rng(seed)):
            for name, layout in layouts.items():
                for measure, values in reweighted_metrics(layout, weights).items():
                    draws[name][measure].append(values)
        for name, layout in layouts.items():
            estimate = reweighted_metrics(layout, np.ones((n_clusters, 1)))
            results[name] = _percentiles(draws[name], estimate, confidence)
        return results
    rng = np.random.default_rng(seed)
    for name, score in scores.items():
        rows, sizes = purchase_cells(fraud, score, thresholds[name])
        layout = resampling_layout(np.asarray(fraud)[rows], np.asarray(score)[rows],
                                   np.arange(len(rows)), thresholds[name])
        estimate = reweighted_metrics(layout, sizes[:, None])
        block = max(1, min(int(resamples), BLOCK_CELLS // len(sizes)))
        draws = {"average_precision": [], "recall": []}
        for first in range(0, int(resamples), block):
            weights = rng.poisson(sizes, size=(min(block, int(resamples) - first), len(sizes)))
            for measure, values in reweighted_metrics(layout, weights.T).items():
                draws[measure].append(values)
        results[name] = _percentiles(draws, estimate, confidence)
    return results


def bootstrap_intervals(fraud, scores, clusters, threshold: float, resamples: int = 1000,
                        seed: int = 42, confidence: float = 0.95) -> dict:
    """Return estimate and percentile interval of one model's PR-AUC and recall
    (:func:`bootstrap_candidates` for a single model)."""
    return bootstrap_candidates(fraud, {"model": scores}, {"model": threshold}, clusters,
                                resamples, seed, confidence)["model"]


def interval_text(interval: dict, name: str = "PR-AUC", digits: int = 3,
                  percent: bool = False) -> str:
    """Return e.g. ``PR-AUC 0.912 (95 % CI 0.905-0.919)``."""
    def shown(value):
        return format_percent(value) if percent else format_value(value, f".{digits}f")
    text = fill(_("{name} {estimate} (95 % CI {low}-{high})"), name=name,
                estimate=shown(interval["estimate"]), low=shown(interval["low"]),
                high=shown(interval["high"]))
    return text.strip()


def test_period_intervals(transactions: pd.DataFrame, evaluation, resamples: int = 1000,
                          seed: int = 42) -> dict:
    """Return the bootstrap intervals of every candidate's test PR-AUC and recall at its
    threshold, with how they were drawn (for the page and run.json); empty when turned off."""
    if not resamples:
        return {}
    rows = evaluation.split.test_rows
    unit = resampling_unit(transactions)
    clusters = cluster_codes(transactions, rows) if unit == "cards" else None
    thresholds = {name: float(evaluation.thresholds.loc[name, "threshold"])
                  for name in evaluation.test.scores}
    intervals = bootstrap_candidates(evaluation.test.fraud, evaluation.test.scores, thresholds,
                                     clusters, int(resamples), int(seed))
    return {"unit": unit, "resamples": int(resamples), "seed": int(seed), "confidence": 0.95,
            "clusters": int(clusters.max()) + 1 if clusters is not None else len(rows),
            "chosen_model": evaluation.fitted.best, "candidates": intervals}


def intervals_table(bootstrap: dict) -> pd.DataFrame:
    """Return one row per candidate: test PR-AUC and recall with their 95 % intervals."""
    rows = {name: {"PR-AUC": interval_text(found["average_precision"], "").strip(),
                   "recall at threshold": interval_text(found["recall"], "",
                                                        percent=True).strip()}
            for name, found in bootstrap.get("candidates", {}).items()}
    return pd.DataFrame(rows).T.rename_axis("candidate")


def intervals_sentence(bootstrap: dict) -> str:
    """Say the chosen model's intervals and how they were drawn, in one or two sentences."""
    if not bootstrap:
        return _("No bootstrap intervals (modeling.bootstrap_resamples = 0).")
    chosen = bootstrap["candidates"][bootstrap["chosen_model"]]
    template = (_("{model}: {ap}, {recall}; {resamples:,} bootstrap resamples of the test "
                  "period's {clusters:,} cards (all of a drawn card's purchases together: a "
                  "card's frauds come in bursts).") if bootstrap["unit"] == "cards" else
                _("{model}: {ap}, {recall}; {resamples:,} bootstrap resamples of the test "
                  "period's {clusters:,} purchases one by one (no card ids)."))
    return fill(template, model=model_label(bootstrap["chosen_model"]),
                ap=interval_text(chosen["average_precision"]),
                recall=interval_text(chosen["recall"], _("recall at the threshold"), percent=True),
                resamples=bootstrap["resamples"], clusters=bootstrap["clusters"])
