"""What the modeling step hands on: its results file, the decision in a few sentences and the
hand-over table the registry step reads.
"""

from __future__ import annotations

import pandas as pd

from ..data.schema import TARGET
from ..report.locale_format import fill
from ..report.table_language import model_label
from ..report.translate import _
from .candidates import CrossValidation, FittedModels
from .feature_sets import FeatureSets, feature_set_of
from .holdout import Split
from .metrics import REPORTED_METRICS, TestEvaluation, classification_metrics
from .thresholds import threshold_warning


def _alert_volume(alerts: int, test: TestEvaluation) -> str:
    """Return alerts per day (with timestamps) or per 10,000 transactions, in words."""
    if test.days:
        return fill(_("{n:,.1f} alerts a day"), n=alerts / test.days)
    return fill(_("{n:,.1f} alerts per 10,000 transactions"), n=10000 * alerts / len(test.fraud))


def decision_summary(test: TestEvaluation, thresholds: pd.DataFrame, best: str,
                     alert_budget: float, cost_basis: str) -> str:
    """Return in words what the chosen model and threshold mean for the review team."""
    row, chosen = test.comparison.loc[best], thresholds.loc[best]
    at_target = classification_metrics(test.fraud, test.scores[best],
                                       chosen["threshold_target_recall"])
    volume = _alert_volume(int(row["tp"] + row["fp"]), test) + (
        fill(_(" over {days} test days"), days=test.days) if test.days else "")
    lines = [
        fill(_("Chosen model: {best} (test PR-AUC {pr_auc:.3f}, ROC-AUC {roc_auc:.3f})."),
             best=model_label(best), pr_auc=row["average_precision"], roc_auc=row["roc_auc"]),
        fill(_("Alert threshold {threshold:.4f}: the fraud probability at or above which a "
               "purchase goes to review, chosen on validation data to minimise expected cost "
               "({basis})."), threshold=chosen["threshold"], basis=cost_basis),
        fill(_("On the test period it raises {volume}; {precision:.1%} of alerts are fraud and "
               "they catch {recall:.1%} of frauds ({tp:,} caught, {fn:,} missed, {fp:,} "
               "legitimate purchases reviewed)."), volume=volume, precision=row["precision"],
             recall=row["recall"], tp=int(row["tp"]), fn=int(row["fn"]), fp=int(row["fp"])),
        fill(_("Reviewing only the top {budget:.1%} of transactions each day would catch "
               "{recall:.1%} of frauds with {precision:.1%} precision.") if test.days else
             _("Reviewing only the top {budget:.1%} of transactions would catch {recall:.1%} of "
               "frauds with {precision:.1%} precision."), budget=alert_budget,
             recall=row["recall_at_budget"], precision=row["precision_at_budget"]),
        fill(_("The threshold reaching the target recall on validation, {threshold:.4f}, would "
               "on the test period raise {volume} and catch {recall:.1%} of frauds."),
             threshold=chosen["threshold_target_recall"],
             volume=_alert_volume(at_target["tp"] + at_target["fp"], test),
             recall=at_target["recall"]),
    ]
    return "\n".join(lines)


def save_modeling_results(frame: pd.DataFrame, split: Split, cv: CrossValidation,
                          fitted: FittedModels, thresholds: pd.DataFrame,
                          test: TestEvaluation, tracking: dict, settings: dict,
                          output_dir=None, feature_sets: FeatureSets | None = None,
                          over_time: dict | None = None) -> dict:
    """Write the hand-over files and return the step's results (saved as modeling.json).

    Files: ``model_comparison.csv`` (one row per candidate), ``split.parquet`` (train/test
    per transaction, in order), ``test_predictions.parquet`` (row, fraud, the best model's
    P(fraud)) and ``results/modeling.json``; ``over_time`` (backtest, bootstrap intervals,
    card precision's k) is saved with the results.
    """
    from ..runner.artifacts import artifact_path, save_step_results
    from ..runner.atomic_write import atomic_path
    from ..runner.contract import MODEL_COMPARISON, SPLIT, TEST_PREDICTIONS
    from .holdout import split_labels

    with atomic_path(artifact_path(MODEL_COMPARISON, output_dir)) as tmp:
        comparison_for_handover(test, thresholds, cv, tracking).to_csv(tmp)
    with atomic_path(artifact_path(SPLIT, output_dir)) as tmp:
        split_labels(len(frame), split).to_parquet(tmp, index=False)
    with atomic_path(artifact_path(TEST_PREDICTIONS, output_dir)) as tmp:
        pd.DataFrame({"row": split.test_rows.astype("int64"),
                      TARGET: frame[TARGET].to_numpy()[split.test_rows],
                      "probability": test.scores[fitted.best]}).to_parquet(tmp, index=False)
    results = modeling_results_record(frame, split, cv, fitted, thresholds, test, tracking,
                                      settings, feature_sets, over_time)
    save_step_results("modeling", results, output_dir)
    return results


def comparison_for_handover(test: TestEvaluation, thresholds: pd.DataFrame,
                            cv: CrossValidation, tracking: dict) -> pd.DataFrame:
    """Return ``model_comparison.csv``: one row per model, its run id and settings first."""
    comparison = test.comparison.join(thresholds[["threshold_target_recall",
                                                  "validation_cost_per_1000"]])
    comparison.insert(0, "run_id", [tracking["runs"][c] for c in comparison.index])
    comparison.insert(1, "settings", [str(cv.best_settings[c]) for c in comparison.index])
    return comparison


