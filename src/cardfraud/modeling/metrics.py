"""Metrics the fraud team reads, alert-budget precision/recall, and the alert threshold.

The threshold is chosen on validation scores (out-of-fold scores of cross-validation, never
the test set) to minimise the expected cost: a missed fraud costs its amount when amounts are
known (else ``cost_missed_fraud``) and every alert costs ``cost_review``. Transactions whose
fraud probability is at or above the threshold are sent to review.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from imblearn.over_sampling import SMOTE
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    average_precision_score,
    roc_auc_score,
)
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier

from ..data.schema import TARGET, available_inputs, model_features
from ..report.locale_format import fill
from ..report.table_language import model_label
from ..report.translate import _
from .candidates import CrossValidation, FittedModels, one_openmp_thread
from .card_precision import card_precision_of_rows, cards_reviewed_per_day, has_cards_and_days
from .feature_sets import feature_set_of
from .holdout import Split
from .thresholds import purchase_amounts


@dataclass
class TestEvaluation:
    """Test-set results: one comparison row per candidate and each candidate's scores."""

    comparison: pd.DataFrame
    scores: dict
    fraud: np.ndarray
    days: int | None
    cards_reviewed_per_day: int | None = None  # k of card precision@k (None: no cards/days)


def classification_metrics(fraud, scores, threshold: float) -> dict:
    """Return accuracy, precision, recall, F1, ROC-AUC, PR-AUC and tn/fp/fn/tp at ``threshold``.

    Names follow scikit-learn (``average_precision`` is the PR-AUC).
    """
    fraud, scores = np.asarray(fraud), np.asarray(scores, dtype=float)
    is_fraud, flagged = fraud == 1, scores >= threshold
    tp = int(np.count_nonzero(is_fraud & flagged))
    fp = int(np.count_nonzero(flagged)) - tp
    fn = int(np.count_nonzero(is_fraud)) - tp
    tn = len(fraud) - tp - fp - fn
    return {**threshold_measures(tp, fp, fn, tn),
            "roc_auc": float(roc_auc_score(fraud, scores)),
            "average_precision": float(average_precision_score(fraud, scores))}


def threshold_measures(tp: int, fp: int, fn: int, tn: int) -> dict:
    """Return accuracy, precision, recall, F1 and the four counts at a threshold."""
    return {"accuracy": _share(tp + tn, tp + fp + fn + tn), "precision": _share(tp, tp + fp),
            "recall": _share(tp, tp + fn), "f1": _share(2 * tp, 2 * tp + fp + fn),
            "tn": int(tn), "fp": int(fp), "fn": int(fn), "tp": int(tp)}


def _share(part: int, whole: int) -> float:
    """Return part / whole, 0.0 for an empty whole (scikit-learn's ``zero_division=0``)."""
    return float(part / whole) if whole else 0.0


def alert_budget_metrics(fraud, scores, budget: float, days=None) -> dict:
    """Return precision and recall when only the top-scored ``budget`` share is reviewed.

    With ``days`` (one calendar day per transaction) the budget applies per day: each day the
    ``ceil(budget * transactions that day)`` highest scores become alerts.
    """
    if not 0.0 < budget <= 1.0:
        raise ValueError(f"modeling: alert_budget must be a share in (0, 1], not {budget}")
    frame = pd.DataFrame({"fraud": np.asarray(fraud), "score": np.asarray(scores, float),
                          "day": 0 if days is None else np.asarray(days)})
    rank = frame.groupby("day")["score"].rank(method="first", ascending=False)
    allowed = np.ceil(budget * frame.groupby("day")["score"].transform("size"))
    alerts = (rank <= allowed).to_numpy()
    caught = int(frame["fraud"].to_numpy()[alerts].sum())
    return {"alerts_at_budget": int(alerts.sum()),
            "precision_at_budget": caught / max(int(alerts.sum()), 1),
            "recall_at_budget": caught / max(int(frame["fraud"].sum()), 1)}


def _test_days(frame: pd.DataFrame, split: Split):
    """Return the calendar day of each test row, or None without timestamps."""
    if "timestamp" not in frame:
        return None
    return pd.to_datetime(frame["timestamp"].iloc[split.test_rows]).dt.floor("D").to_numpy()


@one_openmp_thread
def evaluate_on_test(frame: pd.DataFrame, split: Split, fitted: FittedModels,
                     cv: CrossValidation, thresholds: pd.DataFrame, alert_budget: float,
                     cost_missed_fraud: float, cost_review: float) -> TestEvaluation:
    """Score the test set once with every model and gather the comparison table."""
    inputs = {key: fitted.inputs.get(key) or available_inputs(frame) for key in fitted.pipelines}
    features = model_features(frame.iloc[split.test_rows],
                              list(dict.fromkeys(c for names in inputs.values() for c in names)))
    scores = {candidate: pipeline.predict_proba(features[inputs[candidate]])[:, 1]
              for candidate, pipeline in fitted.pipelines.items()}
    k = cards_reviewed_per_day(frame, alert_budget) if has_cards_and_days(frame) else None
    return judge_test_scores(frame, split, fitted, cv, thresholds, scores, alert_budget,
                             cost_missed_fraud, cost_review, k)


