"""The modeling step on a Spark run gives the pandas run's answers: on 20,000 simulated
purchases (fewer than ``train_sample_rows``) the same split, models and thresholds, and test
metrics to 1e-6 from the test period scored on the executors; the hand-over carries the split
rule and a test-predictions folder; a small cap keeps every fraud of the training period."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from cardfraud.engines.spark_session import SparkUnavailable, check_spark_installed

try:
    check_spark_installed()
except SparkUnavailable as missing:
    pytest.skip(str(missing), allow_module_level=True)

from spark_frames import as_loaded_spark_frame, local_spark  # noqa: E402

from cardfraud.data.schema import TARGET  # noqa: E402
from cardfraud.modeling.page import run_modeling  # noqa: E402
from cardfraud.simulator.simulate import simulate  # noqa: E402

pytestmark = pytest.mark.spark  # starts a Spark session: make test, not test-fast

SETTINGS = {"candidates": ["logistic_regression", "hist_gradient_boosting"],
            "grids": {"logistic_regression": {"C": [1.0]},
                      "hist_gradient_boosting": {"max_leaf_nodes": [15]}},
            "cv_folds": 2, "importance_rows": 2000, "first_analysis_rows": 3000,
            "backtest_weeks": 3, "backtest_train_rows": 4000, "bootstrap_resamples": 200,
            "seed": 7}
SAME_EXACTLY = ["best_model", "selection_metric", "threshold_rule", "target_recall", "costs",
                "alert_budget", "resampling", "best_settings", "test_rows", "train_rows",
                "cv_rows", "fit_rows", "split", "candidates", "model_inputs", "feature_set",
                "feature_sets", "history_unavailable", "label_delay_days", "inputs_unknown",
                "card_precision", "experiment_name"]


@pytest.fixture(scope="module")
def purchases() -> pd.DataFrame:
    return simulate(rows=20_000, seed=3)


@pytest.fixture(scope="module")
def both_runs(purchases, tmp_path_factory):
    """The modeling page of a pandas run and of a Spark run on the same purchases."""
    folder = tmp_path_factory.mktemp("modeling")
    store = f"sqlite:///{folder}/mlflow.db"
    pandas_page = run_modeling(purchases, folder / "pandas", tracking_uri=store, **SETTINGS)
    spark = local_spark()
    spark.sparkContext.setLogLevel("ERROR")
    # one partition: Spark reads the purchases in the pandas frame's order (ties in time
    # are broken by that order in both runs)
    frame = as_loaded_spark_frame(spark, purchases, folder, partitions=1)
    spark_page = run_modeling(frame, folder / "spark", tracking_uri=store, **SETTINGS)
    return pandas_page, spark_page, folder


def assert_close(got, expected, where: str) -> None:
    """Numbers to 1e-6 (None and NaN alike), anything else equal, through dicts and lists."""
    if isinstance(expected, dict):
        assert set(got) == set(expected), where
        for key in expected:
            assert_close(got[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, (list, tuple)):
        assert len(got) == len(expected), where
        for number, (a, b) in enumerate(zip(got, expected, strict=True)):
            assert_close(a, b, f"{where}[{number}]")
    elif isinstance(expected, float) or isinstance(got, float):
        if expected is None or (isinstance(expected, float) and math.isnan(expected)):
            assert got is None or math.isnan(got), where
        else:
            assert got == pytest.approx(expected, abs=1e-6), where
    else:
        assert got == expected, where


def test_results_agree_with_pandas(both_runs):
    pandas_page, spark_page, _folder = both_runs
    expected, got = pandas_page.results, spark_page.results
    for key in SAME_EXACTLY:
        assert got[key] == expected[key], key
    assert_close(got["test_metrics"], expected["test_metrics"], "test_metrics")
    for key in ("threshold", "threshold_target_recall"):
        assert got[key] == pytest.approx(expected[key], abs=1e-12), key
    assert_close(got["bootstrap"], expected["bootstrap"], "bootstrap")
    # the weekly backtest on the driver's purchases (every training purchase: under the cap)
    assert_close(got["backtest"], expected["backtest"], "backtest")
    assert got["backtest"]["ran"] and len(got["backtest"]["windows"]) == 3
    assert got["split_rule"] == {"kind": "time", "test_from": "2024-03-17T00:00:00"}
    assert got["training_sample"]["rows"] == expected["train_rows"]
    assert got["training_sample"]["fraud_fraction"] == 1.0
    assert got["test_metrics"]["tp"] > 0 and got["test_metrics"]["average_precision"] > 0.5


def test_every_model_is_judged_the_same(both_runs):
    pandas_page, spark_page, _folder = both_runs
    expected, got = pandas_page.test.comparison, spark_page.test.comparison
    assert list(got.index) == list(expected.index) == [
        "logistic_regression", "logistic_regression+history", "hist_gradient_boosting",
        "hist_gradient_boosting+history"]
    numeric = expected.select_dtypes("number").columns
    np.testing.assert_allclose(got[numeric].to_numpy(float), expected[numeric].to_numpy(float),
                               atol=1e-6)
    for key in expected.index:  # the executors' scores are the pandas ones
        np.testing.assert_allclose(spark_page.test.scores[key], pandas_page.test.scores[key],
                                   atol=1e-9)
    pd.testing.assert_frame_equal(spark_page.split_table, pandas_page.split_table)
    assert spark_page.card_precision_text == pandas_page.card_precision_text
    assert spark_page.threshold_note == pandas_page.threshold_note


def test_spark_hand_over(both_runs):
    pandas_page, spark_page, folder = both_runs
    spark_dir, pandas_dir = folder / "spark", folder / "pandas"
    predictions = spark_dir / "artifacts" / "test_predictions.parquet"
    assert predictions.is_dir()
    got = pd.read_parquet(predictions)
    expected = pd.read_parquet(pandas_dir / "artifacts" / "test_predictions.parquet")
    assert list(expected.columns) == ["row", TARGET, "probability"]
    # a Spark run keeps the amount beside the score: the summary sums the caught amounts
    assert list(got.columns) == ["row", TARGET, "probability", "amount"]
    np.testing.assert_array_equal(got["row"].to_numpy(), expected["row"].to_numpy())
    np.testing.assert_array_equal(got[TARGET].to_numpy(), expected[TARGET].to_numpy())
    np.testing.assert_allclose(got["probability"], expected["probability"], atol=1e-9)
    assert not (spark_dir / "artifacts" / "split.parquet").exists()
    assert not (spark_dir / "artifacts" / "history_features.parquet").exists()
    saved = json.loads((spark_dir / "artifacts" / "results" / "modeling.json").read_text())
    assert saved["split_rule"] == spark_page.results["split_rule"]
    comparison = pd.read_csv(spark_dir / "artifacts" / "model_comparison.csv", index_col=0)
    assert list(comparison.index) == list(pandas_page.test.comparison.index)


def test_test_metrics_are_logged_on_the_runs(both_runs):
    from cardfraud.modeling.tracking import tracking_client

    pandas_page, spark_page, _folder = both_runs
    client = tracking_client(spark_page.tracked["tracking_uri"])
    for key, run in spark_page.tracked["runs"].items():
        got = client.get_run(run).data
        expected = client.get_run(pandas_page.tracked["runs"][key]).data
        assert set(got.metrics) == set(expected.metrics), key
        for name, value in expected.metrics.items():
            assert got.metrics[name] == pytest.approx(value, abs=1e-6), (key, name)
        assert got.params == expected.params
        figures = {f.path for f in client.list_artifacts(run, "figures")}
        assert figures == {f.path for f in client.list_artifacts(
            pandas_page.tracked["runs"][key], "figures")}


def test_small_cap_keeps_every_fraud(purchases, tmp_path_factory):
    from pyspark.sql import functions as F

    from cardfraud.engines.spark_sampling import training_sample
    from cardfraud.modeling.spark_modeling import (
        PURCHASE_ROW,
        TEST_PERIOD,
        spark_feature_sets,
        spark_split,
        with_purchase_row,
    )

    spark = local_spark()
    folder = tmp_path_factory.mktemp("capped")
    frame = as_loaded_spark_frame(spark, purchases, folder, partitions=3)
    sets, modeled = spark_feature_sets(with_purchase_row(frame, PURCHASE_ROW))
    found = spark_split(frame, modeled, sets, test_days=14, seed=7, cv_folds=2)
    cut = pd.Timestamp(found.rule["test_from"])
    training = purchases[purchases["timestamp"] < cut]
    frauds = int(training[TARGET].sum())
    drawn = training_sample(found.frame.where(~F.col(TEST_PERIOD)), 2 * frauds + 500, seed=7)
    found.frame.unpersist()
    sample = drawn.frame
    assert len(sample) == 2 * frauds + 500 < len(training)
    assert int(sample[TARGET].sum()) == frauds and drawn.fraud_fraction == 1.0
    assert set(sample.loc[sample[TARGET] == 1, "transaction_id"]) == set(
        training.loc[training[TARGET] == 1, "transaction_id"])
    assert sample["timestamp"].is_monotonic_increasing
    assert sample["timestamp"].max() < cut


def test_spark_training_sample_note_says_why(both_runs):
    _pandas_page, spark_page, _folder = both_runs
    assert "20,000" not in spark_page.training_sample_note
    assert str(f"{spark_page.results['train_rows']:,}") in spark_page.training_sample_note
    assert _pandas_page.training_sample_note == ""


def test_hash_rule_is_the_contract(purchases, tmp_path_factory):
    from pyspark.sql import functions as F

    from cardfraud.modeling.spark_modeling import hash_test_column

    spark = local_spark()
    plain = purchases.drop(columns=["timestamp"]).head(5000)
    frame = as_loaded_spark_frame(spark, plain, tmp_path_factory.mktemp("hash"))
    flagged = frame.withColumn("t", hash_test_column(frame, 11, 0.25))
    by_sql = frame.withColumn("t", F.expr(
        f"pmod(xxhash64({', '.join(frame.columns)}, 11), 1000000) < 250000"))
    got = flagged.orderBy("transaction_id").select("t").toPandas()["t"]
    assert got.tolist() == by_sql.orderBy("transaction_id").select("t").toPandas()["t"].tolist()
    assert 0.22 < got.mean() < 0.28


def split_on_spark(frame, **kwargs):
    """The Spark split of a loaded frame (its working frame released; no history features:
    the split does not depend on them)."""
    from cardfraud.data.schema import available_inputs
    from cardfraud.modeling.feature_sets import BASE, FeatureSets
    from cardfraud.modeling.spark_modeling import PURCHASE_ROW, spark_split, with_purchase_row

    sets = FeatureSets({BASE: available_inputs(frame)})
    found = spark_split(frame, with_purchase_row(frame, PURCHASE_ROW), sets, **kwargs)
    found.frame.unpersist()
    return found


@pytest.mark.parametrize(("test_days", "time_type"), [(None, "timestamp_ntz"), (10, "timestamp_ntz"),
                                                    (None, "timestamp"), (10, "timestamp")])
def test_time_cut_is_pandas_cut(purchases, tmp_path_factory, test_days, time_type):
    """Naive times (as pandas writes them) and Spark's zoned timestamps (session in UTC)."""
    from pyspark.sql import functions as F

    from cardfraud.modeling.holdout import split_summary, split_transactions

    spark = local_spark()
    frame = as_loaded_spark_frame(spark, purchases, tmp_path_factory.mktemp("cut"))
    frame = frame.withColumn("timestamp", F.col("timestamp").cast(time_type))
    found = split_on_spark(frame, test_days=test_days, test_share=0.3, cv_folds=2)
    expected = split_transactions(purchases, "auto", test_days, 0.3, 7, 2)
    assert found.description == expected.description
    first_test = purchases["timestamp"].iloc[expected.test_rows].min()
    last_train = purchases["timestamp"].iloc[expected.train_rows].max()
    assert last_train < pd.Timestamp(found.rule["test_from"]) <= first_test
    pd.testing.assert_frame_equal(found.summary, split_summary(purchases, expected))


