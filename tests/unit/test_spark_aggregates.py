"""The Spark EDA, drift and sampling aggregates give the pandas tables (counts exact, rates and
means to 1e-9, quantiles within approxQuantile's stated rank error)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cardfraud.data.schema import CONTINUOUS_FEATURES, FEATURES, FLAG_FEATURES, TARGET
from cardfraud.eda import authentication, correlations, headlines, where_when
from cardfraud.engines import EngineSettings
from cardfraud.engines.spark_session import SparkUnavailable, check_spark_installed
from cardfraud.monitoring import drift

try:
    check_spark_installed()
except SparkUnavailable as missing:
    pytest.skip(f"Spark aggregates need PySpark and Java: {missing}", allow_module_level=True)

from cardfraud.engines import spark_drift, spark_eda, spark_sampling  # noqa: E402
from cardfraud.engines.spark_session import spark_session  # noqa: E402

pytestmark = pytest.mark.spark  # starts a Spark session: make test, not test-fast

ERROR = spark_eda.QUANTILE_RELATIVE_ERROR
BANDS_KM = [0, 5, 25, 100]


@pytest.fixture(scope="module")
def spark():
    """One local[2] session for the whole module."""
    session = spark_session(EngineSettings("spark", "local[2]", {
        "spark.sql.shuffle.partitions": 4, "spark.ui.enabled": False,
        "spark.sql.session.timeZone": "UTC"}))
    yield session


@pytest.fixture(scope="module")
def purchases() -> pd.DataFrame:
    """20,000 simulated purchases with the columns the EDA uses."""
    from cardfraud.simulator.simulate import simulate

    frame = simulate(rows=20_000, seed=3)
    return frame[FEATURES + [TARGET, "timestamp"]].copy()


@pytest.fixture(scope="module")
def partly_unknown(purchases) -> pd.DataFrame:
    """The same purchases with distances unknown on some rows and no PIN input at all."""
    frame = purchases.drop(columns="used_pin_number").copy()
    rng = np.random.default_rng(5)
    for column, share in (("distance_from_home", 0.05), ("distance_from_last_transaction", 0.02)):
        frame.loc[rng.random(len(frame)) < share, column] = np.nan
    return frame


@pytest.fixture(scope="module")
def frames(spark, purchases, partly_unknown, tmp_path_factory):
    """Spark frames read from Parquet (as the load step hands them on), by variant name."""
    out = {}
    for name, frame in (("complete", purchases), ("partly unknown", partly_unknown)):
        path = tmp_path_factory.mktemp("spark") / f"{name.replace(' ', '_')}.parquet"
        # Spark reads microsecond timestamps, not pyarrow's default nanoseconds
        frame.to_parquet(path, index=False, coerce_timestamps="us")
        spark_frame = spark.read.parquet(str(path)).repartition(3).cache()
        spark_frame.count()
        out[name] = (frame, spark_frame)
    return out


VARIANTS = ["complete", "partly unknown"]


def assert_same_table(spark_table: pd.DataFrame, pandas_table: pd.DataFrame):
    """Same index, columns and dtypes; numbers to 1e-9 (counts exactly, being integers)."""
    pd.testing.assert_frame_equal(spark_table, pandas_table, check_exact=False, rtol=1e-9,
                                  atol=1e-12)


def rank_of(values: np.ndarray, value: float) -> tuple[int, int]:
    """Return the range of ranks (0-based) a value takes in the sorted known values."""
    ordered = np.sort(values[~np.isnan(values)])
    return int(np.searchsorted(ordered, value, "left")), int(np.searchsorted(ordered, value, "right"))


def assert_quantile_within_error(values: np.ndarray, value: float, q: float):
    """The value's rank is within the stated relative error of q * n (plus one for the ends)."""
    n = int((~np.isnan(values)).sum())
    low, high = rank_of(values, value)
    allowed = ERROR * n + 1
    assert low - allowed <= q * (n - 1) <= high + allowed, (value, q, low, high, n)


@pytest.mark.parametrize("variant", VARIANTS)
def test_counts_and_rates_tables_equal_pandas(frames, variant):
    pandas_frame, spark_frame = frames[variant]
    assert_same_table(spark_eda.class_balance(spark_frame), headlines.class_balance(pandas_frame))
    assert_same_table(spark_eda.flag_fraud_rates(spark_frame),
                      headlines.flag_fraud_rates(pandas_frame))
    assert_same_table(spark_eda.fraud_rate_by_channel_chip_pin(spark_frame),
                      authentication.fraud_rate_by_channel_chip_pin(pandas_frame))
    assert_same_table(spark_eda.distance_band_fraud_rates(spark_frame, BANDS_KM),
                      where_when.distance_band_fraud_rates(pandas_frame, BANDS_KM))
    assert_same_table(spark_eda.daily_activity(spark_frame), where_when.daily_activity(pandas_frame))


