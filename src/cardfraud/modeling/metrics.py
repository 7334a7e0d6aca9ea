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
    accuracy_score,
    average_precision_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier

from ..data.cleaning import FEATURES, TARGET, model_features
from .candidates import CrossValidation, FittedModels, Split, one_openmp_thread

FLAG_NONE = float(np.nextafter(1.0, 2.0))  # a threshold above every probability: no alerts


@dataclass
class TestEvaluation:
    """Test-set results: one comparison row per candidate and each candidate's scores."""

    comparison: pd.DataFrame
    scores: dict
    fraud: np.ndarray
    days: int | None


def classification_metrics(fraud, scores, threshold: float) -> dict:
    """Return accuracy, precision, recall, F1, ROC-AUC, PR-AUC and tn/fp/fn/tp at ``threshold``.

    Names follow scikit-learn (``average_precision`` is the PR-AUC).
    """
    fraud, scores = np.asarray(fraud), np.asarray(scores, dtype=float)
    flagged = (scores >= threshold).astype(int)
    tn, fp, fn, tp = confusion_matrix(fraud, flagged, labels=[0, 1]).ravel()
    return {"accuracy": float(accuracy_score(fraud, flagged)),
            "precision": float(precision_score(fraud, flagged, zero_division=0)),
            "recall": float(recall_score(fraud, flagged, zero_division=0)),
            "f1": float(f1_score(fraud, flagged, zero_division=0)),
            "roc_auc": float(roc_auc_score(fraud, scores)),
            "average_precision": float(average_precision_score(fraud, scores)),
            "tn": int(tn), "fp": int(fp), "fn": int(fn), "tp": int(tp)}


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


def _amounts(frame: pd.DataFrame, rows) -> np.ndarray | None:
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
                                    cost_review, _amounts(frame, validation["row"].to_numpy()))
        best = int(np.argmin(curve["expected_cost"].to_numpy()))
        rows.append({"candidate": candidate, "threshold": cost_minimising_threshold(curve),
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
                      cost_missed_fraud: float, cost_review: float, currency: str) -> str | None:
    """Return a warning when the least-cost threshold reviews no purchase or every one, else None.

    Either means the costs cannot pick a useful threshold: typically a review cost in another
    currency or scale than the amounts (amounts in USD against ``cost_review`` in COP).
    """
    row = thresholds.loc[candidate]
    alerts, rows = int(row["validation_alerts"]), int(row["validation_rows"])
    if 0 < alerts < rows:
        return None
    if "amount" in frame:
        amounts = frame.loc[frame[TARGET] == 1, "amount"]
        missed = f"a missed fraud costs its amount (median fraud amount {amounts.median():,.2f})"
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
                    cost_missed_fraud: float, cost_review: float, currency: str) -> str:
    """Return the threshold warning, or how many validation purchases the threshold reviews."""
    warning = threshold_warning(thresholds, candidate, frame, cost_missed_fraud, cost_review,
                                currency)
    if warning:
        return warning
    row = thresholds.loc[candidate]
    alerts, rows = int(row["validation_alerts"]), int(row["validation_rows"])
    return (f"The least expected-cost threshold of {candidate} ({float(row['threshold']):.4f}) "
            f"sends {alerts:,} of the {rows:,} validation purchases ({alerts / rows:.1%}) to "
            f"review.")


def _test_days(frame: pd.DataFrame, split: Split):
    """Return the calendar day of each test row, or None without timestamps."""
    if "timestamp" not in frame:
        return None
    return pd.to_datetime(frame["timestamp"].iloc[split.test_rows]).dt.floor("D").to_numpy()