def test_too_many_test_days_says_what_pandas_says(purchases, tmp_path_factory):
    from cardfraud.modeling.holdout import ModelingError, split_transactions

    spark = local_spark()
    frame = as_loaded_spark_frame(spark, purchases, tmp_path_factory.mktemp("long"))
    with pytest.raises(ModelingError) as expected:
        split_transactions(purchases, "auto", 400, 0.2, 7, 2)
    with pytest.raises(ModelingError, match="leaves no training rows") as got:
        split_on_spark(frame, test_days=400, cv_folds=2)
    assert str(got.value) == str(expected.value)


def test_without_timestamps_the_hash_rule_splits(purchases, tmp_path_factory):
    from pyspark.sql import functions as F

    from cardfraud.modeling.spark_modeling import hash_test_column

    spark = local_spark()
    folder = tmp_path_factory.mktemp("no_time")
    plain = purchases.drop(columns=["timestamp", "card_id"]).head(8000)
    frame = as_loaded_spark_frame(spark, plain, folder)
    page = run_modeling(frame, folder / "out", tracking_uri=f"sqlite:///{folder}/mlflow.db",
                        **{**SETTINGS, "candidates": ["logistic_regression"],
                           "bootstrap_resamples": 0})
    rule = page.results["split_rule"]
    assert rule == {"kind": "hash", "seed": 7, "test_share": 0.2}
    in_test = frame.where(hash_test_column(frame, 7, 0.2)).agg(
        F.count(F.lit(1)).alias("n"), F.sum("fraud").alias("f")).first()
    assert page.results["test_rows"] == in_test["n"] == len(page.test.fraud)
    assert page.results["train_rows"] == 8000 - in_test["n"]
    assert int(page.test.fraud.sum()) == in_test["f"]
    assert page.results["split"]["kind"] == "hash"
    assert page.results["history_unavailable"] is not None
    assert page.results["card_precision"]["k"] is None