def test_partly_unknown_variant_says_pin_is_unknown(frames):
    table = spark_eda.fraud_rate_by_channel_chip_pin(frames["partly unknown"][1])
    assert len(table) == 4 and table["PIN"].str.startswith("unknown").all()
    assert int(table["purchases"].sum()) == 20_000


@pytest.mark.parametrize("variant", VARIANTS)
def test_continuous_summary_exact_moments_and_quantiles_within_error(frames, variant):
    pandas_frame, spark_frame = frames[variant]
    expected = headlines.continuous_summary(pandas_frame)
    got = spark_eda.continuous_summary(spark_frame)
    assert list(got.columns) == list(expected.columns)
    assert (got.dtypes == expected.dtypes).all()
    exact = ["mean", "max", "skewness", "kurtosis"] + (
        ["purchases unknown"] if "purchases unknown" in expected else [])
    assert_same_table(got[["feature", *exact]], expected[["feature", *exact]])
    for _, row in got.iterrows():
        values = pandas_frame[row["feature"]].to_numpy(dtype=float)
        assert_quantile_within_error(values, row["median"], 0.5)
        assert_quantile_within_error(values, row["p99.9"], 0.999)
        n = int((~np.isnan(values)).sum())
        assert row["purchases beyond p99.9"] == int((values > row["p99.9"]).sum())
        assert abs(row["purchases beyond p99.9"] - 0.001 * n) <= ERROR * n + 2


@pytest.mark.parametrize(("variant", "feature"), [
    *[("complete", f) for f in CONTINUOUS_FEATURES], ("partly unknown", "distance_from_home")])
def test_log_histograms_give_numpys_edges_and_shares(frames, variant, feature):
    pandas_frame, spark_frame = frames[variant]
    edges, shares = spark_eda.log_histograms(spark_frame, feature, bins=60)
    expected_edges, expected_shares = headlines.log_histograms(pandas_frame, feature, bins=60)
    np.testing.assert_array_equal(edges, expected_edges)
    for label in (0, 1):
        np.testing.assert_array_equal(shares[label], expected_shares[label])
        assert shares[label].sum() == pytest.approx(1.0)


@pytest.mark.parametrize("variant", VARIANTS)
def test_correlations_equal_pandas(frames, variant):
    pandas_frame, spark_frame = frames[variant]
    assert_same_table(spark_eda.feature_correlations(spark_frame),
                      correlations.feature_correlations(pandas_frame))


def test_pair_of_flags_equals_pandas(frames):
    pandas_frame, spark_frame = frames["complete"]
    for got, expected in zip(spark_eda.pair_fraud_rates(spark_frame, "online_order", "used_chip"),
                             correlations.pair_fraud_rates(pandas_frame, "online_order",
                                                           "used_chip"), strict=True):
        assert_same_table(got, expected)


def test_pair_of_continuous_features_counts_exact_on_its_edges(frames):
    pandas_frame, spark_frame = frames["partly unknown"]
    first, second = "distance_from_home", "ratio_to_median_purchase_price"
    rates, counts = spark_eda.pair_fraud_rates(spark_frame, first, second, bins=10)
    known = pandas_frame.dropna(subset=[first, second])
    x, y = known[first].to_numpy(float), known[second].to_numpy(float)
    assert len(rates.columns) == 10 and len(rates) == 10
    assert int(counts.to_numpy().sum()) == len(known)
    # approxQuantile may pick other cut points on another pass (within its error): count on one set
    known_spark = spark_eda.known_values(spark_frame).dropna(subset=[first, second])
    x_edges, _labels = spark_eda.feature_bin_edges(known_spark, first, 10)
    y_edges, _labels = spark_eda.feature_bin_edges(known_spark, second, 10)
    purchases, frauds_per_cell = spark_eda.pair_counts(known_spark, first, second, x_edges, y_edges)
    for values, edges in ((x, x_edges), (y, y_edges)):
        assert edges[0] == values.min() and edges[-1] == np.nextafter(values.max(), np.inf)
        for q, edge in zip(np.linspace(0, 1, 11)[1:-1], edges[1:-1], strict=True):
            assert_quantile_within_error(values, edge, q)
    expected, _ye, _xe = np.histogram2d(y, x, bins=[y_edges, x_edges])
    np.testing.assert_array_equal(purchases, expected.astype(int))
    frauds, _ye, _xe = np.histogram2d(y, x, bins=[y_edges, x_edges], weights=known[TARGET])
    np.testing.assert_array_equal(frauds_per_cell, frauds.astype(int))


