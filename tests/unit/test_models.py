"""Split, candidate pipelines, cross-validated selection and refit on tiny frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import make_timed_transactions, make_transactions
from imblearn.over_sampling import SMOTENC
from sklearn.pipeline import Pipeline

from cardfraud.data.schema import FEATURES
from cardfraud.modeling.candidates import (
    cross_validate_candidates,
    cv_table,
    expand_grid,
    fit_final_models,
    make_pipeline,
    prediction_pipeline,
    refit_rows_of,
)
from cardfraud.modeling.holdout import ModelingError, split_labels, split_transactions
from cardfraud.modeling.metrics import evaluate_on_test
from cardfraud.modeling.thresholds import choose_thresholds


def timed_transactions(rows: int = 600, seed: int = 0, days: int = 10) -> pd.DataFrame:
    """Timestamped purchases with amounts (600 by default)."""
    return make_timed_transactions(rows, seed, days)


def test_time_split_tests_on_the_latest_days():
    frame = timed_transactions(days=10)
    split = split_transactions(frame, "auto", test_days=3)
    stamps = frame["timestamp"]
    assert split.kind == "time"
    assert stamps.iloc[split.train_rows].max() < pd.Timestamp("2024-05-08")
    assert stamps.iloc[split.test_rows].min() >= pd.Timestamp("2024-05-08")
    assert len(split.train_rows) + len(split.test_rows) == len(frame)
    assert split.description["test_period"] == ["2024-05-08", "2024-05-10"]
    assert split.description["test_days"] == 3


def test_time_split_without_test_days_cuts_the_latest_share_at_a_day_boundary():
    frame = timed_transactions(rows=1000, days=10)
    split = split_transactions(frame, "time", test_days=None, test_share=0.2)
    test_stamps = frame["timestamp"].iloc[split.test_rows]
    assert test_stamps.min() == test_stamps.min().floor("D") or \
        test_stamps.min().floor("D") > frame["timestamp"].iloc[split.train_rows].max().floor("D")
    assert 0.2 <= len(split.test_rows) / len(frame) <= 0.35


def test_stratified_split_keeps_the_fraud_rate_and_share():
    frame = make_transactions(1000, seed=3)
    split = split_transactions(frame, "auto", test_share=0.25, seed=1)
    fraud = frame["fraud"].to_numpy()
    assert split.kind == "stratified" and len(split.test_rows) == 250
    assert abs(fraud[split.test_rows].mean() - fraud.mean()) < 0.01
    assert not set(split.train_rows) & set(split.test_rows)


@pytest.mark.parametrize("kwargs, message", [
    ({"split": "time"}, "needs a 'timestamp' column"),
    ({"split": "random"}, "split must be one of auto, time, stratified"),
    ({"test_share": 1.5}, "test_share must be between 0 and 1"),
])
def test_bad_split_settings_get_one_line_messages(kwargs, message):
    with pytest.raises(ModelingError, match=message):
        split_transactions(make_transactions(200), **kwargs)


def test_test_days_covering_everything_is_refused():
    with pytest.raises(ModelingError, match="test_days=30 leaves no training rows"):
        split_transactions(timed_transactions(days=10), "time", test_days=30)


def test_split_labels_mark_every_row_in_order():
    frame = timed_transactions(days=10)
    split = split_transactions(frame, "auto", test_days=2)
    labels = split_labels(len(frame), split)
    assert list(labels.columns) == ["split"] and len(labels) == len(frame)
    assert (labels["split"].iloc[split.test_rows] == "test").all()
    assert (labels["split"] == "train").sum() == len(split.train_rows)


@pytest.mark.parametrize("resampling, sampler", [("smote", "SMOTENC"), ("undersample",
                                                 "RandomUnderSampler"), ("none", None)])
def test_pipeline_resamples_while_fitting_and_prediction_pipeline_drops_the_sampler(
        resampling, sampler):
    frame = make_transactions(300)
    pipeline = make_pipeline("logistic_regression", resampling, seed=1)
    assert (type(pipeline.steps[0][1]).__name__ == sampler) if sampler else \
        pipeline.steps[0][0] == "log"
    pipeline.fit(frame[FEATURES].astype(float), frame["fraud"])
    predictor = prediction_pipeline(pipeline)
    assert isinstance(predictor, Pipeline)
    assert [name for name, _ in predictor.steps] == ["log", "scale", "classify"]
    inputs = frame[FEATURES].astype(float)
    # without the sampler, the served pipeline scores exactly as the fitted one
    np.testing.assert_array_equal(predictor.predict_proba(inputs), pipeline.predict_proba(inputs))
    assert predictor.named_steps["classify"] is pipeline.named_steps["classify"]


def test_class_weight_balances_the_classifier_and_grid_settings_apply():
    pipeline = make_pipeline("random_forest", "class_weight", settings={"max_depth": 4})
    classifier = pipeline.named_steps["classify"]
    assert classifier.class_weight == "balanced" and classifier.max_depth == 4
    assert classifier.n_estimators <= 100 and classifier.max_samples is not None


@pytest.mark.parametrize("call, message", [
    (lambda: make_pipeline("svm"), "unknown candidate 'svm'"),
    (lambda: make_pipeline("decision_tree", "oversample"), "resampling must be one of"),
    (lambda: make_pipeline("decision_tree", settings={"depth": 3}), "grid for decision_tree"),
])
def test_bad_candidate_settings_are_named(call, message):
    with pytest.raises(ModelingError, match=message):
        call()


def test_expand_grid_lists_every_combination():
    assert expand_grid({"a": [1, 2], "b": [3]}) == [{"a": 1, "b": 3}, {"a": 2, "b": 3}]
    assert expand_grid(None) == [{}]
    assert expand_grid({"a": 5}) == [{"a": 5}]


def test_the_test_rows_and_validation_folds_never_reach_the_sampler(monkeypatch):
    frame = timed_transactions(rows=800, days=10)
    frame["distance_from_home"] = np.arange(len(frame)) + 0.5  # a row's identity
    seen = []
    original = SMOTENC.fit_resample

    def spy(self, X, y, **kwargs):
        seen.append(set(np.asarray(X["distance_from_home"] - 0.5, dtype=int)))
        return original(self, X, y, **kwargs)

    monkeypatch.setattr(SMOTENC, "fit_resample", spy)
    split = split_transactions(frame, "auto", test_days=2)
    cv = cross_validate_candidates(frame, split, ["decision_tree"], resampling="smote",
                                          cv_folds=3, seed=0)
    validated = set(cv.validation["decision_tree"]["row"])
    fitted = fit_final_models(frame, split, cv)
    thresholds, _ = choose_thresholds(frame, cv, 1000, 10, 0.8)
    evaluate_on_test(frame, split, fitted, cv, thresholds, 0.05, 1000, 10)
    test_rows, train_rows = set(split.test_rows), set(split.train_rows)
    assert len(seen) == 4  # three folds and the final fit, nothing at prediction time
    assert all(not rows & test_rows for rows in seen)
    for rows in seen[:3]:  # each fold's sampler sees only rows earlier than its validation part
        assert rows < train_rows and max(rows) < min(validated & (train_rows - rows))
    assert seen[3] == train_rows


def test_time_ordered_folds_validate_on_later_rows_only():
    frame = timed_transactions(rows=900, days=10)
    split = split_transactions(frame, "auto", test_days=2)
    cv = cross_validate_candidates(frame, split, ["decision_tree"], cv_folds=3)
    validated = cv.validation["decision_tree"]["row"].to_numpy()
    assert cv.time_ordered
    earliest = split.train_rows[: len(split.train_rows) // 4]
    assert not set(earliest) & set(validated)
    assert set(validated) <= set(split.train_rows)


def test_selection_prefers_trees_on_an_interaction_a_linear_model_cannot_see():
    rng = np.random.default_rng(5)
    frame = make_transactions(1200, seed=5)
    xor = frame["online_order"] ^ frame["used_chip"]
    frame["fraud"] = ((xor == 1) & (rng.random(1200) < 0.5)).astype(int)
    split = split_transactions(frame, "stratified", test_share=0.25)
    cv = cross_validate_candidates(
        frame, split, ["logistic_regression", "decision_tree"],
        grids={"decision_tree": {"max_depth": [1, 4]}}, cv_folds=3)
    assert cv.best_candidate == "decision_tree"
    assert cv.best_settings["decision_tree"] == {"max_depth": 4}
    table = cv_table(cv)
    assert table.loc[table["kept"] == "yes, best", "settings"].tolist() == ["max_depth=4"]
    assert len(table) == 3


def test_final_fit_uses_every_training_row_for_the_winner_only():
    frame = make_transactions(1000, seed=2)
    split = split_transactions(frame, "stratified", test_share=0.2)
    cv = cross_validate_candidates(frame, split, ["logistic_regression", "decision_tree"],
                                          cv_sample_rows=300, cv_folds=3)
    fitted = fit_final_models(frame, split, cv)
    loser = next(c for c in fitted.pipelines if c != fitted.best)
    assert fitted.fit_rows == {fitted.best: 800, loser: 300}
    assert len(cv.sample_rows) == 300
    assert abs(frame["fraud"].to_numpy()[cv.sample_rows].mean() - frame["fraud"].mean()) < 0.02
    assert all(isinstance(p, Pipeline) for p in fitted.pipelines.values())


def test_the_winner_is_refit_on_the_latest_training_purchases_up_to_refit_rows():
    frame = timed_transactions(rows=800, days=10)
    split = split_transactions(frame, "auto", test_days=2)
    latest = refit_rows_of(frame, split, 200, seed=0)
    stamps = pd.to_datetime(frame["timestamp"]).to_numpy()
    earlier = np.setdiff1d(split.train_rows, latest)
    assert len(latest) == 200 and set(latest) <= set(split.train_rows)
    assert stamps[earlier].max() <= stamps[latest].min()  # nothing older is kept over newer
    assert np.all(np.diff(stamps[latest]) >= np.timedelta64(0))  # still in time order
    assert refit_rows_of(frame, split, None, 0) is split.train_rows
    assert refit_rows_of(frame, split, 10**6, 0) is split.train_rows
    cv = cross_validate_candidates(frame, split, ["logistic_regression", "decision_tree"],
                                   cv_folds=3, seed=0)
    fitted = fit_final_models(frame, split, cv, refit_rows=200)
    assert fitted.fit_rows[fitted.best] == 200


def test_without_timestamps_the_refit_sample_keeps_the_fraud_rate():
    frame = make_transactions(2000, seed=3)
    split = split_transactions(frame, "stratified", test_share=0.2)
    sample = refit_rows_of(frame, split, 500, seed=0)
    fraud = frame["fraud"].to_numpy()
    assert len(sample) == 500 and np.all(np.diff(sample) > 0)
    assert abs(fraud[sample].mean() - fraud[split.train_rows].mean()) < 0.005


def test_a_fold_without_fraud_is_explained():
    frame = timed_transactions(rows=300, days=10)
    frame["fraud"] = 0
    frame.loc[frame.index[-40:], "fraud"] = 1  # frauds only in the latest days
    split = split_transactions(frame, "stratified", test_share=0.2)
    split.kind = "time"
    with pytest.raises(ModelingError, match="cross-validation fold 1 .* has no fraud"):
        cross_validate_candidates(frame, split, ["decision_tree"], cv_folds=3)


def test_accuracy_is_refused_as_selection_metric():
    frame = make_transactions(300)
    split = split_transactions(frame)
    with pytest.raises(ModelingError, match="selection_metric must be one of average_precision"):
        cross_validate_candidates(frame, split, ["decision_tree"],
                                         selection_metric="accuracy")


def test_smote_without_enough_frauds_in_a_fold_is_explained():
    frame = timed_transactions(rows=300, days=10)
    frame["fraud"] = 0
    frame.loc[frame.index[[10, 20, 70, 80, 130, 140, 190, 200, 285, 295]], "fraud"] = 1
    split = split_transactions(frame, "time", test_days=2)
    with pytest.raises(ModelingError, match="SMOTE needs at least 6 frauds in the training "
                                            "part of cross-validation fold 1 but it has 2"):
        cross_validate_candidates(frame, split, ["decision_tree"], resampling="smote")


def one_fraud_in(frame: pd.DataFrame, row: int) -> pd.DataFrame:
    """The frame with a single fraud, at ``row``."""
    return frame.assign(fraud=0).pipe(lambda f: f.assign(fraud=(f.index == row).astype(int)))


@pytest.mark.parametrize("split,expected", [
    ("stratified", "modeling: cross-validation with cv_folds=3 needs at least 3 frauds in the "
                   "training rows and 1 in the test set; the data has 1; use more data or fewer "
                   "folds (modeling.cv_folds, at least 2)"),
    ("time", "modeling: cross-validation with cv_folds=3 needs at least 4 frauds in the "
             "training rows and 1 in the test set; the data has 1"),
])
def test_one_fraud_in_20000_rows_says_how_many_frauds_cross_validation_needs(split, expected):
    frame = one_fraud_in(timed_transactions(rows=20_000, days=30), 100)
    with pytest.raises(ModelingError) as caught:
        split_transactions(frame, split, test_days=7, cv_folds=3)
    assert str(caught.value).startswith(expected)


def test_too_few_frauds_before_the_time_cut_are_counted():
    frame = timed_transactions(rows=2000, days=20).assign(fraud=0)
    frame.loc[frame.index[[5, 1990, 1995, 1998, 1999]], "fraud"] = 1  # one before the test days
    with pytest.raises(ModelingError,
                       match=r"needs at least 4 frauds in the training rows; the time split "
                             r"leaves the training rows \(1,\d{3}\) with 1;"):
        split_transactions(frame, "time", test_days=3, cv_folds=3)


def test_a_cross_validation_sample_too_small_for_the_frauds_is_explained():
    frame = make_transactions(4000, seed=1).assign(fraud=0)
    frame.loc[frame.index[::400], "fraud"] = 1  # 10 frauds
    split = split_transactions(frame, "stratified", test_share=0.2, cv_folds=3)
    with pytest.raises(ModelingError, match=r"needs at least 5 frauds in the cross-validation "
                                            r"sample \(modeling.cv_sample_rows=500\); the sample "
                                            r"has 1"):
        cross_validate_candidates(frame, split, ["decision_tree"], cv_folds=5,
                                         cv_sample_rows=500)