def test_a_capped_sample_trains_and_the_whole_test_period_is_judged(both_runs,
                                                                    tmp_path_factory):
    from cardfraud.modeling.spark_modeling import training_sample_note
    from cardfraud.report.translate import in_language

    pandas_page, _spark_page, folder = both_runs
    spark = local_spark()
    frame = spark.read.parquet(str(folder / "transactions.parquet"))
    out = tmp_path_factory.mktemp("capped_run")
    page = run_modeling(frame, out, tracking_uri=f"sqlite:///{out}/mlflow.db",
                        **{**SETTINGS, "candidates": ["logistic_regression"],
                           "bootstrap_resamples": 0}, train_sample_rows=6000)
    drawn, results = page.results["training_sample"], page.results
    assert results["split"] == pandas_page.results["split"]  # the same split as pandas
    assert drawn["rows"] == 6000 < results["train_rows"] and drawn["cap"] == 6000
    training_frauds = int(pandas_page.split_table.loc["training", "frauds"])
    assert drawn["fraud_fraction"] == 1.0 and drawn["frauds_kept"] == training_frauds
    assert drawn["genuine_kept"] == 6000 - training_frauds
    assert results["fit_rows"] == 6000 and results["cv_rows"] == 6000
    assert len(page.test.fraud) == results["test_rows"] == pandas_page.results["test_rows"]
    assert page.test.comparison.loc["logistic_regression", "tp"] + page.test.comparison.loc[
        "logistic_regression", "fn"] == int(pandas_page.test.fraud.sum())
    assert "sample of 6,000" in page.training_sample_note
    # the backtest scores only the windows whose weeks are whole: those in the test period
    windows = results["backtest"]["windows"]
    assert results["backtest"]["ran"] and 0 < len(windows) < 3
    assert all(w["period"] == "held-out test" for w in windows)
    assert f"{3 - len(windows)} earlier windows are left out" in results["backtest"]["note"]
    with in_language("es"):
        spanish = training_sample_note(drawn, 6000, results["train_rows"])
    assert spanish.startswith("Los modelos se entrenaron con una muestra de 6")


