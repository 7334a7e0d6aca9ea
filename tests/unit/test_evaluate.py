"""Metrics against hand-computed values, the threshold rule, test evaluation and hand-over."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import make_timed_transactions

from cardfraud.data.cleaning import load_file
from cardfraud.data.schema import FEATURES
from cardfraud.modeling.candidates import cross_validate_candidates, fit_final_models
from cardfraud.modeling.holdout import split_labels, split_transactions
from cardfraud.modeling.metrics import (
    alert_budget_metrics,
    classification_metrics,
    evaluate_on_test,
    first_analysis_gap,
    first_analysis_rerun,
    first_analysis_table,
    permutation_importance_table,
)
from cardfraud.modeling.page import evaluate_candidates
from cardfraud.modeling.results import decision_summary, save_modeling_results, step_settings
from cardfraud.modeling.thresholds import (
    FLAG_NONE,
    choose_thresholds,
    cost_minimising_threshold,
    expected_cost_curve,
    threshold_check,
    threshold_for_recall,
    threshold_warning,
)


def timed_transactions(rows: int = 800, seed: int = 0, days: int = 10) -> pd.DataFrame:
    """Timestamped purchases with amounts (800 by default)."""
    return make_timed_transactions(rows, seed, days)


def modeling_run(frame: pd.DataFrame, candidates=("logistic_regression", "decision_tree")):
    """Split, cross-validate, choose thresholds, fit and test: the modeling step's first
    sections (``evaluate_candidates``), as the notebook runs them."""
    found = evaluate_candidates(frame, seed=0, candidates=list(candidates), test_days=3,
                                cv_folds=3, cv_sample_rows=None, alert_budget=0.05,
                                cost_missed_fraud=300000, cost_review=10000, target_recall=0.8)
    return found.split, found.cv, found.thresholds, found.cost_curves, found.fitted, found.test


def test_classification_metrics_match_hand_computed_values():
    metrics = classification_metrics([1, 1, 0, 0, 0], [0.9, 0.4, 0.6, 0.2, 0.1], 0.5)
    assert (metrics["tp"], metrics["fn"], metrics["fp"], metrics["tn"]) == (1, 1, 1, 2)
    assert metrics["accuracy"] == pytest.approx(0.6)
    assert metrics["precision"] == pytest.approx(0.5)
    assert metrics["recall"] == pytest.approx(0.5)
    assert metrics["f1"] == pytest.approx(0.5)
    assert metrics["roc_auc"] == pytest.approx(5 / 6)  # 5 of 6 fraud/legit pairs ordered
    assert metrics["average_precision"] == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)


def test_alert_budget_takes_the_top_share_overall_and_per_day():
    fraud = [1, 0, 1, 0, 0, 0, 1, 0, 0, 0]
    scores = [0.9, 0.8, 0.7, 0.1, 0.2, 0.3, 0.65, 0.4, 0.5, 0.6]
    overall = alert_budget_metrics(fraud, scores, 0.2)
    assert overall == {"alerts_at_budget": 2, "precision_at_budget": 0.5,
                       "recall_at_budget": pytest.approx(1 / 3)}  # alerts: 0.9 and 0.8
    days = ["d1"] * 5 + ["d2"] * 5
    daily = alert_budget_metrics(fraud, scores, 0.2, days)
    assert daily == {"alerts_at_budget": 2, "precision_at_budget": 1.0,
                     "recall_at_budget": pytest.approx(2 / 3)}  # 0.9 on d1, 0.65 on d2
    assert alert_budget_metrics(fraud, scores, 0.15, days)["alerts_at_budget"] == 2


def cost_case():
    """Four validation purchases: two frauds (100 and 1,000 COP) and two legitimate."""
    return dict(fraud=[1, 0, 1, 0], scores=[0.9, 0.8, 0.3, 0.2], amounts=[100, 50, 1000, 10])


def test_expected_cost_curve_on_a_constructed_case():
    case = cost_case()
    curve = expected_cost_curve(case["fraud"], case["scores"], 0, 20, case["amounts"])
    assert curve["alerts"].tolist() == [0, 1, 2, 3, 4]
    assert curve["expected_cost"].tolist() == [1100, 1020, 1040, 60, 80]
    assert curve["recall"].tolist() == [0, 0.5, 0.5, 1, 1]
    assert cost_minimising_threshold(curve) == 0.3


def test_a_missed_fraud_costs_its_amount_only_when_amounts_are_known():
    case = cost_case()
    flat = expected_cost_curve(case["fraud"], case["scores"], 30, 20)
    assert flat["expected_cost"].tolist() == [60, 50, 70, 60, 80]
    assert cost_minimising_threshold(flat) == 0.9


def test_threshold_for_target_recall_is_the_highest_reaching_it():
    case = cost_case()
    curve = expected_cost_curve(case["fraud"], case["scores"], 30, 20)
    assert threshold_for_recall(curve, 0.5) == 0.9
    assert threshold_for_recall(curve, 0.9) == 0.3


def test_tied_scores_alert_together_and_costly_reviews_flag_nothing():
    curve = expected_cost_curve([1, 0, 0], [0.5, 0.5, 0.1], 100, 1e6)
    assert curve["alerts"].tolist() == [0, 2, 3]
    threshold = cost_minimising_threshold(curve)
    assert threshold == FLAG_NONE and threshold > 1.0


def test_thresholds_and_selection_ignore_the_test_rows():
    frame = timed_transactions()
    first = modeling_run(frame)
    flipped = frame.copy()
    test_rows = first[0].test_rows
    flipped.loc[flipped.index[test_rows], "fraud"] = 1 - flipped["fraud"].iloc[test_rows]
    second = modeling_run(flipped)
    pd.testing.assert_frame_equal(first[1].table.drop(columns="fit_seconds"),
                                  second[1].table.drop(columns="fit_seconds"))
    pd.testing.assert_frame_equal(first[2], second[2])
    assert first[5].comparison["recall"].tolist() != second[5].comparison["recall"].tolist()


def test_test_evaluation_counts_every_test_row_and_alerts_per_day():
    frame = timed_transactions()
    split, cv, thresholds, _, fitted, test = modeling_run(frame)
    row = test.comparison.loc[fitted.best]
    assert row[["tn", "fp", "fn", "tp"]].sum() == len(split.test_rows)
    assert test.days == 3
    assert row["alerts_per_day"] == pytest.approx((row["tp"] + row["fp"]) / 3)
    assert row["threshold"] == thresholds.loc[fitted.best, "threshold"]
    scores = fitted.pipelines[fitted.best].predict_proba(
        frame.iloc[split.test_rows][FEATURES].astype(float))[:, 1]
    np.testing.assert_array_equal(test.scores[fitted.best], scores)
    summary = decision_summary(test, thresholds, fitted.best, 0.05, "cost basis")
    assert f"{row['alerts_per_day']:,.1f} alerts a day over 3 test days" in summary
    assert f"{thresholds.loc[fitted.best, 'threshold']:.4f}" in summary
    table = first_analysis_table(test)
    assert list(table.columns) == ["false negatives", "false positives", "accuracy"]


def test_hand_over_files_match_the_contract(tmp_path):
    frame = timed_transactions()
    split, cv, thresholds, _, fitted, test = modeling_run(frame)
    settings = step_settings(frame, split, cv, 0.05, 300000, 10000, 0.8)
    tracked = {"runs": {c: f"run-{c}" for c in fitted.pipelines}, "tracking_uri": "sqlite:///x",
               "best_run_id": f"run-{fitted.best}", "experiment_name": "e",
               "experiment_id": "1"}
    results = save_modeling_results(frame, split, cv, fitted, thresholds, test, tracked,
                                             settings, tmp_path)
    folder = tmp_path / "artifacts"
    labels = pd.read_parquet(folder / "split.parquet")
    assert labels["split"].tolist() == split_labels(len(frame), split)["split"].tolist()
    predictions = pd.read_parquet(folder / "test_predictions.parquet")
    assert list(predictions.columns) == ["row", "fraud", "probability"]
    assert predictions["row"].tolist() == split.test_rows.tolist()
    np.testing.assert_array_equal(predictions["probability"], test.scores[fitted.best])
    comparison = pd.read_csv(folder / "model_comparison.csv", index_col=0)
    assert set(comparison.index) == set(fitted.pipelines)
    assert {"cv_average_precision", "average_precision", "recall_at_budget"} <= set(comparison)
    saved = json.loads((folder / "results" / "modeling.json").read_text())
    assert saved["model_uri"] == f"runs:/run-{fitted.best}/model"
    assert saved["costs"]["missed_fraud_cost"] == "amount"
    assert saved["split"]["kind"] == "time" and saved["test_rows"] == len(split.test_rows)
    assert {"accuracy", "precision", "recall", "f1", "roc_auc", "average_precision",
            "precision_at_budget", "recall_at_budget", "tn", "fp", "fn", "tp"} <= set(
        saved["test_metrics"])
    assert saved == json.loads(json.dumps(results))


def test_first_procedure_tests_on_synthetic_frauds_and_the_honest_one_does_not():
    frame = timed_transactions(rows=1500)
    split = split_transactions(frame, "auto", test_days=3)
    table = first_analysis_rerun(frame, split, rows=1000, seed=0).reset_index()
    first = table[table["procedure"].str.startswith("first")]
    honest = table[table["procedure"].str.startswith("honest")]
    assert (first["synthetic frauds in test"] > 0).all()
    assert first["fraud share in test"].between(0.4, 0.6).all()
    assert honest["fraud share in test"].tolist() == pytest.approx(
        [frame["fraud"].iloc[split.test_rows].mean()] * 2, abs=1e-4)
    assert (honest["synthetic frauds in test"] == 0).all()
    assert (honest["test rows"] == len(split.test_rows)).all()
    assert set(table["model"]) == {"logistic_regression", "decision_tree"}
    words = first_analysis_gap(table.set_index(["model", "procedure"]))
    tree = table[table["model"] == "decision_tree"].set_index("procedure")["recall"]
    assert (f"decision_tree: recall {tree.iloc[0]:.1%} (first procedure) vs "
            f"{tree.iloc[1]:.1%} (honest)") in words


def test_permutation_importance_ranks_the_input_fraud_depends_on(tmp_path):
    frame = timed_transactions(rows=1500)
    split, cv, thresholds, _, fitted, test = modeling_run(frame, ["decision_tree"])
    table = permutation_importance_table(fitted.pipelines["decision_tree"], frame, split,
                                                  rows=200, seed=0)
    assert table["feature"].iloc[0] in {"ratio_to_median_purchase_price", "online_order"}
    assert len(table) == 7


def test_real_sample_is_nearly_separable(real_sample):
    frame, _ = load_file(real_sample)
    split = split_transactions(frame, "auto", test_share=0.2, seed=42)
    cv = cross_validate_candidates(
        frame, split, ["decision_tree", "hist_gradient_boosting"],
        grids={"decision_tree": {"max_depth": [10]}}, cv_folds=2, cv_sample_rows=10000)
    thresholds, _ = choose_thresholds(frame, cv, 300000, 10000, 0.9)
    fitted = fit_final_models(frame, split, cv)
    test = evaluate_on_test(frame, split, fitted, cv, thresholds, 0.01, 300000, 10000)
    assert split.kind == "stratified" and test.days is None
    assert test.comparison.loc[fitted.best, "average_precision"] > 0.99


def usd_validation(rows: int = 400, seed: int = 0):
    """Purchases in US dollars (median about 33) with fair out-of-fold scores, as choose_thresholds reads them."""
    from types import SimpleNamespace

    rng = np.random.default_rng(seed)
    fraud = (rng.random(rows) < 0.1).astype(int)
    frame = pd.DataFrame({"fraud": fraud, "amount": np.round(rng.lognormal(3.5, 0.6, rows), 2)})
    score = np.clip(0.6 * fraud + rng.normal(0.2, 0.15, rows), 0, 1)
    validation = pd.DataFrame({"row": np.arange(rows), "fraud": fraud, "score": score})
    return frame, SimpleNamespace(validation={"decision_tree": validation})


def test_review_cost_in_another_currency_than_the_amounts_is_warned():
    frame, cv = usd_validation()
    assert 25 < frame.loc[frame.fraud == 1, "amount"].median() < 45
    thresholds, _ = choose_thresholds(frame, cv, 300000, 10000, 0.9)  # review in COP
    assert thresholds.loc["decision_tree", "validation_alerts"] == 0
    warning = threshold_warning(thresholds, "decision_tree", frame, 300000, 10000, "COP")
    median = frame.loc[frame.fraud == 1, "amount"].median()
    assert warning.startswith("Warning: the least expected-cost threshold of decision_tree "
                              "(1.0000) sends no purchase to review")
    assert f"a review costs 10,000 COP and a missed fraud costs its amount (median fraud amount " \
           f"{median:,.2f})" in warning and "modeling.cost_review" in warning
    assert threshold_check(thresholds, "decision_tree", frame, 300000, 10000,
                                    "COP") == warning


def test_review_cost_in_the_amounts_currency_gives_a_useful_threshold():
    frame, cv = usd_validation()
    thresholds, _ = choose_thresholds(frame, cv, 300000, 3, 0.9)
    assert threshold_warning(thresholds, "decision_tree", frame, 300000, 3, "USD") is None
    alerts = int(thresholds.loc["decision_tree", "validation_alerts"])
    assert 0 < alerts < 400
    assert f"sends {alerts:,} of the 400 validation purchases" in threshold_check(
        thresholds, "decision_tree", frame, 300000, 3, "USD")


def test_a_review_cost_near_zero_reviewing_everything_is_warned():
    frame, cv = usd_validation()
    lowest = cv.validation["decision_tree"]["score"].idxmin()
    frame.loc[lowest, "fraud"] = cv.validation["decision_tree"].loc[lowest, "fraud"] = 1
    thresholds, _ = choose_thresholds(frame, cv, 300000, 1e-6, 0.9)
    warning = threshold_warning(thresholds, "decision_tree", frame, 300000, 1e-6, "USD")
    assert "sends every purchase to review" in warning


def test_threshold_metrics_equal_scikit_learns_including_empty_alerts():
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

    from cardfraud.modeling.metrics import classification_metrics

    rng = np.random.default_rng(5)
    fraud = rng.integers(0, 2, 400)
    scores = rng.random(400)
    for threshold in (0.0, 0.3, 0.77, 1.5):  # 1.5 flags nothing: precision 0, not an error
        found = classification_metrics(fraud, scores, threshold)
        flagged = (scores >= threshold).astype(int)
        assert found["accuracy"] == pytest.approx(accuracy_score(fraud, flagged), abs=1e-12)
        for name, metric in (("precision", precision_score), ("recall", recall_score),
                             ("f1", f1_score)):
            assert found[name] == pytest.approx(metric(fraud, flagged, zero_division=0),
                                                abs=1e-12)
        assert found["tp"] + found["fn"] == fraud.sum()
        assert found["tp"] + found["fp"] == flagged.sum()
