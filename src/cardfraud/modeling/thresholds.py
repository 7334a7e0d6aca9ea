"""Thresholds: the expected cost of each threshold and the ones the bank can choose from.

The cost curve prices missed frauds and reviewed alerts; each candidate's least-cost threshold
and the one for a target recall are chosen on its out-of-fold validation scores, never on the
test purchases. A least-cost threshold that sends no purchase to review is warned about.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.schema import TARGET
from ..report.locale_format import fill
from ..report.table_language import model_label
from ..report.translate import _
from .candidates import CrossValidation
from .feature_sets import feature_set_of

FLAG_NONE = float(np.nextafter(1.0, 2.0))  # a threshold above every probability: no alerts


def expected_cost_curve(fraud, scores, cost_missed_fraud: float, cost_review: float,
                        amounts=None) -> pd.DataFrame:
    """Return, for every candidate threshold, alerts, frauds caught/missed and expected cost.

    Thresholds are the distinct scores (alert when score >= threshold) plus ``FLAG_NONE``.
    A missed fraud costs its amount when ``amounts`` is given, else ``cost_missed_fraud``.
    """
    fraud = np.asarray(fraud).astype(int)
    scores = np.asarray(scores, dtype=float)
    loss = np.where(fraud == 1, np.asarray(amounts, float) if amounts is not None
                    else float(cost_missed_fraud), 0.0)
    order = np.argsort(-scores, kind="stable")
    scores, fraud, loss = scores[order], fraud[order], loss[order]
    last_of_tie = np.r_[scores[1:] != scores[:-1], True]  # all equal scores alert together
    alerts = np.r_[0, np.arange(1, len(scores) + 1)[last_of_tie]]
    caught = np.r_[0, np.cumsum(fraud)[last_of_tie]]
    saved = np.r_[0.0, np.cumsum(loss)[last_of_tie]]
    curve = pd.DataFrame({"threshold": np.r_[FLAG_NONE, scores[last_of_tie]],
                          "alerts": alerts, "frauds_caught": caught,
                          "frauds_missed": fraud.sum() - caught})
    curve["missed_fraud_cost"] = loss.sum() - saved
    curve["review_cost"] = alerts * float(cost_review)
    curve["expected_cost"] = curve["missed_fraud_cost"] + curve["review_cost"]
    curve["recall"] = caught / max(int(fraud.sum()), 1)
    curve["precision"] = np.where(alerts > 0, caught / np.maximum(alerts, 1), 0.0)
    return curve


def cost_minimising_threshold(curve: pd.DataFrame) -> float:
    """Return the threshold of least expected cost (the one with fewer alerts on a tie)."""
    return float(curve["threshold"].iloc[int(np.argmin(curve["expected_cost"].to_numpy()))])


def threshold_for_recall(curve: pd.DataFrame, target_recall: float) -> float:
    """Return the highest threshold whose validation recall reaches ``target_recall``."""
    reached = curve.index[curve["recall"] >= target_recall - 1e-12]
    return float(curve["threshold"].iloc[reached[0]])


def purchase_amounts(frame: pd.DataFrame, rows) -> np.ndarray | None:
    """Return the purchase amounts of ``rows`` when the extract has them, else None."""
    return frame["amount"].to_numpy(dtype=float)[rows] if "amount" in frame else None


def choose_thresholds(frame: pd.DataFrame, cv: CrossValidation, cost_missed_fraud: float,
                      cost_review: float, target_recall: float) -> tuple[pd.DataFrame, dict]:
    """Choose each candidate's thresholds on its out-of-fold validation scores.

    Returns a table (one row per candidate) and each candidate's cost curve.
    """
    rows, curves = [], {}
    for candidate, validation in cv.validation.items():
        curve = expected_cost_curve(validation[TARGET], validation["score"], cost_missed_fraud,
                                    cost_review, purchase_amounts(frame, validation["row"].to_numpy()))
        best = int(np.argmin(curve["expected_cost"].to_numpy()))
        rows.append({"candidate": candidate, "feature_set": feature_set_of(candidate),
                     "threshold": cost_minimising_threshold(curve),
                     "threshold_target_recall": threshold_for_recall(curve, target_recall),
                     "validation_rows": len(validation),
                     "validation_alerts": int(curve["alerts"].iloc[best]),
                     "validation_recall": float(curve["recall"].iloc[best]),
                     "validation_precision": float(curve["precision"].iloc[best]),
                     "validation_cost_per_1000": round(1000 * float(
                         curve["expected_cost"].iloc[best]) / len(validation))})
        curves[candidate] = curve
    return pd.DataFrame(rows).set_index("candidate"), curves


def threshold_warning(thresholds: pd.DataFrame, candidate: str, frame: pd.DataFrame,
                      cost_missed_fraud: float, cost_review: float, currency: str,
                      median_fraud_amount=None) -> str | None:
    """Return a warning when the least-cost threshold reviews no purchase or every one, else None.

    Either means the costs cannot pick a useful threshold: typically a review cost in another
    currency or scale than the amounts (amounts in USD against ``cost_review`` in COP).
    ``median_fraud_amount``: a callable returning the frauds' median amount (a Spark run
    computes it on the executors); None: from ``frame``.
    """
    row = thresholds.loc[candidate]
    alerts, rows = int(row["validation_alerts"]), int(row["validation_rows"])
    if 0 < alerts < rows:
        return None
    if "amount" in frame.columns:
        median = (median_fraud_amount() if median_fraud_amount is not None else
                  frame.loc[frame[TARGET] == 1, "amount"].median())
        missed = f"a missed fraud costs its amount (median fraud amount {median:,.2f})"
    else:
        missed = f"a missed fraud costs {cost_missed_fraud:,.0f} {currency}"
    review = f"a review costs {cost_review:,.0f} {currency}"
    if alerts == 0:
        outcome = ("sends no purchase to review: no alert pays for itself, so the model catches "
                   "no fraud")
    else:
        outcome = "sends every purchase to review: the scores are not used at all"
    return (f"Warning: the least expected-cost threshold of {candidate} "
            f"({float(row['threshold']):.4f}) {outcome}, because {review} and {missed}. Check "
            f"that modeling.cost_review (and modeling.currency) are in the currency and scale of "
            f"the amounts.")


def threshold_check(thresholds: pd.DataFrame, candidate: str, frame: pd.DataFrame,
                    cost_missed_fraud: float, cost_review: float, currency: str,
                    median_fraud_amount=None) -> str:
    """Return the threshold warning, or how many validation purchases the threshold reviews."""
    warning = threshold_warning(thresholds, candidate, frame, cost_missed_fraud, cost_review,
                                currency, median_fraud_amount)
    if warning:
        return warning
    row = thresholds.loc[candidate]
    alerts, rows = int(row["validation_alerts"]), int(row["validation_rows"])
    return fill(_("The least expected-cost threshold of {candidate} ({threshold:.4f}) sends "
                  "{alerts:,} of the {rows:,} validation purchases ({share:.1%}) to review."),
                candidate=model_label(candidate), threshold=float(row["threshold"]), alerts=alerts, rows=rows,
                share=alerts / rows)