@one_openmp_thread
def evaluate_on_test(frame: pd.DataFrame, split: Split, fitted: FittedModels,
                     cv: CrossValidation, thresholds: pd.DataFrame, alert_budget: float,
                     cost_missed_fraud: float, cost_review: float) -> TestEvaluation:
    """Score the test set once with every candidate and gather the comparison table."""
    features = model_features(frame.iloc[split.test_rows])
    fraud = frame[TARGET].to_numpy()[split.test_rows]
    days = _test_days(frame, split)
    n_days = None if days is None else int(pd.Series(days).nunique())
    best_cv = cv.table.loc[cv.table.groupby("candidate")[f"cv_{cv.selection_metric}"].idxmax()]
    rows, scores = [], {}
    for candidate, pipeline in fitted.pipelines.items():
        score = pipeline.predict_proba(features)[:, 1]
        threshold = float(thresholds.loc[candidate, "threshold"])
        metrics = {**classification_metrics(fraud, score, threshold),
                   **alert_budget_metrics(fraud, score, alert_budget, days)}
        flagged = metrics["tp"] + metrics["fp"]
        cost = (_missed_cost(fraud, score, threshold, frame, split, cost_missed_fraud)
                + flagged * cost_review)
        cv_row = best_cv.loc[best_cv["candidate"] == candidate].iloc[0]
        rows.append({"candidate": candidate, "best": candidate == fitted.best,
                     "fit_rows": fitted.fit_rows[candidate],
                     "cv_average_precision": cv_row["cv_average_precision"],
                     "cv_roc_auc": cv_row["cv_roc_auc"], "threshold": threshold, **metrics,
                     "alerts_per_day": flagged / n_days if n_days else None,
                     "expected_cost_per_1000": round(1000 * cost / len(fraud))})
        scores[candidate] = score
    return TestEvaluation(comparison=pd.DataFrame(rows).set_index("candidate"),
                          scores=scores, fraud=fraud, days=n_days)


def _missed_cost(fraud, score, threshold, frame, split, cost_missed_fraud) -> float:
    """Return the cost of the frauds scored below the threshold (amounts when known)."""
    missed = (np.asarray(fraud) == 1) & (np.asarray(score) < threshold)
    amounts = _amounts(frame, split.test_rows)
    return float(amounts[missed].sum() if amounts is not None else missed.sum() * cost_missed_fraud)


REPORTED_METRICS = ["accuracy", "precision", "recall", "f1", "roc_auc", "average_precision",
                    "precision_at_budget", "recall_at_budget", "alerts_at_budget",
                    "tn", "fp", "fn", "tp", "alerts_per_day", "expected_cost_per_1000"]


def comparison_table(test: TestEvaluation) -> pd.DataFrame:
    """Return the comparison for reading: validation PR-AUC, test metrics, alerts and cost."""
    columns = ["fit_rows", "cv_average_precision", "average_precision", "roc_auc", "threshold",
               "precision", "recall", "f1", "precision_at_budget", "recall_at_budget",
               "alerts_per_day", "expected_cost_per_1000"]
    table = test.comparison[columns]
    if test.days is None:
        table = table.drop(columns="alerts_per_day")
    return table.round(4)


def first_analysis_table(test: TestEvaluation) -> pd.DataFrame:
    """Return the first analysis' table (false negatives, false positives, accuracy)."""
    table = test.comparison[["fn", "fp", "accuracy"]].rename(
        columns={"fn": "false negatives", "fp": "false positives"})
    return table.round({"accuracy": 4})


def test_metrics_for_results(test: TestEvaluation, candidate: str) -> dict:
    """Return one candidate's test metrics under scikit-learn names, for run.json."""
    row = test.comparison.loc[candidate]
    return {name: (None if pd.isna(row[name]) else
                   int(row[name]) if name in {"tn", "fp", "fn", "tp", "alerts_at_budget"}
                   else float(row[name])) for name in REPORTED_METRICS}


