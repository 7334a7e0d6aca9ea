"""EDA tables, rates with intervals, geography/time sections and figures on tiny frames."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from conftest import make_transactions

from cardfraud.data.cleaning import load_file
from cardfraud.eda import correlations as eda_correlations
from cardfraud.eda import headlines as eda
from cardfraud.eda import where_when as eda_where_when
from cardfraud.eda.authentication import fraud_rate_by_channel_chip_pin


def with_place_and_time(frame: pd.DataFrame) -> pd.DataFrame:
    """Add city, coordinates and timestamps (three days, two cities) to a frame."""
    frame = frame.copy()
    rows = len(frame)
    in_cali = np.arange(rows) % 4 == 0
    frame["city"] = pd.Categorical(np.where(in_cali, "Cali", "Bogotá"))
    frame["latitude"] = np.where(in_cali, 3.45, 4.71) + np.linspace(0, 0.01, rows)
    frame["longitude"] = np.where(in_cali, -76.53, -74.07)
    frame["timestamp"] = pd.Timestamp("2024-03-01 08:00") + pd.to_timedelta(
        np.arange(rows) % 3, unit="D")
    return frame


@pytest.mark.parametrize("frauds, purchases, low, high", [
    (0, 10, 0.0, 0.2775),
    (5, 10, 0.2366, 0.7634),
    (87, 1000, 0.0711, 0.1061),
])
def test_wilson_interval_matches_published_values(frauds, purchases, low, high):
    got_low, got_high = eda.wilson_interval(frauds, purchases)
    assert float(got_low) == pytest.approx(low, abs=1e-4)
    assert float(got_high) == pytest.approx(high, abs=1e-4)


def test_wilson_interval_ends_exactly_at_zero_and_one():
    low, high = eda.wilson_interval([0, 4], [4, 4])
    assert low[0] == 0.0 and high[1] == 1.0


def test_class_balance_counts_and_shares(good_frame):
    table = eda.class_balance(good_frame)
    assert table["purchases"].tolist() == [6, 2]
    assert table["share of purchases"].tolist() == [0.75, 0.25]


def test_flag_fraud_rates_per_value(good_frame):
    table = eda.flag_fraud_rates(good_frame).set_index(["flag", "value"])
    assert table.loc[("chip used", "yes"), "purchases"] == 3
    assert table.loc[("chip used", "yes"), "fraud rate"] == pytest.approx(1 / 3)
    assert table.loc[("chip used", "no"), "fraud rate"] == pytest.approx(1 / 5)
    assert table.loc[("online order", "yes"), "frauds"] == 2
    assert table.loc[("online order", "no"), "fraud rate"] == 0
    assert (table["95% CI low"] <= table["fraud rate"]).all()
    assert (table["fraud rate"] <= table["95% CI high"]).all()


def test_channel_chip_pin_table_adds_up(good_frame):
    table = fraud_rate_by_channel_chip_pin(good_frame)
    assert len(table) == 8
    assert table["purchases"].sum() == len(good_frame)
    assert table["frauds"].sum() == good_frame["fraud"].sum()
    cell = table[(table.channel == "online") & (table.chip == "no") & (table.PIN == "no")]
    assert cell["purchases"].item() == 4
    assert cell["fraud rate"].item() == pytest.approx(0.25)


def test_continuous_summary_counts_the_tail():
    frame = make_transactions(rows=1000, seed=2)
    frame["distance_from_home"] = np.arange(1, 1001, dtype=float)
    summary = eda.continuous_summary(frame).set_index("feature")
    assert summary.loc["distance_from_home", "purchases beyond p99.9"] == 1
    assert summary.loc["distance_from_home", "skewness"] == pytest.approx(0, abs=1e-9)
    assert summary.loc["ratio_to_median_purchase_price", "skewness"] > 1


def test_distance_bands_put_edges_in_the_upper_band(good_frame):
    frame = good_frame.copy()
    frame.loc[0, "distance_from_home"] = 5.0
    bands = eda_where_when.distance_band_fraud_rates(frame, [0, 5, 50])
    assert bands["band"].tolist() == ["0–5 km", "5–50 km", "50+ km"]
    assert bands["purchases"].tolist() == [2, 4, 2]
    assert bands["fraud rate"].tolist() == [0, 0, 1.0]


def test_strongest_pair_finds_the_correlated_flags():
    frame = make_transactions(rows=500, seed=4)
    frame["used_pin_number"] = frame["used_chip"]
    frame.loc[:20, "used_pin_number"] = 1 - frame.loc[:20, "used_chip"]
    correlations = eda_correlations.feature_correlations(frame)
    first, second, correlation = eda_correlations.strongest_pair(correlations)
    assert {first, second} == {"used_chip", "used_pin_number"}
    assert correlation > 0.8


def test_daily_activity_and_period_count_calendar_days():
    frame = with_place_and_time(make_transactions(rows=30, seed=7))
    frame = frame[frame["timestamp"].dt.day != 2]
    daily = eda_where_when.daily_activity(frame)
    assert daily["purchases"].tolist() == [10, 10]
    assert eda.period(daily) == {"period_start": "2024-03-01", "period_end": "2024-03-03",
                                 "days": 3}


def test_results_without_coordinates_or_timestamps(good_frame):
    results = eda.eda_results(good_frame, eda.flag_fraud_rates(good_frame),
                              eda_where_when.distance_band_fraud_rates(good_frame, [0, 50]),
                              ("used_chip", "online_order", 0.1))
    assert results["rows"] == 8 and results["fraud_rate"] == 0.25
    assert results["fraud_rate_by_channel"] == {"onsite": 0.0, "online": 0.4}
    assert results["fraud_rate_with_chip"] == pytest.approx(1 / 3)
    assert results["fraud_rate_without_pin"] == pytest.approx(2 / 7)
    assert [b["rate"] for b in results["fraud_rate_by_distance_band"]] == [0.0, 1.0]
    assert not results["has_coordinates"]
    assert "period_start" not in results
    assert "no coordinates" in eda.data_scope(good_frame)


def test_results_with_place_and_time():
    frame = with_place_and_time(make_transactions(rows=120, seed=8))
    results = eda.eda_results(frame, eda.flag_fraud_rates(frame),
                              eda_where_when.distance_band_fraud_rates(frame, [0, 10]),
                              ("used_chip", "online_order", 0.1),
                              eda_where_when.daily_activity(frame))
    assert results["has_coordinates"] and "hot_spots" not in results
    assert results["days"] == 3 and results["period_start"] == "2024-03-01"
    assert "Period: 2024-03-01 to 2024-03-03 (3 days)" in eda.summary_sentences(results)


def _assert_labelled(fig):
    """Every panel with data has a title and both axis labels."""
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert panels, "figure has no titled panel"
    for ax in panels:
        assert ax.get_xlabel() and ax.get_ylabel(), ax.get_title()
    plt.close(fig)


def test_every_figure_is_labelled_on_tiny_frames():
    frame = with_place_and_time(make_transactions(rows=60, seed=9))
    rate = frame["fraud"].mean()
    correlations = eda_correlations.feature_correlations(frame)
    _assert_labelled(eda.plot_continuous_distributions(frame))
    _assert_labelled(eda.plot_flag_fraud_rates(eda.flag_fraud_rates(frame), rate))
    _assert_labelled(eda_correlations.plot_correlations(correlations))
    _assert_labelled(eda_correlations.plot_pair_view(
        frame, *eda_correlations.strongest_pair(correlations), sample_rows=1000))
    _assert_labelled(eda_correlations.plot_pair_view(frame, "distance_from_home", "used_chip",
                                                     0.0))
    bands = eda_where_when.distance_band_fraud_rates(frame, [0, 10])
    _assert_labelled(eda_where_when.plot_distance_bands(bands, rate))
    _assert_labelled(eda_where_when.plot_daily_activity(eda_where_when.daily_activity(frame)))


def test_missing_handed_on_data_names_the_load_step(tmp_path):
    with pytest.raises(FileNotFoundError, match="run the load step first"):
        eda.read_loaded_transactions(tmp_path)


def test_real_sample_has_no_place_or_time_and_still_gives_results(real_sample):
    frame, _ = load_file(real_sample)
    assert not eda.has_coordinates(frame) and not eda.has_timestamps(frame)
    flags = eda.flag_fraud_rates(frame)
    bands = eda_where_when.distance_band_fraud_rates(frame, [0, 10, 100])
    pair = eda_correlations.strongest_pair(eda_correlations.feature_correlations(frame))
    results = eda.eda_results(frame, flags, bands, pair)
    channel = results["fraud_rate_by_channel"]
    assert channel["online"] > 5 * channel["onsite"]
    assert results["fraud_rate_with_pin"] < results["fraud_rate_without_pin"]
    assert results["frauds"] == int(frame["fraud"].sum())
