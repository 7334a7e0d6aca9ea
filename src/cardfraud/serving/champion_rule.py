"""The champion/challenger rule: does the new version replace the champion?

A new version becomes champion only when it beats the champion by the selection metric on the
same held-out test purchases (both scored now, by their registered scorers), when there is no
champion yet, or when promotion is forced; a version that catches no fraud at its threshold is
never promoted. The decision is applied at publish by :mod:`.promotion`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sklearn import metrics

from ..data.schema import TARGET
from ..modeling.tracking import store_lock, tracking_client
from ..report.locale_format import fill
from ..report.table_language import key_words
from ..report.translate import _
from .registration import RegisteredVersion
from .registry import CHALLENGER, CHAMPION, current_champion, version_aliases
from .scorer import LoadedScorer, load_candidate_scorer, load_registered_scorer

_PROBABILITY_METRICS = {"average_precision": metrics.average_precision_score,
                        "roc_auc": metrics.roc_auc_score}


_DECISION_METRICS = {"recall": metrics.recall_score, "precision": metrics.precision_score,
                     "f1": metrics.f1_score, "balanced_accuracy": metrics.balanced_accuracy_score,
                     "accuracy": metrics.accuracy_score}


@dataclass
class PromotionDecision:
    """Whether the candidate becomes champion, and why in one sentence."""

    promote: bool
    reason: str
    candidate_score: float
    champion_score: float | None
    champion_version: int | None


def selection_score(metric: str, fraud, probability, decision) -> float:
    """Return the selection metric (sklearn name) of scores against the fraud labels."""
    if metric in _PROBABILITY_METRICS:
        return float(_PROBABILITY_METRICS[metric](fraud, probability))
    if metric in _DECISION_METRICS:
        return float(_DECISION_METRICS[metric](fraud, decision))
    known = ", ".join([*_PROBABILITY_METRICS, *_DECISION_METRICS])
    raise ValueError(f"unknown selection metric {metric!r} (known: {known})")


def score_on_test(scorer: LoadedScorer, test: pd.DataFrame, metric: str) -> float:
    """Return a scorer's selection metric on the test purchases."""
    scored = scorer.score(test)
    return selection_score(metric, test[TARGET], scored["probability"], scored["decision"])


def compare_with_champion(registered: RegisteredVersion, test: pd.DataFrame, metric: str,
                          force: bool = False, min_improvement: float = 0.0) -> PromotionDecision:
    """Score the candidate and the current champion on the same test rows; decide promotion.

    A candidate that holds none of the test frauds for review at its threshold is never
    promoted, not even with ``force``.
    """
    scored = load_candidate_scorer(registered).score(test)
    candidate = selection_score(metric, test[TARGET], scored["probability"], scored["decision"])
    champion_version, champion_score = score_current_champion(
        registered, lambda champion: score_on_test(champion, test, metric), force)
    frauds = int(test[TARGET].sum())
    caught = int(((test[TARGET].to_numpy() == 1) & (scored["decision"].to_numpy() == 1)).sum())
    return decide_against_champion(registered, candidate, champion_version, champion_score,
                                   metric, (frauds, caught, len(test)), force, min_improvement)


def score_current_champion(registered: RegisteredVersion, score_with, force: bool = False
                           ) -> tuple[str | None, float | None]:
    """Return the current champion's version and its selection score on the test purchases.

    ``score_with(champion scorer) -> float`` scores it (in pandas or on Spark's executors).
    The score is None when there is no champion, when the candidate is it, or when ``force``
    replaces a champion that cannot score these purchases.

    Raises:
        RuntimeError: the champion cannot score the test purchases and ``force`` is off.
    """
    champion_version = current_champion(registered.model_name, registered.tracking_uri)
    if champion_version in (None, registered.version):
        return champion_version, None
    try:
        champion = load_registered_scorer(f"models:/{registered.model_name}/{champion_version}",
                                          registered.tracking_uri)
        return champion_version, score_with(champion)
    except (LookupError, TypeError, KeyError) as exc:
        if not force:
            raise RuntimeError(f"champion version {champion_version} cannot score the test "
                               f"purchases ({exc}); set force_promotion to replace it") from None
        return champion_version, None


def decide_against_champion(registered: RegisteredVersion, candidate: float,
                            champion_version: str | None, champion_score: float | None,
                            metric: str, caught: tuple[int, int, int], force: bool = False,
                            min_improvement: float = 0.0) -> PromotionDecision:
    """Decide promotion from both scores; ``caught`` is (test frauds, frauds the candidate
    holds for review, test purchases): a candidate that holds none is refused."""
    frauds, held, rows = caught
    decision = decide_promotion(registered.version, candidate, champion_version, champion_score,
                                metric, rows, force, min_improvement)
    if decision.promote:
        decision = refuse_unless_fraud_caught(decision, registered, frauds, held, rows)
    if champion_version not in (None, registered.version) and registered.version is not None:
        decision.reason += _other_data_note(registered, champion_version)
    return decision