def judge_test_scores(frame: pd.DataFrame, split: Split, fitted: FittedModels,
                      cv: CrossValidation, thresholds: pd.DataFrame, scores: dict,
                      alert_budget: float, cost_missed_fraud: float, cost_review: float,
                      k: int | None) -> TestEvaluation:
    """Gather the comparison table from each model's test scores (``scores``: model key ->
    P(fraud) of the rows ``split.test_rows`` of ``frame``); ``k``: cards reviewed a day."""
    fraud = frame[TARGET].to_numpy()[split.test_rows]
    days = _test_days(frame, split)
    n_days = None if days is None else int(pd.Series(days).nunique())
    best_cv = cv.table.loc[cv.table.groupby("candidate")[f"cv_{cv.selection_metric}"].idxmax()]
    rows = []
    for candidate in fitted.pipelines:
        score = scores[candidate]
        threshold = float(thresholds.loc[candidate, "threshold"])
        metrics = {**classification_metrics(fraud, score, threshold),
                   **alert_budget_metrics(fraud, score, alert_budget, days),
                   "card_precision_at_k": card_precision_of_rows(frame, split.test_rows,
                                                                 score, k)}
        flagged = metrics["tp"] + metrics["fp"]
        cost = (_missed_cost(fraud, score, threshold, frame, split, cost_missed_fraud)
                + flagged * cost_review)
        cv_row = best_cv.loc[best_cv["candidate"] == candidate].iloc[0]
        rows.append({"candidate": candidate, "feature_set": feature_set_of(candidate),
                     "best": candidate == fitted.best,
                     "fit_rows": fitted.fit_rows[candidate],
                     "cv_average_precision": cv_row["cv_average_precision"],
                     "cv_roc_auc": cv_row["cv_roc_auc"], "threshold": threshold, **metrics,
                     "alerts_per_day": flagged / n_days if n_days else None,
                     "expected_cost_per_1000": round(1000 * cost / len(fraud))})
    return TestEvaluation(comparison=pd.DataFrame(rows).set_index("candidate"),
                          scores={c: scores[c] for c in fitted.pipelines}, fraud=fraud,
                          days=n_days, cards_reviewed_per_day=k)


def _missed_cost(fraud, score, threshold, frame, split, cost_missed_fraud) -> float:
    """Return the cost of the frauds scored below the threshold (amounts when known)."""
    missed = (np.asarray(fraud) == 1) & (np.asarray(score) < threshold)
    amounts = purchase_amounts(frame, split.test_rows)
    return float(amounts[missed].sum() if amounts is not None else missed.sum() * cost_missed_fraud)


REPORTED_METRICS = ["accuracy", "precision", "recall", "f1", "roc_auc", "average_precision",
                    "precision_at_budget", "recall_at_budget", "alerts_at_budget",
                    "card_precision_at_k", "tn", "fp", "fn", "tp", "alerts_per_day",
                    "expected_cost_per_1000"]


def comparison_table(test: TestEvaluation) -> pd.DataFrame:
    """Return the comparison for reading: validation PR-AUC, test metrics, alerts and cost."""
    columns = ["feature_set", "fit_rows", "cv_average_precision", "average_precision", "roc_auc", "threshold",
               "precision", "recall", "f1", "precision_at_budget", "recall_at_budget",
               "card_precision_at_k", "alerts_per_day", "expected_cost_per_1000"]
    table = test.comparison[columns]
    if test.days is None:
        table = table.drop(columns="alerts_per_day")
    if test.cards_reviewed_per_day is None:  # no card ids or timestamps
        table = table.drop(columns="card_precision_at_k")
    return table.round(4)


def first_analysis_table(test: TestEvaluation) -> pd.DataFrame:
    """Return the first analysis' table (false negatives, false positives, accuracy)."""
    table = test.comparison[["fn", "fp", "accuracy"]].rename(
        columns={"fn": "false negatives", "fp": "false positives"})
    return table.round({"accuracy": 4})


@one_openmp_thread
def permutation_importance_table(pipeline, frame: pd.DataFrame, split: Split, rows: int,
                                 seed: int = 42, repeats: int = 3,
                                 inputs: list[str] | None = None) -> pd.DataFrame:
    """Return how much the test PR-AUC drops when each input is shuffled (mean, std).

    Uses a stratified sample of ``rows`` test rows to keep it fast; ``inputs``: the model's
    (None = the frame's base inputs).
    """
    inputs = available_inputs(frame) if inputs is None else list(inputs)
    positions = split.test_rows
    fraud = frame[TARGET].to_numpy()[positions]
    if rows and rows < len(positions):
        positions, _rest = train_test_split(positions, train_size=int(rows), stratify=fraud,
                                        random_state=seed)
    result = permutation_importance(pipeline, model_features(frame.iloc[positions], inputs),
                                    frame[TARGET].to_numpy()[positions],
                                    scoring="average_precision", n_repeats=repeats,
                                    random_state=seed)
    table = pd.DataFrame({"feature": inputs, "pr_auc_drop": result.importances_mean,
                          "pr_auc_drop_std": result.importances_std})
    return table.sort_values("pr_auc_drop", ascending=False).reset_index(drop=True)


