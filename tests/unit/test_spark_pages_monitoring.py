"""The registry and monitoring steps on a Spark run give the pandas run's results.

20,000 simulated purchases are handed over twice: as a pandas run does (one Parquet file,
split.parquet, test_predictions.parquet) and as a Spark run does (folders written by Spark,
``split_rule`` in modeling.json, no split file). The same logistic regression is logged into
each run's own throwaway MLflow store; the registry step registers and promotes it, and the
monitoring step checks it on the latest 14 days. Counts must be equal, PSI, JS distance,
chi-square, KS (exact on Spark) and the champion's metrics equal to 1e-9.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cardfraud.engines.spark_session import SparkUnavailable, check_spark_installed

try:
    check_spark_installed()
except SparkUnavailable as missing:
    pytest.skip(str(missing), allow_module_level=True)

from helpers import MODEL, empty_tracking_database  # noqa: E402
from spark_frames import (  # noqa: E402
    TEST_SETTINGS,
    as_loaded_spark_frame,
    spark_fixture,  # noqa: F401  (the spark fixture)
)

from cardfraud.data.schema import FEATURES, TARGET, compact_dtypes, model_features  # noqa: E402
from cardfraud.runner.artifacts import artifacts_dir, save_step_results  # noqa: E402

pytestmark = pytest.mark.spark  # starts a Spark session: make test, not test-fast

ROWS, TEST_DAYS, THRESHOLD = 20_000, 18, 0.3
IDENTITY = {"run_id", "model_uri", "scorer_uri", "tracking_uri", "decided_at", "champion_since"}


@pytest.fixture(scope="module")
def purchases() -> pd.DataFrame:
    from cardfraud.simulator.simulate import simulate

    return compact_dtypes(simulate(rows=ROWS, seed=7))


def first_test_moment(frame: pd.DataFrame) -> pd.Timestamp:
    """The first moment of the test period: the last TEST_DAYS days."""
    return frame["timestamp"].max().floor("D") - pd.Timedelta(days=TEST_DAYS - 1)


def fitted_model(frame: pd.DataFrame, columns: list[str] = FEATURES):
    """A logistic regression on ``columns`` of the seven inputs, fitted on the training period."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    train = (frame["timestamp"] < first_test_moment(frame)).to_numpy()
    pipeline = Pipeline([("select", ColumnTransformer([("keep", "passthrough", columns)])),
                         ("scale", StandardScaler()),
                         ("classify", LogisticRegression(max_iter=500))])
    return pipeline.fit(model_features(frame)[train], frame[TARGET].to_numpy()[train])


def throwaway_store(folder: Path) -> str:
    """A new empty MLflow store under ``folder``; its URI."""
    folder.mkdir(parents=True)
    shutil.copyfile(empty_tracking_database(), folder / "mlflow.db")
    return f"sqlite:///{folder}/mlflow.db"


