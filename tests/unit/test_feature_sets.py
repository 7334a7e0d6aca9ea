"""Two feature sets: every candidate on the base inputs and on base + the card's history; the
chosen model's feature set and inputs reach the registry, its scores and monitoring."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from conftest import make_timed_transactions, make_transactions
from helpers import MODEL, registry_step, store_client

from cardfraud.data.schema import FEATURES, compact_dtypes
from cardfraud.modeling.candidates import cv_table
from cardfraud.modeling.feature_sets import (
    BASE,
    WITH_HISTORY,
    candidate_of,
    feature_set_models,
    feature_set_of,
    feature_sets_for,
    history_lift,
    history_unavailable_reason,
)
from cardfraud.modeling.history import HISTORY_FEATURES, card_history_features
from cardfraud.modeling.metrics import comparison_table
from cardfraud.modeling.page import evaluate_candidates, run_modeling
from cardfraud.monitoring.champion import champion_score_drift
from cardfraud.monitoring.window import current_history, load_monitoring_window, monitoring_window
from cardfraud.runner.artifacts import artifacts_dir, save_step_results, transactions_path
from cardfraud.runner.step_inputs import StepInputsMissing
from cardfraud.serving import scorer
from cardfraud.serving.registration import held_out_test_rows

# run_modeling checked for its feature sets: no weekly backtest nor bootstrap intervals
QUICK = {"cv_folds": 2, "importance_rows": 200, "first_analysis_rows": 300, "backtest_weeks": 0,
         "bootstrap_resamples": 0}


def carded_transactions(rows: int = 900, seed: int = 0, cards: int = 60) -> pd.DataFrame:
    """Timed purchases with cards and merchants; frauds come two minutes after the card's
    previous purchase (a burst only the card's history shows)."""
    frame = make_timed_transactions(rows, seed, days=30)
    rng = np.random.default_rng(seed)
    frame["card_id"] = rng.integers(0, cards, rows).astype(str)
    frame["merchant_id"] = rng.integers(0, 40, rows).astype(str)
    previous = frame.groupby("card_id")["timestamp"].shift(1)
    burst = previous.notna().to_numpy() & (rng.random(rows) < 0.08)
    frame.loc[burst, "timestamp"] = previous[burst] + pd.Timedelta(minutes=2)
    frame["fraud"] = ((burst & (rng.random(rows) < 0.9)) | (rng.random(rows) < 0.01)).astype(int)
    return frame.sort_values("timestamp", kind="stable").reset_index(drop=True)


def test_a_frame_with_cards_and_times_gives_both_sets_and_keys():
    frame = carded_transactions()
    sets = feature_sets_for(frame, label_delay_days=7)
    assert list(sets.inputs) == [BASE, WITH_HISTORY] and sets.reason is None
    assert sets.inputs[BASE] == FEATURES
    assert sets.inputs[WITH_HISTORY] == FEATURES + [c for c in HISTORY_FEATURES
                                                    if c != "speed_from_previous_kmh"]
    expected = card_history_features(frame, 7)[sets.inputs[WITH_HISTORY][7:]]
    pd.testing.assert_frame_equal(sets.history, expected)
    models = feature_set_models(["decision_tree", "hist_gradient_boosting"], sets.inputs, FEATURES)
    assert list(models) == ["decision_tree", "decision_tree+history", "hist_gradient_boosting",
                            "hist_gradient_boosting+history"]
    assert models["decision_tree+history"] == ("decision_tree", sets.inputs[WITH_HISTORY])
    assert [candidate_of(k) for k in models][1] == "decision_tree"
    assert [feature_set_of(k) for k in models] == [BASE, WITH_HISTORY] * 2


def test_the_public_table_gives_only_the_base_set_and_says_why():
    frame = make_transactions(300)
    sets = feature_sets_for(frame)
    assert sets.inputs == {BASE: FEATURES} and sets.history is None
    assert sets.reason == ("Only the base inputs are used: the purchases have no card_id and "
                           "timestamp, so no card's earlier purchases (its history) can be "
                           "followed.")
    assert "no card_id," in history_unavailable_reason(make_timed_transactions(50))
    carded = carded_transactions(50)
    carded.loc[[3, 7], "card_id"] = None
    assert history_unavailable_reason(carded) == (
        "Only the base inputs are used: 2 purchases have no card_id, so the card's earlier "
        "purchases (its history) cannot be followed for every purchase.")
    assert list(feature_sets_for(carded).inputs) == [BASE]
    assert history_lift(pd.DataFrame(), "decision_tree", sets.reason) == sets.reason


def test_the_cv_thresholds_and_comparison_tables_carry_the_feature_set():
    evaluation = evaluate_candidates(carded_transactions(), candidates=["decision_tree"],
                                     grids={"decision_tree": {"max_depth": [3, 5]}},
                                     cv_folds=2, test_days=7)
    keys = ["decision_tree", "decision_tree+history"]
    table = cv_table(evaluation.cv)
    assert table["candidate"].tolist() == [keys[0]] * 2 + [keys[1]] * 2
    assert table["feature_set"].tolist() == [BASE] * 2 + [WITH_HISTORY] * 2
    sets = {keys[0]: BASE, keys[1]: WITH_HISTORY}
    assert evaluation.thresholds["feature_set"].to_dict() == sets
    assert comparison_table(evaluation.test)["feature_set"].to_dict() == sets
    assert evaluation.fitted.inputs[keys[1]] == evaluation.feature_sets.inputs[WITH_HISTORY]
    assert evaluation.cv.best_candidate in keys
    row = evaluation.test.comparison
    lift = history_lift(row, evaluation.fitted.best)
    assert lift.startswith("With the card's history, decision_tree's test PR-AUC ")
    assert f"from {row.loc[keys[0], 'average_precision']:.2f} to " \
           f"{row.loc[keys[1], 'average_precision']:.2f}" in lift
    assert f"from {row.loc[keys[0], 'recall_at_budget']:.1%} to " \
           f"{row.loc[keys[1], 'recall_at_budget']:.1%}" in lift


def test_without_cards_only_the_base_set_is_cross_validated():
    evaluation = evaluate_candidates(make_transactions(600), candidates=["decision_tree"],
                                     grids={"decision_tree": {"max_depth": [3]}}, cv_folds=2)
    assert evaluation.cv.table["feature_set"].tolist() == [BASE]
    assert list(evaluation.test.comparison.index) == ["decision_tree"]
    assert evaluation.feature_sets.reason.startswith("Only the base inputs are used")


@pytest.fixture
def history_champion(output_dir):
    """A modeling step whose chosen model uses the card's history, in ``output_dir``."""
    frame = compact_dtypes(carded_transactions(1500, seed=3))
    frame.to_parquet(transactions_path(output_dir))
    save_step_results("load", {"data": {"source": "simulated", "rows": len(frame),
                                        "fingerprint": "sha256:history-test"}}, output_dir)
    page = run_modeling(frame, output_dir, tracking_uri=os.environ["MLFLOW_TRACKING_URI"],
                        candidates=["logistic_regression"], test_days=7,
                        grids={"logistic_regression": {"C": [1.0]}}, **QUICK)
    assert page.fitted.best == "logistic_regression+history", page.test.comparison
    return page


def test_the_registered_history_model_lists_and_uses_its_history_inputs_and_needs_its_file(
        output_dir, history_champion):
    results = history_champion.results
    inputs = history_champion.evaluation.feature_sets.inputs[WITH_HISTORY]
    assert (results["feature_set"], results["model_inputs"]) == (WITH_HISTORY, inputs)
    assert results["feature_sets"] == {BASE: FEATURES, WITH_HISTORY: inputs}
    run = store_client().get_run(results["best_run_id"])
    assert run.data.tags["feature_set"] == WITH_HISTORY and run.data.params["feature_set"] == \
        WITH_HISTORY and run.data.tags["model_inputs"].split(",") == inputs
    comparison = pd.read_csv(artifacts_dir(output_dir) / "model_comparison.csv", index_col=0)
    assert comparison["feature_set"].to_dict() == {"logistic_regression": BASE,
                                                   "logistic_regression+history": WITH_HISTORY}

    registered, decision, _ = registry_step(output_dir)
    version = store_client().get_model_version(MODEL, str(registered.version))
    assert version.tags["feature_set"] == WITH_HISTORY
    assert version.tags["model_inputs"].split(",") == inputs
    assert "with the base+history inputs" in version.description
    champion = scorer.load_champion(MODEL)
    assert champion.inputs == inputs  # the MLflow signature lists base + history columns
    # score --history computes the merchant fraud rate with the delay the model learnt with
    assert champion.model.metadata.metadata["label_delay_days"] == results["label_delay_days"]
    test = held_out_test_rows(output_dir)
    np.testing.assert_allclose(champion.score(test)["probability"],
                               history_champion.test.scores[results["best_model"]], atol=1e-12)
    assert decision.promote

    # the same champion without its history file is refused (one modeling run for both checks)
    (artifacts_dir(output_dir) / "history_features.parquet").unlink()
    with pytest.raises(StepInputsMissing, match=(
            r"^step 'registry' needs artifacts/history_features.parquet \(written by the "
            r"'modeling' step\) for the model's inputs purchases_last_1h, .*run 'modeling' first$")):
        held_out_test_rows(output_dir)


def test_the_history_file_is_empty_on_the_public_table(output_dir):
    frame = make_transactions(600)
    frame.to_parquet(transactions_path(output_dir))
    page = run_modeling(frame, output_dir, tracking_uri=os.environ["MLFLOW_TRACKING_URI"],
                        candidates=["decision_tree"], grids={"decision_tree": {"max_depth": [3]}},
                        **QUICK)
    assert page.results["feature_set"] == BASE and page.results["model_inputs"] == FEATURES
    assert page.results["history_unavailable"].startswith("Only the base inputs are used")
    assert pd.read_parquet(artifacts_dir(output_dir) / "history_features.parquet").empty


def test_a_current_extract_gets_its_cards_history_from_the_earlier_purchases():
    frame = carded_transactions(900)
    whole = card_history_features(frame, 7)
    reference, current = frame.iloc[:700], frame.iloc[700:].reset_index(drop=True)
    found = current_history(current, reference, whole.columns)
    pd.testing.assert_frame_equal(found[list(whole.columns)],
                                  whole.iloc[700:].reset_index(drop=True))
    lacking = current_history(current.drop(columns="card_id"), reference, whole.columns)
    assert not set(whole.columns) & set(lacking.columns)


def test_monitoring_computes_a_current_extract_s_history_from_the_reference(output_dir, tmp_path):
    frame = compact_dtypes(carded_transactions(900))
    whole = card_history_features(frame, 7)
    frame.iloc[:700].to_parquet(transactions_path(output_dir))
    pd.DataFrame({"split": ["train"] * 600 + ["test"] * 100}).to_parquet(
        artifacts_dir(output_dir) / "split.parquet")
    whole.iloc[:700].reset_index(drop=True).to_parquet(
        artifacts_dir(output_dir) / "history_features.parquet")
    save_step_results("modeling", {"label_delay_days": 7.0}, output_dir)
    extract = tmp_path / "current.csv"
    frame.iloc[700:].to_csv(extract, index=False)  # card ids read back as numbers
    window = load_monitoring_window(output_dir, 14, str(extract))
    pd.testing.assert_frame_equal(window.current[list(whole.columns)],
                                  whole.iloc[700:].reset_index(drop=True))
    pd.testing.assert_frame_equal(window.reference[list(whole.columns)], whole.iloc[:600])
    assert window.description["label_delay_days"] == 7.0  # the champion's delay is checked


class HistoryScorer:
    """A champion that needs the card's history."""

    version, threshold, inputs = 4, 0.5, [*FEATURES, "purchases_last_1h"]

    def score(self, features):
        probability = 1 / (1 + np.exp(-features["purchases_last_1h"].to_numpy()))
        return pd.DataFrame({"probability": probability, "decision": probability >= 0.5})


def test_monitoring_says_in_one_line_when_the_current_purchases_lack_the_history():
    frame = carded_transactions(600)
    window = monitoring_window(frame, np.array(["train"] * 400 + ["test"] * 200), 14,
                               current=frame.iloc[400:].drop(columns="card_id"))
    window.reference["purchases_last_1h"] = 0.0
    check = champion_score_drift(HistoryScorer(), window)
    assert not check.available
    assert check.message == ("Champion version 4 uses inputs the current purchases lack "
                             "(purchases_last_1h; the card's history needs card_id and "
                             "timestamp): score drift and performance are skipped.")
    window.current["purchases_last_1h"] = 1.0
    assert champion_score_drift(HistoryScorer(), window).available
