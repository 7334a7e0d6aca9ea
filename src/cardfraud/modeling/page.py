"""The modeling step as one call: the card-history features, split, cross-validation of every
candidate on each feature set, threshold, refit, test (the section :func:`evaluate_candidates`),
importance, figures, MLflow runs, hand-over files and the first analysis' rerun.

:func:`run_modeling` is the step's sequence of calls, written once: the notebook
(``05_modeling.ipynb``) calls it and shows its parts with the story between them, and the bench
(``bench/bench_modeling.py``) times the same call phase by phase.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..data.schema import model_features
from ..report.figures import save_and_close
from ..runner.phases import Phase, no_phase
from . import figures as model_plots
from . import tracking
from .backtest import Backtest, backtest_results, run_backtest
from .bootstrap import test_period_intervals
from .candidates import CrossValidation, FittedModels, cross_validate_candidates, fit_final_models
from .card_precision import K_RULE, card_precision_note, why_no_card_precision
from .feature_sets import FeatureSets, feature_sets_for, save_history_features, with_history
from .holdout import Split, split_summary, split_transactions
from .metrics import (
    TestEvaluation,
    evaluate_on_test,
    first_analysis_rerun,
    permutation_importance_table,
)
from .reasons import top_alert_reasons
from .results import save_modeling_results, step_settings
from .thresholds import choose_thresholds, threshold_check

SHARED_FIGURES = ["modeling_pr_roc", "modeling_confusion_matrices"]  # logged on every run
BEST_FIGURES = ["modeling_cost_curve", "modeling_calibration", "modeling_importance"]


@dataclass
class CandidateEvaluation:
    """The candidates chosen and judged: split, cross-validation, thresholds, refit, test."""

    split: Split
    cv: CrossValidation
    thresholds: pd.DataFrame
    cost_curves: dict
    settings: dict
    fitted: FittedModels
    test: TestEvaluation
    feature_sets: FeatureSets | None = None  # base, and base+history when the data allow


@dataclass
class ModelingPage:
    """What the modeling page shows; ``figures`` maps names to saved PNGs."""

    evaluation: CandidateEvaluation
    importance: pd.DataFrame
    tracked: dict
    results: dict
    first_analysis: pd.DataFrame
    figures: dict[str, Path] = field(default_factory=dict)
    backtest: Backtest | None = None  # the weekly backtest of the chosen model's procedure
    intervals: dict = field(default_factory=dict)  # bootstrap 95 % intervals of the test metrics
    alert_reasons: pd.DataFrame | None = None  # the top test alerts of the chosen model, why
    split_table: pd.DataFrame | None = None  # per set: purchases, frauds, rate, first/last day
    threshold_note: str = ""  # the threshold warning, or the validation purchases it reviews
    card_precision_text: str = ""  # how k was derived (or why card precision is absent)
    training_sample_note: str = ""  # a Spark run: what the models were trained on, and why
    test_period: pd.DataFrame | None = None  # a Spark run: the scored test period, in order

    def __getattr__(self, name: str):
        """``page.cv``, ``page.test``...: the parts of the evaluation the page shows."""
        if name in CandidateEvaluation.__dataclass_fields__:
            return getattr(self.evaluation, name)
        raise AttributeError(name)


def evaluate_candidates(transactions: pd.DataFrame, *, seed: int = 42,
                        candidates: list | None = None, resampling: str = "none",
                        grids: dict | None = None, selection_metric: str = "average_precision",
                        cv_folds: int = 3, cv_sample_rows: int | None = 30000,
                        refit_rows: int | None = 250000, split: str = "auto",
                        test_days: int | None = 14, test_share: float = 0.2, alert_budget: float = 0.01,
                        cost_missed_fraud: float = 300000.0, cost_review: float = 10000.0,
                        currency: str = "COP", target_recall: float = 0.9,
                        label_delay_days: float = 7.0,
                        phase: Phase = no_phase) -> CandidateEvaluation:
    """Cut the test set off, cross-validate the candidates on the training period (each on
    every feature set the data allow), choose each one's threshold on validation scores,
    refit the best and judge all on the test set.

    Writes nothing: the first sections of :func:`run_modeling`.
    """
    candidates = candidates or ["logistic_regression", "decision_tree",
                                "hist_gradient_boosting", "random_forest"]
    with phase("history features"):
        sets = feature_sets_for(transactions, label_delay_days)
        transactions = with_history(transactions, sets.history)
    with phase("split"):
        data_split = split_transactions(transactions, split, test_days, test_share, seed,
                                        cv_folds)
    with phase("cross-validation"):
        cv = cross_validate_candidates(transactions, data_split, candidates, grids, resampling,
                                       cv_folds, cv_sample_rows, selection_metric, seed,
                                       sets.inputs)
    with phase("thresholds"):
        thresholds, cost_curves = choose_thresholds(transactions, cv, cost_missed_fraud,
                                                    cost_review, target_recall)
        settings = {**step_settings(transactions, data_split, cv, alert_budget,
                                    cost_missed_fraud, cost_review, target_recall, currency),
                    "label_delay_days": float(label_delay_days)}
    with phase("refit best"):
        fitted = fit_final_models(transactions, data_split, cv, refit_rows)
    with phase("test evaluation"):
        test = evaluate_on_test(transactions, data_split, fitted, cv, thresholds, alert_budget,
                                cost_missed_fraud, cost_review)
    return CandidateEvaluation(data_split, cv, thresholds, cost_curves, settings, fitted, test,
                               sets)


def modeling_figures(evaluation: CandidateEvaluation, importance: pd.DataFrame,
                     importance_rows: int, target_recall: float, currency: str,
                     output_dir=None) -> dict[str, Path]:
    """Draw and save the page's five figures; return their files by name."""
    thresholds, best = evaluation.thresholds, evaluation.fitted.best
    figures = {
        "modeling_cost_curve": model_plots.plot_cost_curve(
            evaluation.cost_curves[best], thresholds.loc[best, "threshold"],
            thresholds.loc[best, "threshold_target_recall"], target_recall, best,
            int(thresholds.loc[best, "validation_rows"]), currency),
        "modeling_pr_roc": model_plots.plot_pr_roc(evaluation.test, best),
        "modeling_confusion_matrices": model_plots.plot_confusion_matrices(evaluation.test),
        "modeling_calibration": model_plots.plot_calibration(evaluation.test, best),
        "modeling_importance": model_plots.plot_permutation_importance(importance, best,
                                                                       importance_rows)}
    return {name: save_and_close(fig, name, output_dir) for name, fig in figures.items()}