def modeling_results_record(frame: pd.DataFrame, split: Split, cv: CrossValidation,
                            fitted: FittedModels, thresholds: pd.DataFrame,
                            test: TestEvaluation, tracking: dict, settings: dict,
                            feature_sets: FeatureSets | None = None,
                            over_time: dict | None = None,
                            median_fraud_amount=None) -> dict:
    """Return the step's results (modeling.json): the chosen model, its run and threshold,
    test metrics, rows of each set (from ``split.description``), inputs and ``over_time``.

    ``median_fraud_amount``: see :func:`cardfraud.modeling.thresholds.threshold_warning`.
    """
    best = fitted.best
    return {
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
            settings["costs"]["cost_review"], settings["costs"]["currency"],
            median_fraud_amount),
        "target_recall": settings["target_recall"], "costs": settings["costs"],
        "alert_budget": settings["alert_budget"], "resampling": cv.resampling,
        "best_settings": cv.best_settings[best],
        "test_metrics": test_metrics_for_results(test, best),
        "test_rows": int(split.description["test_rows"]),
        "train_rows": int(split.description["train_rows"]),
        "cv_rows": len(cv.sample_rows), "fit_rows": fitted.fit_rows[best],
        "split": split.description, "candidates": list(fitted.pipelines),
        "runs": tracking["runs"], **model_inputs_record(frame, fitted, feature_sets),
        **(over_time or {}),
    }


def model_inputs_record(frame: pd.DataFrame, fitted: FittedModels | None = None,
                        feature_sets: FeatureSets | None = None) -> dict:
    """The chosen model's inputs (``model_inputs``) and feature set, the inputs of each
    feature set, why there is no history (None when there is) and the inputs left out as
    unknown."""
    from ..data.schema import available_inputs, unknown_inputs

    sets = feature_sets or FeatureSets({"base": available_inputs(frame)})
    best = fitted.best if fitted is not None else None
    return {"model_inputs": (fitted.inputs.get(best) if fitted is not None else None)
            or available_inputs(frame),
            "feature_set": feature_set_of(best or ""), "feature_sets": sets.inputs,
            "history_unavailable": sets.reason, "label_delay_days": sets.label_delay_days,
            "inputs_unknown": unknown_inputs(frame)}


def step_settings(frame: pd.DataFrame, split: Split, cv: CrossValidation, alert_budget: float,
                  cost_missed_fraud: float, cost_review: float, target_recall: float,
                  currency: str = "COP") -> dict:
    """Return the settings of this modeling run, in words where a reader needs them."""
    amounts = "amount" in frame
    basis = (fill(_("a missed fraud costs its amount, a review costs {review:,.0f} {currency}"),
                  review=cost_review, currency=currency) if amounts else
             fill(_("a missed fraud costs {missed:,.0f} {currency}, a review costs {review:,.0f} "
                    "{currency}"), missed=cost_missed_fraud, review=cost_review, currency=currency))
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
        "threshold_rule": fill(_("least expected cost on out-of-fold validation scores ({basis})"),
                               basis=basis),
    }


def handover_table(results: dict) -> pd.DataFrame:
    """Return the headline of what the modeling step hands on, one line per item."""
    from ..data.schema import unknown_input_text

    metrics = results["test_metrics"]
    rows = {"chosen model": results["best_model"],
            "feature set": results.get("feature_set", "base"),
            "MLflow run": results["best_run_id"],
            "model URI": results["model_uri"], "alert threshold": f"{results['threshold']:.4f}",
            fill(_("threshold for {recall:.0%} recall"), recall=results["target_recall"]):
                f"{results['threshold_target_recall']:.4f}",
            "test PR-AUC (average_precision)": f"{metrics['average_precision']:.4f}"
                                               + _interval_of_chosen(results),
            "test recall / precision": f"{metrics['recall']:.3f} / {metrics['precision']:.3f}",
            "training / test purchases": f"{results['train_rows']:,} / {results['test_rows']:,}",
            "model inputs": ", ".join(results["model_inputs"]),
            "left out (unknown)": "; ".join(unknown_input_text(name)
                                            for name in results["inputs_unknown"]) or "none"}
    return pd.DataFrame({"value": rows})


def _interval_of_chosen(results: dict) -> str:
    """Return `` (95 % CI low-high)`` of the chosen model's test PR-AUC, or '' without one."""
    found = (results.get("bootstrap") or {}).get("candidates", {}).get(results["best_model"])
    if not found:
        return ""
    interval = found["average_precision"]
    return f" (95 % CI {interval['low']:.3f}-{interval['high']:.3f})"


def test_metrics_for_results(test: TestEvaluation, candidate: str) -> dict:
    """Return one candidate's test metrics under scikit-learn names, for run.json."""
    row = test.comparison.loc[candidate]
    return {name: (None if pd.isna(row[name]) else
                   int(row[name]) if name in {"tn", "fp", "fn", "tp", "alerts_at_budget"}
                   else float(row[name])) for name in REPORTED_METRICS}
