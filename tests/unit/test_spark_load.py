"""The load step on Spark: the same load results as pandas on the same file, a folder handed on
and read back as a Spark frame, refusals in one line, and the summary's counts of a folder."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from spark_frames import TEST_SETTINGS, local_spark

from cardfraud.data.checks import DataValidationError
from cardfraud.data.load_step import (
    class_balance_table,
    data_profile,
    handed_on_transactions,
    load_transactions,
    purchases_sample,
    write_load_outputs,
)
from cardfraud.engines import is_spark_frame
from cardfraud.engines.spark_eda import QUANTILE_RELATIVE_ERROR
from cardfraud.engines.spark_summary import alerts_and_caught
from cardfraud.simulator.simulate import simulate

pytestmark = pytest.mark.spark

SPARK = {"master": TEST_SETTINGS.master, "conf": TEST_SETTINGS.conf}


@pytest.fixture(scope="module")
def extract(tmp_path_factory):
    """5,000 simulated purchases in one Parquet file, a few rows of it duplicated."""
    local_spark()
    frame = simulate(rows=5_000, seed=9)
    frame = pd.concat([frame, frame.iloc[:3]], ignore_index=True)
    path = tmp_path_factory.mktemp("extract") / "purchases.parquet"
    frame.to_parquet(path, index=False)
    return path, frame


def load_both(path, tmp_path, **options):
    """Load ``path`` on pandas and on Spark into two output dirs; return both load results."""
    results = {}
    for engine in ("pandas", "spark"):
        out = tmp_path / engine
        frame, report, data = load_transactions(path=str(path), engine=engine, spark=SPARK,
                                                output_dir=out, **options)
        write_load_outputs(frame, data_profile(frame, report, data), out)
        results[engine] = (json.loads((out / "artifacts/results/load.json").read_text()),
                           json.loads((out / "artifacts/data_profile.json").read_text()), out)
    return results


def test_same_load_results_as_pandas_on_the_same_file(extract, tmp_path):
    path, frame = extract
    results = load_both(path, tmp_path, duplicates="drop")
    pandas_results, pandas_profile, _ = results["pandas"]
    spark_results, spark_profile, out = results["spark"]
    assert spark_results["data"].pop("engine") == {"name": "spark", **SPARK}
    assert spark_results == pandas_results
    assert spark_results["rows"] == len(frame) - 3 and spark_results["duplicate_rows"] == 3
    assert spark_profile["cleaning"] == pandas_profile["cleaning"]
    assert spark_profile["class_balance"] == pandas_profile["class_balance"]
    for column, share in pandas_profile["flag_shares"].items():
        assert spark_profile["flag_shares"][column] == pytest.approx(share, abs=1e-12)
    for feature, stats in pandas_profile["summary_statistics"].items():
        ours = spark_profile["summary_statistics"][feature]
        for key in ("count", "mean", "std", "min", "max"):
            assert ours[key] == pytest.approx(stats[key], abs=1e-4)
        values = np.sort(frame[feature].to_numpy()[:-3])  # the duplicates dropped
        error = QUANTILE_RELATIVE_ERROR * len(values) + 1
        for key in ("10%", "50%", "90%", "99%"):  # within approxQuantile's rank error
            low = np.searchsorted(values, ours[key] - 1e-4, "left")  # the value is rounded
            high = np.searchsorted(values, ours[key] + 1e-4, "right")
            wanted = float(key[:-1]) / 100 * len(values)
            assert low - error <= wanted <= high + error
    assert (out / "artifacts/transactions.parquet").is_dir()


def test_handed_on_folder_reads_back_as_a_spark_frame(extract, tmp_path):
    path, frame = extract
    out = tmp_path / "out"
    loaded, report, data = load_transactions(path=str(path), engine="spark", spark=SPARK,
                                             output_dir=out)
    write_load_outputs(loaded, data_profile(loaded, report, data), out)
    again = handed_on_transactions(loaded, out)
    assert is_spark_frame(again) and again.count() == len(frame)
    assert sorted(again.columns) == sorted(frame.columns)
    assert class_balance_table(again)["purchases"].tolist() == \
        frame["fraud"].value_counts().sort_index().tolist()
    shown = purchases_sample(again)
    assert len(shown) == 8 and set(shown["transaction_id"]) <= set(frame["transaction_id"])
    assert not list((out / "artifacts").glob(".*"))  # no temporary folder left behind


def test_simulated_source_on_spark_keeps_only_the_handed_on_folder(tmp_path):
    out = tmp_path / "out"
    loaded, report, data = load_transactions(source="simulated", engine="spark", spark=SPARK,
                                             simulator={"rows": 3000, "seed": 5},
                                             output_dir=out)
    assert data["generator"] == "chunked" and data["rows"] == 3000
    write_load_outputs(loaded, data_profile(loaded, report, data), out)
    again = handed_on_transactions(loaded, out)
    assert again.count() == 3000 and "purchase_date" not in again.columns
    assert not (out / "artifacts/simulated_purchases").exists()
    pandas_data = load_transactions(source="simulated", simulator={"rows": 3000, "seed": 5})[2]
    assert pandas_data["fingerprint"] != data["fingerprint"]  # other purchases, other identity


@pytest.mark.parametrize("option, value", [("thousands", "."), ("columns", {"card_id": "T"}),
                                           ("coordinates_path", "coords.csv"),
                                           ("allow_missing_inputs", True)])
def test_options_spark_does_not_read_are_refused_naming_them(extract, tmp_path, option, value):
    with pytest.raises(DataValidationError, match=rf"^load\.{option} is set, but the Spark "
                                                  r"engine does not read it yet"):
        load_transactions(path=str(extract[0]), engine="spark", spark=SPARK,
                          output_dir=tmp_path, **{option: value})


def test_raw_source_on_spark_is_refused_in_one_line(tmp_path):
    with pytest.raises(DataValidationError, match="Spark engine reads the seven inputs only"):
        load_transactions(source="raw", engine="spark", spark=SPARK, output_dir=tmp_path)


def test_summary_counts_of_a_folder_of_scores(tmp_path):
    rng = np.random.default_rng(1)
    scores = pd.DataFrame({"probability": rng.random(500), "fraud": rng.integers(0, 2, 500),
                           "amount": rng.gamma(2.0, 50_000.0, 500)})
    local_spark().createDataFrame(scores).repartition(3).write.parquet(
        str(tmp_path / "test_predictions.parquet"))
    counts = alerts_and_caught(tmp_path / "test_predictions.parquet", 0.7, SPARK)
    alerts = scores["probability"] >= 0.7
    caught = alerts & (scores["fraud"] == 1)
    assert counts["alerts"] == alerts.sum() and counts["caught"] == caught.sum()
    assert counts["caught_amount"] == pytest.approx(scores.loc[caught, "amount"].sum(), rel=1e-12)