def test_beyond_the_test_sample_cap_the_counts_still_cover_every_test_purchase(
        both_runs, tmp_path_factory):
    from cardfraud.modeling.spark_test_sample import COUNTED

    _pandas_page, whole, folder = both_runs
    spark = local_spark()
    frame = spark.read.parquet(str(folder / "transactions.parquet"))
    out = tmp_path_factory.mktemp("test_sample_run")
    page = run_modeling(frame, out, tracking_uri=f"sqlite:///{out}/mlflow.db", **SETTINGS,
                        test_sample_rows=1500)
    drawn, test_rows = page.results["test_sample"], whole.results["test_rows"]
    assert whole.results["test_sample"]["sampled"] is False
    assert drawn["sampled"] and drawn["test_rows"] == test_rows > 1500 and drawn["cap"] == 1500
    assert 1000 < drawn["rows"] == len(page.test.fraud) < 2000
    # the same models and thresholds: every count at the threshold is the whole period's
    got, expected = page.test.comparison, whole.test.comparison
    for column in COUNTED:
        np.testing.assert_allclose(got[column].to_numpy(float), expected[column].to_numpy(float),
                                   rtol=1e-12, err_msg=column)
    assert int(got["tp"].iloc[0] + got["fn"].iloc[0]) == int(whole.test.fraud.sum())
    # the ranking measures are the sample's: close to the whole period's, not equal
    gap = (got["average_precision"] - expected["average_precision"]).abs()
    assert (gap < 0.1).all() and (gap > 0).any()
    assert page.results["card_precision"]["k"] == whole.results["card_precision"]["k"]
    # the reasons are given for the whole period's highest scores, not the sample's
    pd.testing.assert_frame_equal(page.alert_reasons, whole.alert_reasons)
    predictions = pd.read_parquet(out / "artifacts" / "test_predictions.parquet")
    assert len(predictions) == test_rows  # the hand-over holds every test purchase
    assert f"uniform sample of {drawn['rows']:,}" in page.training_sample_note
    assert f"{test_rows:,} test purchases" in page.training_sample_note
    assert "uniform sample" not in whole.training_sample_note