def _first_analysis_models(seed: int) -> dict:
    """Return the first analysis' two models, as it fitted them."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return {"logistic_regression": make_pipeline(StandardScaler(),
                                                 LogisticRegression(max_iter=1000)),
            "decision_tree": DecisionTreeClassifier(random_state=seed)}


FIRST_PROCEDURE = "first: SMOTE on all rows, then split"
HONEST_PROCEDURE = "honest: split first, test untouched"


def _default_cut_metrics(procedure, name, fraud, scores, synthetic) -> dict:
    """Return the first analysis' numbers (at the 0.5 cut-off) plus PR-AUC and recall."""
    metrics = classification_metrics(fraud, scores, 0.5)
    return {"model": name, "procedure": procedure, "test rows": len(fraud),
            "fraud share in test": float(np.mean(fraud)),
            "synthetic frauds in test": int(synthetic), "accuracy": metrics["accuracy"],
            "precision": metrics["precision"], "recall": metrics["recall"],
            "average_precision": metrics["average_precision"],
            "false negatives": metrics["fn"], "false positives": metrics["fp"]}


@one_openmp_thread
def first_analysis_rerun(frame: pd.DataFrame, split: Split, rows: int | None,
                         seed: int = 42) -> pd.DataFrame:
    """Re-run the first procedure (SMOTE on all rows, then split, accuracy) beside the honest one.

    Both use ``rows`` transactions (stratified sample) and the same two models. The first
    procedure tests on a split of the oversampled rows (synthetic frauds included); the honest
    one trains on the training period without resampling and tests on the untouched test set.
    The first analysis had every input known, so purchases with an input unknown are left out
    of both (the table's ``test rows`` count what was used; ``attrs`` say how many were left out).
    """
    fraud = frame[TARGET].to_numpy()
    known = model_features(frame).notna().all(axis=1).to_numpy()  # it had no unknown inputs
    every = np.flatnonzero(known)
    if rows and rows < len(every):
        every, _rest = train_test_split(every, train_size=int(rows), stratify=fraud[every],
                                    random_state=seed)
    features, labels = SMOTE(random_state=seed).fit_resample(
        model_features(frame.iloc[every]), fraud[every])
    fit, test = train_test_split(np.arange(len(labels)), test_size=0.2, random_state=seed)
    honest_fit = split.train_rows[known[split.train_rows]]
    test_rows = split.test_rows[known[split.test_rows]]
    if rows and rows < len(honest_fit):
        honest_fit, _rest = train_test_split(honest_fit, train_size=int(rows),
                                         stratify=fraud[honest_fit], random_state=seed)
    honest_test = model_features(frame.iloc[test_rows])
    results = []
    for name, model in _first_analysis_models(seed).items():
        model.fit(features.iloc[fit], labels[fit])
        results.append(_default_cut_metrics(
            FIRST_PROCEDURE, name, labels[test], model.predict_proba(features.iloc[test])[:, 1],
            np.sum(test >= len(every))))  # SMOTE appends its synthetic rows at the end
        model.fit(model_features(frame.iloc[honest_fit]), fraud[honest_fit])
        results.append(_default_cut_metrics(
            HONEST_PROCEDURE, name, fraud[test_rows],
            model.predict_proba(honest_test)[:, 1], 0))
    table = pd.DataFrame(results).set_index(["model", "procedure"]).round(4)
    table.attrs["purchases_left_out_unknown_input"] = int((~known).sum())
    return table


def first_analysis_gap(table: pd.DataFrame) -> str:
    """Return, per model, the first procedure's numbers beside the honest ones, in words."""
    lines = []
    for model in table.index.get_level_values("model").unique():
        first, honest = table.loc[(model, FIRST_PROCEDURE)], table.loc[(model, HONEST_PROCEDURE)]
        lines.append(fill(
            _("{model}: recall {recall:.1%} (first procedure) vs {recall_honest:.1%} (honest), "
              "precision {precision:.1%} vs {precision_honest:.1%}, PR-AUC {pr_auc:.3f} vs "
              "{pr_auc_honest:.3f}, accuracy {accuracy:.1%} vs {accuracy_honest:.1%}."),
            model=model_label(model), recall=first["recall"], recall_honest=honest["recall"],
            precision=first["precision"], precision_honest=honest["precision"],
            pr_auc=first["average_precision"], pr_auc_honest=honest["average_precision"],
            accuracy=first["accuracy"], accuracy_honest=honest["accuracy"]))
    if left_out := table.attrs.get("purchases_left_out_unknown_input"):
        lines.append(fill(_("Both procedures use purchases with every input known ({n:,} "
                            "purchases with an input unknown are left out, as the first analysis "
                            "had none)."), n=left_out))
    return "\n".join(lines)