def backtest_figure(backtest: Backtest, output_dir=None) -> dict[str, Path]:
    """Draw and save the backtest figure when the backtest ran; return it by name."""
    if not backtest.ran:
        return {}
    fig = model_plots.plot_backtest(backtest.windows, backtest.summary,
                                    backtest.settings["candidate"],
                                    backtest.settings["label_delay_days"])
    return {"modeling_backtest": save_and_close(fig, "modeling_backtest", output_dir)}


def over_time_results(transactions: pd.DataFrame, evaluation: CandidateEvaluation,
                      backtest: Backtest, intervals: dict) -> dict:
    """Return what run.json says of the evaluation over time: backtest, intervals, card k."""
    k = evaluation.test.cards_reviewed_per_day
    return {"backtest": backtest_results(backtest), "bootstrap": intervals,
            "card_precision": ({"k": k, "rule": K_RULE} if k is not None else
                               {"k": None, "absent": why_no_card_precision(transactions)})}


def run_modeling(transactions: pd.DataFrame, output_dir=None, *, run_id: str | None = None,
                 tracking_uri: str | None = None, seed: int = 42,
                 experiment_name: str = "cardfraud", candidates: list | None = None,
                 resampling: str = "none", grids: dict | None = None,
                 selection_metric: str = "average_precision", cv_folds: int = 3,
                 cv_sample_rows: int | None = 30000, refit_rows: int | None = 250000,
                 split: str = "auto",
                 test_days: int | None = 14, test_share: float = 0.2,
                 alert_budget: float = 0.01, cost_missed_fraud: float = 300000.0,
                 cost_review: float = 10000.0, currency: str = "COP",
                 target_recall: float = 0.9, importance_rows: int = 10000,
                 first_analysis_rows: int | None = 30000, label_delay_days: int = 7,
                 backtest_weeks: int = 6, backtest_train_rows: int | None = 50000,
                 bootstrap_resamples: int = 1000, train_sample_rows: int | None = 1_000_000,
                 test_sample_rows: int | None = 2_000_000, phase: Phase = no_phase) -> ModelingPage:
    """Run the modeling step on the loaded purchases; save figures, runs and hand-over files.

    The keyword arguments are the ``modeling`` section of the params (same names and defaults
    as the notebook's parameters cell); ``phase`` names each section for a timer.
    ``transactions`` is a pandas frame, or a Spark DataFrame in a Spark run
    (:mod:`cardfraud.modeling.spark_modeling`, which alone uses ``train_sample_rows``: the
    cap on the training sample drawn in Spark, and ``test_sample_rows``: the cap on the test
    purchases brought to the driver, :mod:`cardfraud.modeling.spark_test_sample`).
    """
    from ..engines import is_spark_frame

    if is_spark_frame(transactions):
        from .spark_modeling import run_modeling_on_spark

        return run_modeling_on_spark(
            transactions, output_dir, train_sample_rows=train_sample_rows, run_id=run_id,
            tracking_uri=tracking_uri, seed=seed, experiment_name=experiment_name,
            candidates=candidates, resampling=resampling, grids=grids,
            selection_metric=selection_metric, cv_folds=cv_folds, cv_sample_rows=cv_sample_rows,
            refit_rows=refit_rows, split=split, test_days=test_days, test_share=test_share,
            alert_budget=alert_budget, cost_missed_fraud=cost_missed_fraud,
            cost_review=cost_review, currency=currency, target_recall=target_recall,
            importance_rows=importance_rows, first_analysis_rows=first_analysis_rows,
            label_delay_days=label_delay_days, backtest_weeks=backtest_weeks,
            backtest_train_rows=backtest_train_rows, bootstrap_resamples=bootstrap_resamples,
            test_sample_rows=test_sample_rows,
            phase=phase)
    evaluation = evaluate_candidates(
        transactions, seed=seed, candidates=candidates, resampling=resampling, grids=grids,
        selection_metric=selection_metric, cv_folds=cv_folds, cv_sample_rows=cv_sample_rows,
        refit_rows=refit_rows, split=split, test_days=test_days, test_share=test_share,
        alert_budget=alert_budget,
        cost_missed_fraud=cost_missed_fraud, cost_review=cost_review, currency=currency,
        target_recall=target_recall, label_delay_days=label_delay_days, phase=phase)
    fitted, data_split, sets = evaluation.fitted, evaluation.split, evaluation.feature_sets
    modeled = with_history(transactions, sets.history)  # the inputs of every feature set
    with phase("importance"):
        importance = permutation_importance_table(fitted.pipelines[fitted.best], modeled,
                                                  data_split, importance_rows, seed,
                                                  inputs=fitted.inputs[fitted.best])
    with phase("backtest"):
        backtest = run_backtest(transactions, evaluation, backtest_weeks, label_delay_days,
                                backtest_train_rows, alert_budget,
                                evaluation.test.cards_reviewed_per_day, seed)
    with phase("bootstrap"):
        intervals = test_period_intervals(transactions, evaluation, bootstrap_resamples, seed)
    with phase("figures"):
        figures = modeling_figures(evaluation, importance, importance_rows, target_recall,
                                   currency, output_dir)
        figures.update(backtest_figure(backtest, output_dir))
    with phase("mlflow logging"):
        tracked = tracking.track_candidates(
            experiment_name, tracking_uri, evaluation.cv, fitted, evaluation.thresholds,
            evaluation.test, model_features(modeled.iloc[data_split.train_rows[:5]],
                                            sets.all_inputs()),
            evaluation.settings, shared_figures=SHARED_FIGURES, best_figures=BEST_FIGURES,
            run_id=run_id, output_dir=output_dir)
    with phase("hand-over files"):
        results = save_modeling_results(transactions, data_split, evaluation.cv, fitted,
                                        evaluation.thresholds, evaluation.test, tracked,
                                        evaluation.settings, output_dir, sets,
                                        over_time_results(transactions, evaluation, backtest,
                                                          intervals))
        save_history_features(sets, output_dir)
    with phase("first analysis rerun"):
        first_analysis = first_analysis_rerun(transactions, data_split, first_analysis_rows, seed)
    with phase("alert reasons"):
        alert_reasons = top_alert_reasons(
            fitted.pipelines[fitted.best], modeled.iloc[data_split.test_rows],
            evaluation.test.scores[fitted.best], fitted.inputs[fitted.best])
    return ModelingPage(evaluation, importance, tracked, results, first_analysis, figures,
                        backtest, intervals, alert_reasons,
                        split_table=split_summary(transactions, data_split),
                        threshold_note=threshold_check(
                            evaluation.thresholds, evaluation.cv.best_candidate, transactions,
                            cost_missed_fraud, cost_review, currency),
                        card_precision_text=card_precision_note(
                            transactions, evaluation.test.cards_reviewed_per_day, alert_budget))