def refuse_unless_fraud_caught(decision: PromotionDecision, registered: RegisteredVersion,
                               frauds: int, caught: int, rows: int) -> PromotionDecision:
    """Return the decision, or a refusal when none of the ``frauds`` test frauds is caught
    (``caught`` of them held for review among ``rows`` test purchases)."""
    if not frauds or caught:
        return decision
    stays = (fill(_("champion v{version} stays"), version=decision.champion_version)
             if decision.champion_version is not None else _("there is still no champion"))
    reason = fill(_("{label} catches no fraud at its threshold {threshold:.4f} (recall 0: none of "
                    "the {frauds:,} frauds among the {rows:,} test purchases is held for review), "
                    "and a model that catches no fraud is never promoted, even with "
                    "force_promotion; {stays}. Check the modeling step's cost threshold "
                    "(modeling.cost_review against the purchase amounts)"),
                  label=registered.label, threshold=registered.threshold, frauds=frauds,
                  rows=rows, stays=stays)
    return PromotionDecision(False, reason, decision.candidate_score, decision.champion_score,
                             decision.champion_version)


def _other_data_note(registered: RegisteredVersion, champion_version: int) -> str:
    """Warn when the champion was trained on other data: its test score may be optimistic."""
    client = tracking_client(registered.tracking_uri)
    champion_data, candidate_data = (
        client.get_model_version(registered.model_name, str(v)).tags.get("data_fingerprint")
        for v in (champion_version, registered.version))
    if champion_data == candidate_data:
        return ""
    return fill(_(" (the champion was trained on other data, {data}: some of these test "
                  "purchases may have been in its training set)"), data=str(champion_data)[:19])


def decide_promotion(candidate_version: int | None, candidate_score: float,
                     champion_version: int | None, champion_score: float | None, metric: str,
                     test_rows: int, force: bool = False, min_improvement: float = 0.0,
                     ) -> PromotionDecision:
    """Return whether the candidate becomes champion: none yet, better by the metric, or forced.

    ``candidate_version`` is None for a modeling run that is not registered (opened by hand).
    """
    shown = "n/a" if champion_score is None else fill("{score:.4f}", score=champion_score)
    label = _("the unregistered candidate") if candidate_version is None else f"v{candidate_version}"
    both = fill(_("candidate {label} {metric} {score:.4f} vs champion v{champion} {shown} on the "
                  "same {rows:,} test purchases"), label=label, metric=key_words(metric),
                score=candidate_score, champion=champion_version, shown=shown, rows=test_rows)
    if champion_version is None:
        reason = fill(_("no champion yet: {label} ({metric} {score:.4f} on {rows:,} test "
                        "purchases) becomes champion"), label=label, metric=key_words(metric),
                      score=candidate_score, rows=test_rows)
        return PromotionDecision(True, reason, candidate_score, None, None)
    if champion_version == candidate_version:
        reason = fill(_("v{version} is already the champion ({metric} {score:.4f}); nothing "
                        "changes"), version=candidate_version, metric=key_words(metric), score=candidate_score)
        return PromotionDecision(False, reason, candidate_score, candidate_score, champion_version)
    if force:
        return PromotionDecision(True, fill(_("promotion forced (force_promotion): {both}"),
                                            both=both),
                                 candidate_score, champion_score, champion_version)
    if champion_score is not None and candidate_score > champion_score + min_improvement:
        return PromotionDecision(True, fill(_("the candidate is better, it becomes champion: "
                                              "{both}"), both=both),
                                 candidate_score, champion_score, champion_version)
    margin = fill(_(" by more than {margin:g}"), margin=min_improvement) if min_improvement else ""
    reason = fill(_("champion v{version} stays, the candidate does not beat it{margin}: {both}"),
                  version=champion_version, margin=margin, both=both)
    return PromotionDecision(False, reason, candidate_score, champion_score, champion_version)


def apply_aliases(registered: RegisteredVersion, decision: PromotionDecision) -> list[str]:
    """Point ``challenger`` at the new version; return the aliases it has once the run publishes.

    The ``champion`` alias is not moved here: run_all moves it when the whole run succeeds
    (:func:`cardfraud.serving.promotion.promote_pending_champion`). Nothing is changed when
    the step registers nothing (``register = False``).
    """
    if registered.version is None:
        return []
    if registered.registers:
        with store_lock(registered.tracking_uri):
            tracking_client(registered.tracking_uri).set_registered_model_alias(
                registered.model_name, CHALLENGER, str(registered.version))
    found = version_aliases(registered.model_name, registered.tracking_uri)
    aliases = set(found.get(registered.version, []))
    if decision.promote and registered.registers:
        aliases.add(CHAMPION)
    return sorted(aliases)


def champion_after_run(registered: RegisteredVersion, decision: PromotionDecision) -> int | None:
    """Return the version that is champion once this run publishes (the candidate if promoted)."""
    if decision.promote and registered.registers:
        return registered.version
    return current_champion(registered.model_name, registered.tracking_uri)