@one_openmp_thread
def permutation_importance_table(pipeline, frame: pd.DataFrame, split: Split, rows: int,
                                 seed: int = 42, repeats: int = 3) -> pd.DataFrame:
    """Return how much the test PR-AUC drops when each input is shuffled (mean, std).

    Uses a stratified sample of ``rows`` test rows to keep it fast.
    """
    positions = split.test_rows
    fraud = frame[TARGET].to_numpy()[positions]
    if rows and rows < len(positions):
        positions, _ = train_test_split(positions, train_size=int(rows), stratify=fraud,
                                        random_state=seed)
    result = permutation_importance(pipeline, model_features(frame.iloc[positions]),
                                    frame[TARGET].to_numpy()[positions],
                                    scoring="average_precision", n_repeats=repeats,
                                    random_state=seed)
    table = pd.DataFrame({"feature": FEATURES, "pr_auc_drop": result.importances_mean,
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
    """
    fraud = frame[TARGET].to_numpy()
    every = np.arange(len(frame))
    if rows and rows < len(frame):
        every, _ = train_test_split(every, train_size=int(rows), stratify=fraud, random_state=seed)
    features, labels = SMOTE(random_state=seed).fit_resample(
        model_features(frame.iloc[every]), fraud[every])
    fit, test = train_test_split(np.arange(len(labels)), test_size=0.2, random_state=seed)
    honest_fit = split.train_rows
    if rows and rows < len(honest_fit):
        honest_fit, _ = train_test_split(honest_fit, train_size=int(rows),
                                         stratify=fraud[honest_fit], random_state=seed)
    honest_test = model_features(frame.iloc[split.test_rows])
    results = []
    for name, model in _first_analysis_models(seed).items():
        model.fit(features.iloc[fit], labels[fit])
        results.append(_default_cut_metrics(
            FIRST_PROCEDURE, name, labels[test], model.predict_proba(features.iloc[test])[:, 1],
            np.sum(test >= len(every))))  # SMOTE appends its synthetic rows at the end
        model.fit(model_features(frame.iloc[honest_fit]), fraud[honest_fit])
        results.append(_default_cut_metrics(
            HONEST_PROCEDURE, name, fraud[split.test_rows],
            model.predict_proba(honest_test)[:, 1], 0))
    return pd.DataFrame(results).set_index(["model", "procedure"]).round(4)


def first_analysis_gap(table: pd.DataFrame) -> str:
    """Return, per model, the first procedure's numbers beside the honest ones, in words."""
    lines = []
    for model in table.index.get_level_values("model").unique():
        first, honest = table.loc[(model, FIRST_PROCEDURE)], table.loc[(model, HONEST_PROCEDURE)]
        lines.append(
            f"{model}: recall {first['recall']:.1%} (first procedure) vs {honest['recall']:.1%} "
            f"(honest), precision {first['precision']:.1%} vs {honest['precision']:.1%}, "
            f"PR-AUC {first['average_precision']:.3f} vs {honest['average_precision']:.3f}, "
            f"accuracy {first['accuracy']:.1%} vs {honest['accuracy']:.1%}.")
    return "\n".join(lines)


def _alert_volume(alerts: int, test: TestEvaluation) -> str:
    """Return alerts per day (with timestamps) or per 10,000 transactions, in words."""
    if test.days:
        return f"{alerts / test.days:,.1f} alerts a day"
    return f"{10000 * alerts / len(test.fraud):,.1f} alerts per 10,000 transactions"


def decision_summary(test: TestEvaluation, thresholds: pd.DataFrame, best: str,
                     alert_budget: float, cost_basis: str) -> str:
    """Return in words what the chosen model and threshold mean for the review team."""
    row, chosen = test.comparison.loc[best], thresholds.loc[best]
    at_target = classification_metrics(test.fraud, test.scores[best],
                                       chosen["threshold_target_recall"])
    volume = _alert_volume(int(row["tp"] + row["fp"]), test) + (
        f" over {test.days} test days" if test.days else "")
    return (
        f"Chosen model: {best} (test PR-AUC {row['average_precision']:.3f}, ROC-AUC "
        f"{row['roc_auc']:.3f}).\n"
        f"Alert threshold {chosen['threshold']:.4f}: the fraud probability at or above which a "
        f"purchase goes to review, chosen on validation data to minimise expected cost "
        f"({cost_basis}).\n"
        f"On the test period it raises {volume}; {row['precision']:.1%} of alerts are fraud and "
        f"they catch {row['recall']:.1%} of frauds ({int(row['tp']):,} caught, "
        f"{int(row['fn']):,} missed, {int(row['fp']):,} legitimate purchases reviewed).\n"
        f"Reviewing only the top {alert_budget:.1%} of transactions"
        f"{' each day' if test.days else ''} would catch {row['recall_at_budget']:.1%} of frauds "
        f"with {row['precision_at_budget']:.1%} precision.\n"
        f"The threshold reaching the target recall on validation, "
        f"{chosen['threshold_target_recall']:.4f}, would on the test period raise "
        f"{_alert_volume(at_target['tp'] + at_target['fp'], test)} and catch {at_target['recall']:.1%} of "
        f"frauds."
    )


def save_modeling_results(frame: pd.DataFrame, split: Split, cv: CrossValidation,
                          fitted: FittedModels, thresholds: pd.DataFrame,
                          test: TestEvaluation, tracking: dict, settings: dict,
                          output_dir=None) -> dict:
    """Write the hand-over files and return the step's results (saved as modeling.json).

    Files: ``model_comparison.csv`` (one row per candidate), ``split.parquet`` (train/test
    per transaction, in order), ``test_predictions.parquet`` (row, fraud, the best model's
    P(fraud)) and ``results/modeling.json``.
    """
    from ..runner.artifacts import artifacts_dir, save_step_results
    from .candidates import split_labels

    folder = artifacts_dir(output_dir)
    comparison = test.comparison.join(thresholds[["threshold_target_recall",
                                                  "validation_cost_per_1000"]])
    comparison.insert(0, "run_id", [tracking["runs"][c] for c in comparison.index])
    comparison.insert(1, "settings", [str(cv.best_settings[c]) for c in comparison.index])
    comparison.to_csv(folder / "model_comparison.csv")
    split_labels(len(frame), split).to_parquet(folder / "split.parquet", index=False)
    pd.DataFrame({"row": split.test_rows.astype("int64"),
                  TARGET: frame[TARGET].to_numpy()[split.test_rows],
                  "probability": test.scores[fitted.best]}).to_parquet(
        folder / "test_predictions.parquet", index=False)
    best = fitted.best
    results = {
        "best_model": best, "best_run_id": tracking["best_run_id"],
        "model_uri": f"runs:/{tracking['best_run_id']}/model",
        "experiment_name": tracking["experiment_name"],
        "experiment_id": tracking["experiment_id"], "tracking_uri": tracking["tracking_uri"],
        "selection_metric": cv.selection_metric,
        "threshold": float(thresholds.loc[best, "threshold"]),
        "threshold_rule": settings["threshold_rule"],
        "threshold_target_recall": float(thresholds.loc[best, "threshold_target_recall"]),
        "threshold_warning": threshold_warning(
            thresholds, best, frame, settings["costs"]["cost_missed_fraud"],
            settings["costs"]["cost_review"], settings["costs"]["currency"]),
        "target_recall": settings["target_recall"], "costs": settings["costs"],
        "alert_budget": settings["alert_budget"], "resampling": cv.resampling,
        "best_settings": cv.best_settings[best],
        "test_metrics": test_metrics_for_results(test, best),
        "test_rows": len(split.test_rows), "train_rows": len(split.train_rows),
        "cv_rows": len(cv.sample_rows), "fit_rows": fitted.fit_rows[best],
        "split": split.description, "candidates": list(fitted.pipelines),
        "runs": tracking["runs"],
    }
    save_step_results("modeling", results, output_dir)
    return results


def step_settings(frame: pd.DataFrame, split: Split, cv: CrossValidation, alert_budget: float,
                  cost_missed_fraud: float, cost_review: float, target_recall: float,
                  currency: str = "COP") -> dict:
    """Return the settings of this modeling run, in words where a reader needs them."""
    amounts = "amount" in frame
    basis = ("a missed fraud costs its amount" if amounts
             else f"a missed fraud costs {cost_missed_fraud:,.0f} {currency}") + \
        f", a review costs {cost_review:,.0f} {currency}"
    return {
        "split": split.kind, "resampling": cv.resampling,
        "selection_metric": cv.selection_metric,
        "cv": f"{cv.folds} {'time-ordered' if cv.time_ordered else 'stratified'} folds on "
              f"{len(cv.sample_rows):,} training rows",
        "alert_budget": float(alert_budget), "target_recall": float(target_recall),
        "costs": {"cost_missed_fraud": float(cost_missed_fraud),
                  "cost_review": float(cost_review),
                  "missed_fraud_cost": "amount" if amounts else "cost_missed_fraud",
                  "currency": currency},
        "cost_basis": basis,
        "threshold_rule": f"least expected cost on out-of-fold validation scores ({basis})",
    }


def handover_table(results: dict) -> pd.DataFrame:
    """Return the headline of what the modeling step hands on, one line per item."""
    metrics = results["test_metrics"]
    rows = {"chosen model": results["best_model"], "MLflow run": results["best_run_id"],
            "model URI": results["model_uri"], "alert threshold": f"{results['threshold']:.4f}",
            f"threshold for {results['target_recall']:.0%} recall":
                f"{results['threshold_target_recall']:.4f}",
            "test PR-AUC (average_precision)": f"{metrics['average_precision']:.4f}",
            "test recall / precision": f"{metrics['recall']:.3f} / {metrics['precision']:.3f}",
            "training / test purchases": f"{results['train_rows']:,} / {results['test_rows']:,}"}
    return pd.DataFrame({"value": rows})
