"""The card-history features on Spark equal the pandas ones: the hand-made histories of
test_history.py, 20,000 simulated purchases with ties, one-purchase cards and absent columns,
and no later purchase or young label ever changing a feature."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_history import CARD_A, MERCHANT_DAYS, purchases

from cardfraud.engines.spark_session import SparkUnavailable, check_spark_installed
from cardfraud.modeling.history import HISTORY_FEATURES, card_history_features

try:
    check_spark_installed()
except SparkUnavailable as missing:
    pytest.skip(str(missing), allow_module_level=True)

from cardfraud.engines import spark_history  # noqa: E402 - only with pyspark installed

pytestmark = pytest.mark.spark  # starts a Spark session: make test, not test-fast

ROW = "test_row"
EXACT = ["purchases_last_1h", "purchases_last_24h", "purchases_last_7d",
         "first_purchase_at_merchant", "hour_of_day"]
INPUTS = ["card_id", "timestamp", "merchant_id", "amount", "latitude", "longitude", "fraud"]


@pytest.fixture(scope="module")
def spark():
    from cardfraud.engines import EngineSettings
    from cardfraud.engines.spark_session import spark_session

    session = spark_session(EngineSettings("spark", "local[2]", {
        "spark.sql.shuffle.partitions": 4, "spark.ui.enabled": False,
        "spark.sql.session.timeZone": "UTC"}))
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def on_spark(spark, frame: pd.DataFrame, label_delay_days: float = 7.0) -> pd.DataFrame:
    """The Spark features of ``frame``, back in its row order with its index."""
    local = frame.assign(**{ROW: np.arange(len(frame))})
    result = spark_history.card_history_features(spark.createDataFrame(local), label_delay_days)
    added = [c for c in result.columns if c not in local.columns]
    back = result.select(ROW, *added).toPandas().sort_values(ROW)
    return back.drop(columns=ROW).set_axis(frame.index)


def assert_same_as_pandas(spark, frame: pd.DataFrame, label_delay_days: float = 7.0) -> None:
    """Counts, flags and hours exactly equal; ratios, minutes, speeds and rates to 1e-9."""
    expected = card_history_features(frame, label_delay_days)
    got = on_spark(spark, frame, label_delay_days)
    assert list(got.columns) == list(expected.columns)
    assert set(got.dtypes) <= {np.dtype("float64")} and not got.isna().any().any()
    for name in expected:
        if name in EXACT:
            np.testing.assert_array_equal(got[name], expected[name], err_msg=name)
        else:
            np.testing.assert_allclose(got[name], expected[name], rtol=1e-9, atol=1e-12,
                                       err_msg=name)


# the hand-made histories of test_history.py
TIES = purchases([("D", 0.0, "m1", 10.0, 0.0, 0.0, 0), ("D", 0.0, "m1", 500.0, 5.0, 5.0, 1),
                  ("D", 1.0, "m1", 20.0, 5.0, 5.0, 0)])
SPEEDS = pd.concat([purchases([(f"C{s}", 0.0, "m1", 10.0, 0.0, 0.0, 0),
                               (f"C{s}", s / 3600, "m2", 10.0, 0.0, km, 0)])
                    for s, km in [(10, 1.0), (30, 0.001), (7200, 1.0)]], ignore_index=True)
SPEEDS["timestamp"] = SPEEDS["timestamp"].dt.round("us")  # s / 3600 h: not whole nanoseconds
UNKNOWN_PLACE = purchases([("E", 0.0, "m1", 10.0, 0.0, 0.0, 0),
                           ("E", 1.0, "m1", 10.0, 0.0, np.nan, 0),
                           ("E", 2.0, "m1", 10.0, 0.0, 1.0, 0)])
ZERO_MEAN = purchases([("F", 0.0, "m1", 0.0, 0.0, 0.0, 0), ("F", 1.0, "m1", 30.0, 0.0, 0.0, 0),
                       ("F", 2.0, "m1", np.nan, 0.0, 0.0, 0), ("F", 3.0, "m1", 45.0, 0.0, 0.0, 0)])
HOUR_EDGES = pd.concat([purchases([("B", 0.0, "m1", 10.0, 0.0, 0.0, 0),
                                   ("B", gap, "m1", 10.0, 0.0, 0.0, 0)]).assign(card_id=f"B{i}")
                        for i, gap in enumerate([1.0, 1.0 + 1e-6, 0.0])], ignore_index=True)


@pytest.mark.parametrize("name, frame, delay", [
    ("card A", CARD_A, 7.0), ("card A, rows shuffled", CARD_A.iloc[[3, 0, 4, 2, 1]], 7.0),
    ("ties", TIES, 0.0), ("ties", TIES, 7.0), ("speeds", SPEEDS, 7.0),
    ("unknown place", UNKNOWN_PLACE, 7.0), ("zero mean", ZERO_MEAN, 7.0),
    ("one hour edges", HOUR_EDGES, 7.0),
])
def test_hand_made_histories_match_pandas(spark, name, frame, delay):
    assert_same_as_pandas(spark, frame, delay)


def test_hand_made_histories_give_the_hand_computed_answers(spark):
    got = on_spark(spark, TIES, label_delay_days=0)
    assert got["purchases_last_24h"].tolist() == [0, 0, 2]
    assert got["merchant_fraud_rate_30d"].tolist() == [0, 0, 0.5]
    assert got["amount_to_card_mean_7d"].iloc[2] == 20 / 255
    assert on_spark(spark, HOUR_EDGES)["purchases_last_1h"].tolist() == [0, 1, 0, 0, 0, 0]


MERCHANT_CASES = [(10.0, 7.0), (8.5, 7.0), (7.0, 7.0), (6.9, 7.0), (2.0, 0.0), (31.5, 0.0),
                  (33.0, 2.0), (30.5, 0.0), (29.5, 0.0)]


def test_merchant_fraud_rate_window_bounds_match_pandas(spark):
    """The nine (t - delay - 30 d, t - delay] cases of test_history, one frame per delay."""
    for delay in sorted({d for _, d in MERCHANT_CASES}):
        rows = [(f"card{i}", 24 * d, "m9", 10.0, 0.0, 0.0, label)
                for i, (d, label) in enumerate(MERCHANT_DAYS)]
        for case, (day, case_delay) in enumerate(MERCHANT_CASES):
            if case_delay == delay:  # each case at its own merchant copy of m9's history
                rows += [(f"c{case}{r[0]}", r[1], f"m9-{case}", *r[3:]) for r in rows[:3]]
                rows += [(f"new{case}", 24 * day, f"m9-{case}", 10.0, 0.0, 0.0, np.nan)]
        assert_same_as_pandas(spark, purchases(rows), delay)


@pytest.fixture(scope="module")
def simulated():
    """20,000 simulated purchases plus ties at the same time, one-purchase cards, unknown
    places, amounts and labels."""
    from cardfraud.simulator.simulate import simulate

    frame = simulate(rows=20_000, seed=1)[INPUTS].astype({"fraud": "float64"})
    rng = np.random.default_rng(11)
    twins = frame.sample(600, random_state=2).assign(  # same card, same time, elsewhere
        amount=lambda f: f["amount"] * 3, latitude=lambda f: f["latitude"] + 1.0,
        merchant_id=lambda f: f["merchant_id"].to_numpy()[::-1], fraud=1.0)
    loners = frame.sample(300, random_state=3).assign(card_id=lambda f: 10_000_000 + np.arange(
        len(f)))
    frame = pd.concat([frame, twins, loners], ignore_index=True)
    frame = frame.sample(frac=1.0, random_state=4, ignore_index=True)
    for column, share in [("latitude", 0.05), ("amount", 0.02), ("fraud", 0.03)]:
        frame.loc[rng.random(len(frame)) < share, column] = np.nan
    frame.loc[frame["latitude"].isna(), "longitude"] = np.nan
    return frame


def test_the_simulated_frame_has_ties_and_one_purchase_cards(simulated):
    assert simulated.duplicated(["card_id", "timestamp"]).sum() >= 600
    assert (simulated["card_id"].value_counts() == 1).sum() >= 300


@pytest.mark.parametrize("dropped, delay", [
    ([], 7.0), ([], 0.0), ([], 2.5), (["amount"], 7.0), (["latitude", "longitude"], 7.0),
    (["merchant_id"], 7.0), (["fraud"], 7.0),
])
def test_simulated_purchases_match_pandas(spark, simulated, dropped, delay):
    assert_same_as_pandas(spark, simulated.drop(columns=dropped), delay)


def test_naive_times_as_timestamp_ntz_give_the_same_features(spark):
    local = CARD_A.assign(**{ROW: np.arange(len(CARD_A))})
    from pyspark.sql import functions as F

    frame = spark.createDataFrame(local).withColumn(
        "timestamp", F.col("timestamp").cast("timestamp_ntz"))
    got = spark_history.card_history_features(frame).select(ROW, *HISTORY_FEATURES)
    got = got.toPandas().sort_values(ROW).drop(columns=ROW)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), card_history_features(CARD_A))


def test_later_purchases_and_young_labels_never_change_a_feature(spark, simulated):
    cut = simulated["timestamp"].quantile(0.6)
    later = (simulated["timestamp"] > cut).to_numpy()
    rng = np.random.default_rng(5)
    changed = simulated.copy()
    changed.loc[later, "amount"] = rng.uniform(1, 5000, later.sum())
    changed.loc[later, "latitude"] = rng.uniform(-4, 12, later.sum())
    changed.loc[later, "merchant_id"] = rng.permutation(changed.loc[later, "merchant_id"])
    # every label younger than 7 days at the cut becomes a fraud: none is known by then
    young = (simulated["timestamp"] > cut - pd.Timedelta(days=7)).to_numpy()
    changed.loc[young, "fraud"] = 1.0
    before = on_spark(spark, simulated)
    after = on_spark(spark, changed)
    pd.testing.assert_frame_equal(after[~later], before[~later], check_exact=True)
    assert (after["merchant_fraud_rate_30d"][later] != before["merchant_fraud_rate_30d"][later]
            ).any()  # the change is visible once the labels are known


def test_without_card_or_time_nothing_is_added(spark):
    frame = spark.createDataFrame(CARD_A.drop(columns="card_id"))
    assert spark_history.card_history_features(frame).columns == frame.columns


def test_an_empty_card_is_refused_naming_it(spark):
    frame = CARD_A.astype({"card_id": object})
    frame.loc[3, "card_id"] = None
    with pytest.raises(ValueError, match=r"card_id: 1 empty value\(s\) \(e\.g\. .*'m3'"):
        spark_history.card_history_features(spark.createDataFrame(frame))


def test_a_negative_label_delay_is_refused(spark):
    with pytest.raises(ValueError, match="label_delay_days must be a number >= 0"):
        spark_history.card_history_features(spark.createDataFrame(CARD_A), -1.0)
