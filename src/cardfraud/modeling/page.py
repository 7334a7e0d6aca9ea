"""The modeling step as one call: split, cross-validation, threshold, refit, test, figures,
MLflow runs, hand-over files and the first analysis' rerun.

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
from .candidates import CrossValidation, FittedModels, cross_validate_candidates, fit_final_models
from .holdout import Split, split_transactions
from .metrics import (
    TestEvaluation,
    evaluate_on_test,
    first_analysis_rerun,
    permutation_importance_table,
)
from .results import save_modeling_results, step_settings
from .thresholds import choose_thresholds

SHARED_FIGURES = ["modeling_pr_roc", "modeling_confusion_matrices"]  # logged on every run
BEST_FIGURES = ["modeling_cost_curve", "modeling_calibration", "modeling_importance"]


@dataclass
class ModelingPage:
    """What the modeling page shows; ``figures`` maps names to saved PNGs."""

    split: Split
    cv: CrossValidation
    thresholds: pd.DataFrame
    settings: dict
    fitted: FittedModels
    test: TestEvaluation
    importance: pd.DataFrame
    tracked: dict
    results: dict
    first_analysis: pd.DataFrame
    figures: dict[str, Path] = field(default_factory=dict)


def run_modeling(transactions: pd.DataFrame, output_dir=None, *, run_id: str | None = None,
                 tracking_uri: str | None = None, seed: int = 42,
                 experiment_name: str = "cardfraud", candidates: list | None = None,
                 resampling: str = "none", grids: dict | None = None,
                 selection_metric: str = "average_precision", cv_folds: int = 3,
                 cv_sample_rows: int | None = 60000, split: str = "auto",
                 test_days: int | None = 14, test_share: float = 0.2,
                 alert_budget: float = 0.01, cost_missed_fraud: float = 300000.0,
                 cost_review: float = 10000.0, currency: str = "COP",
                 target_recall: float = 0.9, importance_rows: int = 20000,
                 first_analysis_rows: int | None = 30000,
                 phase: Phase = no_phase) -> ModelingPage:
    """Run the modeling step on the loaded purchases; save figures, runs and hand-over files.

    The keyword arguments are the ``modeling`` section of the params (same names and defaults
    as the notebook's parameters cell); ``phase`` names each section for a timer.
    """
    candidates = candidates or ["logistic_regression", "decision_tree",
                                "hist_gradient_boosting", "random_forest"]
    figures: dict[str, Path] = {}

    def keep(fig, name: str) -> None:
        figures[name] = save_and_close(fig, name, output_dir)

    with phase("split"):
        data_split = split_transactions(transactions, split, test_days, test_share, seed,
                                        cv_folds)
    with phase("cross-validation"):
        cv = cross_validate_candidates(transactions, data_split, candidates, grids, resampling,
                                       cv_folds, cv_sample_rows, selection_metric, seed)
    with phase("thresholds"):
        thresholds, cost_curves = choose_thresholds(transactions, cv, cost_missed_fraud,
                                                    cost_review, target_recall)
        settings = step_settings(transactions, data_split, cv, alert_budget, cost_missed_fraud,
                                 cost_review, target_recall, currency)
        best = cv.best_candidate
        keep(model_plots.plot_cost_curve(
            cost_curves[best], thresholds.loc[best, "threshold"],
            thresholds.loc[best, "threshold_target_recall"], target_recall, best,
            int(thresholds.loc[best, "validation_rows"]), currency), "modeling_cost_curve")
    with phase("refit best"):
        fitted = fit_final_models(transactions, data_split, cv)
    with phase("test evaluation"):
        test = evaluate_on_test(transactions, data_split, fitted, cv, thresholds, alert_budget,
                                cost_missed_fraud, cost_review)
        keep(model_plots.plot_pr_roc(test, fitted.best), "modeling_pr_roc")
        keep(model_plots.plot_confusion_matrices(test), "modeling_confusion_matrices")
        keep(model_plots.plot_calibration(test, fitted.best), "modeling_calibration")
    with phase("importance"):
        importance = permutation_importance_table(fitted.pipelines[fitted.best], transactions,
                                                  data_split, importance_rows, seed)
        keep(model_plots.plot_permutation_importance(importance, fitted.best, importance_rows),
             "modeling_importance")
    with phase("mlflow logging"):
        tracked = tracking.track_candidates(
            experiment_name, tracking_uri, cv, fitted, thresholds, test,
            model_features(transactions.iloc[data_split.train_rows[:5]]), settings,
            shared_figures=SHARED_FIGURES, best_figures=BEST_FIGURES, run_id=run_id,
            output_dir=output_dir)
    with phase("hand-over files"):
        results = save_modeling_results(transactions, data_split, cv, fitted, thresholds, test,
                                        tracked, settings, output_dir)
    with phase("first analysis rerun"):
        first_analysis = first_analysis_rerun(transactions, data_split, first_analysis_rows, seed)
    return ModelingPage(data_split, cv, thresholds, settings, fitted, test, importance, tracked,
                        results, first_analysis, figures)