def fake_modeling_hand_over(output_dir: Path, frame: pd.DataFrame, pipeline, store: str,
                            spark=None) -> dict:
    """Write what the load and modeling steps hand on; ``spark`` given: as a Spark run does.

    pandas: transactions.parquet (a file), split.parquet, test_predictions.parquet (a file).
    Spark: both Parquet folders written by Spark, ``split_rule`` in modeling.json, no split.
    """
    from sklearn.metrics import average_precision_score, precision_score, recall_score

    from cardfraud.modeling.tracking import (
        configure_tracking,
        get_or_create_experiment,
        log_candidate_run,
    )

    folder = artifacts_dir(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    start = first_test_moment(frame)
    test = np.flatnonzero((frame["timestamp"] >= start).to_numpy())
    fraud = frame[TARGET].to_numpy()
    probability = pipeline.predict_proba(model_features(frame.iloc[test]))[:, 1]
    predictions = pd.DataFrame({"row": test.astype("int64"), TARGET: fraud[test],
                                "probability": probability})
    load = {"data": {"source": "simulated", "rows": len(frame),
                     "fingerprint": f"sha256:spark-pages-{len(frame)}"}}
    if spark is None:
        frame.to_parquet(folder / "transactions.parquet", index=False)  # again: the same
        pd.DataFrame({"split": np.where(frame["timestamp"] >= start, "test", "train")}).to_parquet(
            folder / "split.parquet", index=False)
        predictions.to_parquet(folder / "test_predictions.parquet", index=False)
    else:
        if not (folder / "transactions.parquet").exists():
            loaded = as_loaded_spark_frame(spark, frame, output_dir)
            loaded.write.parquet(str(folder / "transactions.parquet"))
        spark.createDataFrame(predictions).repartition(2).write.mode("overwrite").parquet(
            str(folder / "test_predictions.parquet"))
        load["engine"] = {"name": "spark", "master": TEST_SETTINGS.master,
                          "conf": TEST_SETTINGS.conf}
    save_step_results("load", load, output_dir)
    decision = probability >= THRESHOLD
    metrics = {"average_precision": average_precision_score(fraud[test], probability),
               "recall": recall_score(fraud[test], decision),
               "precision": precision_score(fraud[test], decision, zero_division=0)}
    uri = configure_tracking(store)
    experiment = get_or_create_experiment("card-fraud-test", uri)
    run_id = log_candidate_run(uri, experiment, "logistic_regression", {"max_iter": 500},
                               metrics, pipeline, model_features(frame.iloc[test[:5]]))
    # the runs of both stores are fitted alike; only their ids differ
    modeling = {"best_model": "logistic_regression", "best_run_id": run_id,
                "model_uri": f"runs:/{run_id}/model", "experiment_name": "card-fraud-test",
                "experiment_id": experiment, "tracking_uri": uri,
                "selection_metric": "average_precision", "threshold": THRESHOLD,
                "threshold_rule": "fixed for the test", "test_metrics": metrics,
                "test_rows": len(test), "train_rows": len(frame) - len(test),
                "split": {"kind": "time"}, "feature_set": "base", "model_inputs": FEATURES}
    if spark is not None:
        modeling["split_rule"] = {"kind": "time", "test_from": start.isoformat()}
    save_step_results("modeling", modeling, output_dir)
    return modeling


def registry_and_monitoring(output_dir: Path, store: str):
    """The registry step (registered, promoted on publishing) then the monitoring step."""
    from cardfraud.monitoring.page import run_monitoring
    from cardfraud.serving.page import run_registry
    from cardfraud.serving.promotion import pending_promotion, promote_pending_champion

    registry = run_registry(output_dir, run_id="report-run", model_name=MODEL, register=True,
                            sample_rows=200)
    promote_pending_champion(pending_promotion(registry.results, "report-run"))
    monitoring = run_monitoring(output_dir, run_id="report-run", tracking_uri=store,
                                model_name=MODEL, current_days=14)
    return registry, monitoring


@pytest.fixture(scope="module")
def both_runs(spark, purchases, tmp_path_factory):
    """The two steps run on the pandas and on the Spark hand-over of the same purchases."""
    pipeline = fitted_model(purchases)
    runs = {}
    for engine in ("pandas", "spark"):
        base = tmp_path_factory.mktemp(engine)
        store = throwaway_store(base / "mlruns")
        output_dir = base / "out"
        fake_modeling_hand_over(output_dir, purchases, pipeline, store,
                                spark if engine == "spark" else None)
        runs[engine] = (output_dir, *registry_and_monitoring(output_dir, store), store)
    return runs


@pytest.fixture(scope="module")
def weak_candidate(spark, purchases, both_runs):
    """A second modeling run, on one uninformative input, registered against the champion."""
    from cardfraud.serving.page import run_registry

    pipeline = fitted_model(purchases, ["repeat_retailer"])
    pages = {}
    for engine, (output_dir, *_, store) in both_runs.items():
        fake_modeling_hand_over(output_dir, purchases, pipeline, store,
                                spark if engine == "spark" else None)
        pages[engine] = run_registry(output_dir, run_id="second-run", model_name=MODEL,
                                     register=True, sample_rows=100)
    return pages


def test_the_spark_run_is_read_on_spark_without_a_split_file(both_runs):
    from cardfraud.engines import is_spark_frame

    folder = artifacts_dir(both_runs["spark"][0])
    assert (folder / "transactions.parquet").is_dir()
    assert (folder / "test_predictions.parquet").is_dir()
    assert not (folder / "split.parquet").exists()
    window = both_runs["spark"][2].window
    assert is_spark_frame(window.reference) and is_spark_frame(window.current)
    assert not is_spark_frame(both_runs["pandas"][2].window.reference)
    assert "row" not in both_runs["spark"][1].check  # a Spark sample has no row positions


def test_registry_results_equal_the_pandas_run(both_runs):
    pandas_results, spark_results = (both_runs[e][1].results for e in ("pandas", "spark"))
    assert spark_results["newly_registered"] and spark_results["version"] == 1
    for key in set(pandas_results) - IDENTITY:
        expected, got = pandas_results[key], spark_results[key]
        if isinstance(expected, float):
            assert got == pytest.approx(expected, abs=1e-9), key
        else:
            assert got == expected, key
    assert spark_results["checked_rows"] == 200
    assert spark_results["max_score_difference"] <= 1e-9


def test_registry_candidate_score_is_the_modeling_test_score(both_runs, purchases):
    from sklearn.metrics import average_precision_score

    predictions = pd.read_parquet(artifacts_dir(both_runs["pandas"][0]) / "test_predictions.parquet")
    expected = average_precision_score(predictions[TARGET], predictions["probability"])
    assert both_runs["spark"][1].results["candidate_score"] == pytest.approx(expected, abs=1e-9)
    assert "becomes champion" in both_runs["spark"][1].decision.reason


def test_monitoring_window_counts_equal(both_runs):
    pandas_results, spark_results = (both_runs[e][2].results for e in ("pandas", "spark"))
    assert spark_results["current"] == pandas_results["current"]
    assert spark_results["reference"] == pandas_results["reference"]
    assert spark_results["current"]["rows"] > 0 and spark_results["reference"]["rows"] > 0
    assert spark_results["reference"]["overlap_excluded_rows"] == 0  # test period > 14 days


def test_monitoring_drift_per_feature_equals_pandas(both_runs):
    pandas_page, spark_page = both_runs["pandas"][2], both_runs["spark"][2]
    expected, got = pandas_page.assessment.drift.table, spark_page.assessment.drift.table
    assert list(got.index) == list(expected.index) == FEATURES
    for column in ("kind", "test", "status"):
        assert got[column].tolist() == expected[column].tolist(), column
    for column in ("reference", "current", "psi", "js_distance", "statistic", "p_value",
                   "unknown_reference", "unknown_current"):
        np.testing.assert_allclose(got[column].to_numpy(float), expected[column].to_numpy(float),
                                   rtol=0, atol=1e-9, err_msg=column)
    for feature, binned in pandas_page.assessment.drift.binned.items():
        spark_binned = spark_page.assessment.drift.binned[feature]
        assert spark_binned.labels == binned.labels, feature
        np.testing.assert_array_equal(spark_binned.reference_counts, binned.reference_counts)
        np.testing.assert_array_equal(spark_binned.current_counts, binned.current_counts)


def test_monitoring_champion_and_status_equal_pandas(both_runs):
    pandas_results, spark_results = (both_runs[e][2].results for e in ("pandas", "spark"))
    assert spark_results["champion"]["available"] and spark_results["champion"]["version"] == 1
    assert spark_results["score_psi"] == pytest.approx(pandas_results["score_psi"], abs=1e-9)
    for key in ("now", "at_training"):
        expected, got = pandas_results["champion"][key], spark_results["champion"][key]
        assert got.keys() == expected.keys()
        for metric in expected:
            assert got[metric] == pytest.approx(expected[metric], abs=1e-9), (key, metric)
    assert spark_results["champion"]["message"] == pandas_results["champion"]["message"]
    for key in ("overall_status", "action", "recommendation", "feature_status", "score_status",
                "performance_status", "drifted_features", "data_feed_problems", "settings"):
        assert spark_results[key] == pandas_results[key], key
    for feature, expected in pandas_results["features"].items():
        got = spark_results["features"][feature]
        assert got["status"] == expected["status"] and got["test"] == expected["test"]
        for number in ("psi", "js_distance", "p_value"):
            assert got[number] == pytest.approx(expected[number], abs=1e-9), (feature, number)


def test_monitoring_log_row_written_as_in_pandas(both_runs):
    logs = {e: pd.read_csv(artifacts_dir(both_runs[e][0]) / "monitoring_log.csv")
            for e in ("pandas", "spark")}
    assert len(logs["spark"]) == 1 and list(logs["spark"].columns) == list(logs["pandas"].columns)
    same = ["current_source", "current_start", "current_end", "current_rows", "reference_rows",
            "overall_status", "action", "max_psi_feature", "champion_version"]
    assert logs["spark"][same].equals(logs["pandas"][same])
    numbers = [c for c in logs["pandas"].columns if c.startswith("psi_") or c in
               ("max_feature_psi", "score_psi", "pr_auc_now", "recall_now")]
    np.testing.assert_allclose(logs["spark"][numbers].to_numpy(float),
                               logs["pandas"][numbers].to_numpy(float), rtol=0, atol=1e-9)


def test_a_worse_candidate_is_compared_with_the_champion_on_spark(weak_candidate):
    pandas_results, spark_results = (weak_candidate[e].results for e in ("pandas", "spark"))
    assert spark_results["version"] == 2 and spark_results["previous_champion_version"] == 1
    assert not spark_results["promoted"] and spark_results["champion_version"] == 1
    assert spark_results["candidate_score"] < spark_results["champion_score"]
    for key in ("candidate_score", "champion_score"):
        assert spark_results[key] == pytest.approx(pandas_results[key], abs=1e-9), key
    assert spark_results["reason"] == pandas_results["reason"]
    assert spark_results["aliases"] == pandas_results["aliases"] == ["challenger"]
    check = weak_candidate["spark"].check
    assert "champion_v1_probability" in check and len(check) == 100


def test_a_current_extract_is_validated_and_compared_on_spark(both_runs, purchases, tmp_path):
    from cardfraud.monitoring.page import run_monitoring

    latest = purchases[purchases["timestamp"] >= purchases["timestamp"].max() - pd.Timedelta(
        days=6)]
    extract = tmp_path / "next_week.parquet"
    latest.to_parquet(extract, index=False, coerce_timestamps="us")
    results = {engine: run_monitoring(output_dir, run_id="extract-run", tracking_uri=store,
                                      model_name=MODEL, current_path=str(extract)).results
               for engine, (output_dir, *_, store) in both_runs.items()}
    assert results["spark"]["current"] == results["pandas"]["current"]
    assert results["spark"]["current"]["source"] == "file"
    assert results["spark"]["current"]["rows"] == len(latest)
    assert results["spark"]["reference"] == results["pandas"]["reference"]
    for feature, expected in results["pandas"]["features"].items():
        for number in ("psi", "js_distance", "p_value"):
            assert results["spark"]["features"][feature][number] == pytest.approx(
                expected[number], abs=1e-9), (feature, number)
    assert results["spark"]["score_psi"] == pytest.approx(results["pandas"]["score_psi"],
                                                          abs=1e-9)
    for metric, value in results["pandas"]["champion"]["now"].items():
        assert results["spark"]["champion"]["now"][metric] == pytest.approx(value, abs=1e-9)


def test_a_bad_current_extract_is_refused_with_the_load_steps_message(both_runs, tmp_path):
    from cardfraud.data.checks import DataValidationError
    from cardfraud.monitoring.page import run_monitoring

    extract = tmp_path / "broken.csv"
    extract.write_text("amount,fraud\n1.0,0\n")
    output_dir, *_, store = both_runs["spark"]
    with pytest.raises(DataValidationError, match="broken.csv"):
        run_monitoring(output_dir, tracking_uri=store, model_name=MODEL,
                       current_path=str(extract))


def test_without_timestamps_the_hash_rule_gives_the_test_rows_as_current(spark, purchases,
                                                                         tmp_path):
    from cardfraud.engines.spark_split import test_period
    from cardfraud.monitoring.drift import feature_drift
    from cardfraud.monitoring.spark_assessment import feature_drift as spark_feature_drift
    from cardfraud.monitoring.spark_window import spark_monitoring_window
    from cardfraud.monitoring.window import monitoring_window

    untimed = purchases.drop(columns="timestamp").assign(row=np.arange(len(purchases)))
    frame = as_loaded_spark_frame(spark, untimed, tmp_path)
    rule = {"kind": "hash", "seed": 3, "test_share": 0.25}
    marked = frame.withColumn("test", test_period(frame, rule)).select("row", "test").toPandas()
    is_test = marked.sort_values("row")["test"].to_numpy()
    assert 0.2 < is_test.mean() < 0.3
    expected = monitoring_window(untimed, np.where(is_test, "test", "train"))
    window = spark_monitoring_window(frame, rule)
    assert window.description == {**expected.description, "engine_note":
                                  window.description["engine_note"]}
    assert window.description["current_source"] == "test_rows"
    assert window.description["current_rows"] == int(is_test.sum())
    pandas_table = feature_drift(expected.reference, expected.current).table
    spark_table = spark_feature_drift(window.reference, window.current).table
    for column in ("psi", "js_distance", "statistic", "p_value", "reference", "current"):
        np.testing.assert_allclose(spark_table[column].to_numpy(float),
                                   pandas_table[column].to_numpy(float), rtol=0, atol=1e-9)


@pytest.mark.parametrize("values", [
    [5.0, 5.0, 5.0, 1.0, 1.0, 2.0, np.nan, 9.5],  # ties and an unknown
    [3.0],  # one value
    list(np.round(np.random.default_rng(1).exponential(size=997), 1)),  # many ties
])
def test_exact_quantiles_ks_and_pr_auc_equal_numpy_scipy_and_sklearn(spark, values):
    from scipy import stats
    from sklearn.metrics import average_precision_score, roc_auc_score

    from cardfraud.engines import spark_ranks

    values = np.asarray(values, dtype=float)
    known = values[~np.isnan(values)]
    other = np.concatenate([known[::2] + 0.5, known[:1]])
    frame = spark.createDataFrame(pd.DataFrame({"x": values}))
    other_frame = spark.createDataFrame(pd.DataFrame({"x": other}))
    probabilities = np.linspace(0, 1, 11)[1:-1]
    np.testing.assert_array_equal(spark_ranks.exact_quantiles(frame, "x", probabilities,
                                                              len(known)),
                                  np.quantile(known, probabilities))
    statistic, p_value = spark_ranks.ks_two_sample(frame, other_frame, "x", len(known),
                                                   len(other))
    expected = stats.ks_2samp(known, other, method="asymp")
    assert statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert p_value == pytest.approx(expected.pvalue, abs=1e-12)
    fraud = (np.arange(len(known)) % 3 == 0).astype(int)
    if fraud.min() != fraud.max():
        scored = spark.createDataFrame(pd.DataFrame({"fraud": fraud,
                                                     "probability": known / known.max()}))
        metrics = spark_ranks.score_metrics(scored)
        assert metrics["average_precision"] == pytest.approx(
            average_precision_score(fraud, known), abs=1e-12)
        assert metrics["roc_auc"] == pytest.approx(roc_auc_score(fraud, known), abs=1e-12)


def test_run_all_does_not_ask_a_spark_run_for_the_split_file(both_runs):
    from cardfraud.runner.step_inputs import input_problems

    spark_dir, pandas_dir = both_runs["spark"][0], both_runs["pandas"][0]
    assert input_problems("monitoring", artifacts_dir(spark_dir)) == []
    assert input_problems("registry", artifacts_dir(spark_dir)) == []
    (artifacts_dir(pandas_dir) / "split.parquet").rename(artifacts_dir(pandas_dir) / "aside")
    try:  # a pandas run still needs it
        assert [p.artifact.file for p in input_problems(
            "monitoring", artifacts_dir(pandas_dir))] == ["split.parquet"]
    finally:
        (artifacts_dir(pandas_dir) / "aside").rename(artifacts_dir(pandas_dir) / "split.parquet")