@pytest.mark.parametrize("variant", VARIANTS)
def test_drift_counts_exact_for_the_reference_edges(frames, variant):
    pandas_frame, spark_frame = frames[variant]
    cut = pd.Timestamp(pandas_frame["timestamp"].quantile(0.6))
    from pyspark.sql import functions as F

    reference, current = pandas_frame[pandas_frame["timestamp"] < cut], \
        pandas_frame[pandas_frame["timestamp"] >= cut]
    features = [f for f in FEATURES if f in pandas_frame]
    binned, unknown, cut_points = spark_drift.binned_features(
        spark_frame.where(F.col("timestamp") < cut), spark_frame.where(F.col("timestamp") >= cut),
        features, bins=10)
    assert list(binned) == features
    for feature in features:
        ref, cur = (side[feature].to_numpy(float) for side in (reference, current))
        row, _expected = drift.compare_feature(ref, cur, feature in FLAG_FEATURES, 10, 0.1, 0.25)
        assert unknown[feature] == pytest.approx(
            {k: row[k] for k in ("unknown_reference", "unknown_current")}, rel=1e-12)
        ref, cur = ref[~np.isnan(ref)], cur[~np.isnan(cur)]
        got = binned[feature]
        if feature in FLAG_FEATURES:  # the 0/1 categories: exactly bin_values' counts
            expected = drift.bin_values(ref, cur, flag=True)
        else:  # numpy's counts on the Spark edges, which are within the rank error
            edges = cut_points[feature]
            for q, edge in zip(np.linspace(0, 1, 11)[1:-1], edges, strict=True):
                assert_quantile_within_error(ref, edge, q)
            expected = drift.BinnedComparison(
                drift._edge_labels(edges),
                np.bincount(np.searchsorted(edges, ref, "right"), minlength=len(edges) + 1),
                np.bincount(np.searchsorted(edges, cur, "right"), minlength=len(edges) + 1))
        assert got.labels == expected.labels
        np.testing.assert_array_equal(got.reference_counts, expected.reference_counts)
        np.testing.assert_array_equal(got.current_counts, expected.current_counts)
        psi = drift.population_stability_index(got.reference_counts, got.current_counts)
        assert psi == pytest.approx(row["psi"], abs=0.01)  # same shares up to the rank error


def test_sample_rows_is_bounded_seeded_and_known(frames):
    _pandas, spark_frame = frames["partly unknown"]
    first = spark_sampling.sample_rows(spark_frame, 500, seed=7, known=["distance_from_home"])
    again = spark_sampling.sample_rows(spark_frame, 500, seed=7, known=["distance_from_home"])
    other = spark_sampling.sample_rows(spark_frame, 500, seed=8, known=["distance_from_home"])
    assert len(first) == 500 and first["distance_from_home"].notna().all()
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(other)
    assert len(spark_sampling.sample_rows(spark_frame.limit(30), 500, seed=7)) == 30


def test_training_sample_keeps_every_fraud_under_the_cap(frames):
    pandas_frame, spark_frame = frames["complete"]
    frauds = int(pandas_frame[TARGET].sum())
    sample = spark_sampling.training_sample(spark_frame, max_rows=5_000, seed=11)
    assert len(sample.frame) == 5_000 and frauds < 2_500
    assert int(sample.frame[TARGET].sum()) == frauds and sample.fraud_fraction == 1.0
    assert sample.genuine_fraction == pytest.approx((5_000 - frauds) / (20_000 - frauds))
    assert sample.frame["timestamp"].is_monotonic_increasing
    assert list(sample.frame.columns) == list(pandas_frame.columns)
    again = spark_sampling.training_sample(spark_frame, max_rows=5_000, seed=11)
    pd.testing.assert_frame_equal(sample.frame, again.frame)
    other = spark_sampling.training_sample(spark_frame, max_rows=5_000, seed=12)
    assert not sample.frame.equals(other.frame)


def test_training_sample_caps_frauds_at_half(frames):
    pandas_frame, spark_frame = frames["complete"]
    frauds = int(pandas_frame[TARGET].sum())
    max_rows = 2 * (frauds // 4)  # half of it is half the frauds
    sample = spark_sampling.training_sample(spark_frame, max_rows=max_rows, seed=11)
    assert len(sample.frame) == max_rows
    assert int(sample.frame[TARGET].sum()) == max_rows // 2
    assert sample.fraud_fraction == pytest.approx((max_rows // 2) / frauds)
    assert sample.as_record()["frauds_kept"] == max_rows // 2
    assert sample.frame["timestamp"].is_monotonic_increasing


def test_training_sample_refuses_a_cap_below_two(frames):
    with pytest.raises(ValueError, match="train_sample_rows must be at least 2, not 1"):
        spark_sampling.training_sample(frames["complete"][1], max_rows=1)
