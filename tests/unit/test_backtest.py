"""The weekly backtest: window boundaries, the label-delay gap, short data, no timestamps."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import make_timed_transactions

from cardfraud.modeling.backtest import (
    backtest_results,
    backtest_table,
    run_backtest,
    training_sample,
    weekly_windows,
    window_rows,
)
from cardfraud.modeling.page import evaluate_candidates


def hourly_stamps(first: str, days: int) -> pd.Series:
    """One purchase an hour from ``first`` for ``days`` days."""
    return pd.Series(pd.date_range(first, periods=24 * days, freq="h"))


def test_windows_are_the_latest_weeks_with_the_delay_before_each():
    windows = weekly_windows(hourly_stamps("2024-01-01", 31), weeks=2, label_delay_days=7)
    assert windows["test_start"].tolist() == [pd.Timestamp("2024-01-18"),
                                              pd.Timestamp("2024-01-25")]
    assert windows["test_end"].tolist() == [pd.Timestamp("2024-01-25"),
                                            pd.Timestamp("2024-02-01")]
    assert windows["train_end"].tolist() == [pd.Timestamp("2024-01-11"),
                                             pd.Timestamp("2024-01-18")]


@pytest.mark.parametrize("days, delay, fit", [(31, 7, 2), (20, 7, 0), (21, 7, 1), (21, 0, 2),
                                              (90, 7, 6)])
def test_short_data_gives_the_windows_that_fit(days, delay, fit):
    # a window needs 7 test days, the delay and at least 7 days of training before it
    windows = weekly_windows(hourly_stamps("2024-03-01", days), weeks=6, label_delay_days=delay)
    assert len(windows) == fit


def test_no_training_row_in_the_delay_and_every_test_row_after_training():
    stamps = hourly_stamps("2024-01-01", 31).to_numpy()
    for _, window in weekly_windows(pd.Series(stamps), 2, 5).iterrows():
        train, test = window_rows(stamps, window)
        assert stamps[train].max() < window["test_start"] - pd.Timedelta(days=5)
        assert stamps[train].max() >= window["test_start"] - pd.Timedelta(days=5, hours=1)
        assert stamps[test].min() == window["test_start"]
        assert stamps[test].max() < window["test_end"]
        assert len(test) == 7 * 24
        assert stamps[test].min() > stamps[train].max()


def test_training_sample_keeps_every_fraud_up_to_the_cap():
    fraud = np.zeros(1000, dtype=int)
    fraud[::50] = 1  # 20 frauds
    positions = np.arange(1000)
    kept = training_sample(fraud, positions, cap=100, seed=0)
    assert len(kept) == 100 and fraud[kept].sum() == 20
    assert np.all(np.diff(kept) > 0)  # time order kept
    few = training_sample(fraud, positions, cap=10, seed=0)  # 20 frauds > half the cap
    assert len(few) == 10 and fraud[few].sum() == 5
    assert fraud[training_sample(fraud, positions, cap=40, seed=0)].sum() == 20
    assert len(training_sample(fraud, positions, cap=None, seed=0)) == 1000


def timed_cards(rows: int = 3000, days: int = 35) -> pd.DataFrame:
    """Timed purchases of 150 cards over ``days`` days."""
    frame = make_timed_transactions(rows, seed=1, days=days)
    frame["card_id"] = np.random.default_rng(1).integers(0, 150, rows)
    return frame


@pytest.fixture(scope="module")
def evaluated():
    frame = timed_cards()
    evaluation = evaluate_candidates(frame, seed=0, candidates=["logistic_regression",
                                                                "decision_tree"],
                                     test_days=7, cv_folds=3, cv_sample_rows=None,
                                     alert_budget=0.05)
    return frame, evaluation


def test_backtest_scores_each_window_with_the_chosen_procedure(evaluated):
    frame, evaluation = evaluated
    backtest = run_backtest(frame, evaluation, weeks=3, label_delay_days=7, train_rows=800,
                            alert_budget=0.05, k=4, seed=0)
    windows = backtest.windows
    assert backtest.ran and len(windows) == 3
    assert windows["period"].tolist() == ["training", "training", "held-out test"]
    assert (windows["train_rows"] <= 800).all()
    for measure in ("average_precision", "roc_auc", "recall_at_budget", "card_precision_at_k"):
        assert windows[measure].between(0, 1).all()
    assert backtest.summary.loc["average_precision", "mean"] == pytest.approx(
        windows["average_precision"].mean())
    assert backtest.summary.loc["average_precision", "std"] == pytest.approx(
        windows["average_precision"].std(ddof=1))
    assert backtest.settings["candidate"] == evaluation.cv.best_candidate
    assert "3 weekly windows" in backtest.note and "7-day gap" in backtest.note
    saved = backtest_results(backtest)
    assert saved["windows"][0]["test_start"] == f"{windows['test_start'].iloc[0]:%Y-%m-%d}"
    assert set(saved["summary"]) >= {"average_precision", "recall_at_budget"}
    assert list(backtest_table(backtest).index[-2:]) == ["mean", "std"]
    from cardfraud.report.table_language import frame_in_language
    from cardfraud.report.translate import in_language

    with in_language("es"):  # the Spanish page: plain Spanish headers, Colombian numbers and dates
        spanish = frame_in_language(backtest_table(backtest))  # as a cell's result shows it
    assert list(spanish.columns[:2]) == ["primer día de prueba", "último día de prueba"]
    mean = backtest.summary.loc["average_precision", "mean"]
    assert list(spanish.index[-2:]) == ["media", "desv. estándar"]
    assert spanish.loc["media", "PR-AUC"] == f"{mean:.4f}".replace(".", ",")
    assert " de 2024" in spanish["primer día de prueba"].iloc[0]


def test_the_page_says_how_many_windows_fit_on_short_data(evaluated):
    frame, evaluation = evaluated
    backtest = run_backtest(frame, evaluation, weeks=6, label_delay_days=7, train_rows=None)
    assert len(backtest.windows) == 3  # 35 days: 7 of training, 7 of delay, 3 weeks
    assert "Only 3 of the 6 weekly windows asked for fit: the data covers 35 days" in \
        backtest.note


def test_without_timestamps_the_backtest_is_skipped_and_says_why(evaluated):
    frame, evaluation = evaluated
    backtest = run_backtest(frame.drop(columns="timestamp"), evaluation, weeks=6)
    assert not backtest.ran and "no timestamps" in backtest.note
    assert backtest_results(backtest)["ran"] is False
    off = run_backtest(frame, evaluation, weeks=0)
    assert not off.ran and "backtest_weeks = 0" in off.note


def test_the_modeling_results_carry_backtest_intervals_and_card_precision(evaluated, tmp_path):
    from cardfraud.modeling.bootstrap import test_period_intervals
    from cardfraud.modeling.metrics import comparison_table
    from cardfraud.modeling.page import over_time_results
    from cardfraud.modeling.results import handover_table, save_modeling_results, step_settings

    frame, found = evaluated
    backtest = run_backtest(frame, found, weeks=2, train_rows=None, alert_budget=0.05,
                            k=found.test.cards_reviewed_per_day)
    intervals = test_period_intervals(frame, found, resamples=100, seed=0)
    tracked = {"runs": {c: f"run-{c}" for c in found.fitted.pipelines}, "best_run_id": "run-x",
               "tracking_uri": "sqlite:///x", "experiment_name": "e", "experiment_id": "1"}
    settings = step_settings(frame, found.split, found.cv, 0.05, 300000, 10000, 0.9)
    results = save_modeling_results(frame, found.split, found.cv, found.fitted,
                                    found.thresholds, found.test, tracked, settings, tmp_path,
                                    found.feature_sets,
                                    over_time_results(frame, found, backtest, intervals))
    saved = json.loads((tmp_path / "artifacts" / "results" / "modeling.json").read_text())
    assert saved == json.loads(json.dumps(results))
    k = round(0.05 * len(frame) / 35)
    assert saved["card_precision"]["k"] == k == found.test.cards_reviewed_per_day
    assert 0 <= saved["test_metrics"]["card_precision_at_k"] <= 1
    assert "card_precision_at_k" in comparison_table(found.test)
    assert saved["backtest"]["ran"] and len(saved["backtest"]["windows"]) == 2
    assert saved["backtest"]["label_delay_days"] == 7
    chosen = saved["bootstrap"]["candidates"][found.fitted.best]
    assert chosen["average_precision"]["estimate"] == pytest.approx(
        saved["test_metrics"]["average_precision"])
    assert chosen["recall"]["estimate"] == pytest.approx(saved["test_metrics"]["recall"])
    assert saved["bootstrap"]["unit"] == "cards" and saved["bootstrap"]["clusters"] <= 150
    shown = handover_table(saved).loc["test PR-AUC (average_precision)", "value"]
    assert shown == (f"{saved['test_metrics']['average_precision']:.4f} (95 % CI "
                     f"{chosen['average_precision']['low']:.3f}-"
                     f"{chosen['average_precision']['high']:.3f})")


def test_without_card_ids_card_precision_is_absent_and_purchases_are_resampled():
    from cardfraud.modeling.bootstrap import test_period_intervals
    from cardfraud.modeling.metrics import comparison_table

    frame = timed_cards().drop(columns="card_id")
    found = evaluate_candidates(frame, seed=0, candidates=["logistic_regression"], test_days=7,
                                cv_sample_rows=None, alert_budget=0.05)
    assert found.test.cards_reviewed_per_day is None
    assert "card_precision_at_k" not in comparison_table(found.test)
    assert test_period_intervals(frame, found, resamples=50)["unit"] == "purchases"
