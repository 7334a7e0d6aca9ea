"""The card-history features: hand-computed answers, time order, no skew between the whole
extract and a purchase scored alone with its history, any row order, no NaN."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cardfraud.data.derive import EARTH_RADIUS_KM
from cardfraud.modeling.history import (
    HISTORY_FEATURES,
    MINUTES_CAP,
    SPEED_CAP_KMH,
    card_history_features,
    history_columns,
    history_features_for,
)

START = pd.Timestamp("2024-03-01 10:00")
KM_PER_DEGREE = EARTH_RADIUS_KM * math.pi / 180  # along the equator


def purchases(rows: list[tuple]) -> pd.DataFrame:
    """(card, hours after START, merchant, amount, latitude, longitude, fraud) per purchase."""
    frame = pd.DataFrame(rows, columns=["card_id", "hours", "merchant_id", "amount", "latitude",
                                        "longitude", "fraud"])
    frame["timestamp"] = START + pd.to_timedelta(frame.pop("hours"), unit="h")
    return frame


# card A: five purchases; the fourth has no known place
CARD_A = purchases([
    ("A", 0.0, "m1", 100.0, 0.0, 0.0, 0),
    ("A", 0.5, "m2", 50.0, 0.0, 1.0, 0),
    ("A", 2.0, "m1", 300.0, 0.0, 1.0, 0),
    ("A", 25.0, "m3", 60.0, np.nan, np.nan, 0),
    ("A", 192.0, "m2", 90.0, 0.0, 2.0, 0),
])
EXPECTED_A = {
    "purchases_last_1h": [0, 1, 0, 0, 0],
    "purchases_last_24h": [0, 1, 2, 1, 0],
    "purchases_last_7d": [0, 1, 2, 3, 1],  # at 192 h the 7 days start at 24 h
    "amount_to_card_mean_7d": [1.0, 0.5, 300 / 75, 60 / 150, 90 / 60],
    "amount_to_card_mean_30d": [1.0, 0.5, 300 / 75, 60 / 150, 90 / 127.5],
    "minutes_since_previous": [MINUTES_CAP, 30, 90, 23 * 60, 167 * 60],
    # 1 degree in 0.5 h; no move; no place known; from the 2 h purchase's place, 190 h later
    "speed_from_previous_kmh": [0.0, KM_PER_DEGREE / 0.5, 0.0, 0.0, KM_PER_DEGREE / 190],
    "first_purchase_at_merchant": [1, 1, 0, 1, 0],
    "hour_of_day": [10, 10, 12, 11, 10],
}


@pytest.mark.parametrize("feature", list(EXPECTED_A))
def test_each_feature_of_a_hand_made_card_history(feature):
    features = card_history_features(CARD_A)
    np.testing.assert_allclose(features[feature].to_numpy(), EXPECTED_A[feature], rtol=1e-9)


def test_features_are_float64_in_the_fixed_order_with_the_callers_index():
    frame = CARD_A.set_axis([10, 11, 12, 13, 14])
    features = card_history_features(frame)
    assert list(features.columns) == HISTORY_FEATURES
    assert list(features.index) == [10, 11, 12, 13, 14]
    assert set(features.dtypes) == {np.dtype("float64")}


@pytest.mark.parametrize("gap_hours, expected", [(1.0, 1), (1.0 + 1e-6, 0), (0.0, 0)])
def test_the_one_hour_window_holds_a_purchase_exactly_an_hour_earlier(gap_hours, expected):
    frame = purchases([("B", 0.0, "m1", 10.0, 0.0, 0.0, 0),
                       ("B", gap_hours, "m1", 10.0, 0.0, 0.0, 0)])
    assert card_history_features(frame)["purchases_last_1h"].iloc[1] == expected


def test_purchases_at_the_same_time_do_not_see_each_other():
    frame = purchases([("D", 0.0, "m1", 10.0, 0.0, 0.0, 0), ("D", 0.0, "m1", 500.0, 5.0, 5.0, 1),
                       ("D", 1.0, "m1", 20.0, 5.0, 5.0, 0)])
    features = card_history_features(frame, label_delay_days=0)
    first_two = features.iloc[:2]
    assert (first_two["purchases_last_24h"] == 0).all()
    assert (first_two["amount_to_card_mean_7d"] == 1).all()
    assert (first_two["minutes_since_previous"] == MINUTES_CAP).all()
    assert (first_two["speed_from_previous_kmh"] == 0).all()
    assert (first_two["first_purchase_at_merchant"] == 1).all()
    assert (first_two["merchant_fraud_rate_30d"] == 0).all()
    third = features.iloc[2]
    assert third["purchases_last_24h"] == 2 and third["amount_to_card_mean_7d"] == 20 / 255
    assert third["minutes_since_previous"] == 60 and third["merchant_fraud_rate_30d"] == 0.5


@pytest.mark.parametrize("seconds, km_east, expected", [
    (10, 1.0, SPEED_CAP_KMH),  # 111 km in 10 s: capped
    (30, 0.001, 0.001 * KM_PER_DEGREE * 60),  # under a minute apart: divided by one minute
    (7200, 1.0, KM_PER_DEGREE / 2),
])
def test_speed_guards_short_gaps_and_caps_impossible_travel(seconds, km_east, expected):
    frame = purchases([("C", 0.0, "m1", 10.0, 0.0, 0.0, 0),
                       ("C", seconds / 3600, "m2", 10.0, 0.0, km_east, 0)])
    speed = card_history_features(frame)["speed_from_previous_kmh"].iloc[1]
    assert speed == pytest.approx(expected, rel=1e-9)


def test_an_unknown_place_gives_speed_zero_and_the_next_uses_the_last_known_place():
    frame = purchases([("E", 0.0, "m1", 10.0, 0.0, 0.0, 0), ("E", 1.0, "m1", 10.0, 0.0, np.nan, 0),
                       ("E", 2.0, "m1", 10.0, 0.0, 1.0, 0)])
    speed = card_history_features(frame)["speed_from_previous_kmh"].to_numpy()
    np.testing.assert_allclose(speed, [0.0, 0.0, KM_PER_DEGREE / 2], rtol=1e-9)


def test_amount_ratio_is_one_when_the_earlier_mean_is_zero_or_the_amount_unknown():
    frame = purchases([("F", 0.0, "m1", 0.0, 0.0, 0.0, 0), ("F", 1.0, "m1", 30.0, 0.0, 0.0, 0),
                       ("F", 2.0, "m1", np.nan, 0.0, 0.0, 0), ("F", 3.0, "m1", 45.0, 0.0, 0.0, 0)])
    ratio = card_history_features(frame)["amount_to_card_mean_7d"].to_numpy()
    np.testing.assert_allclose(ratio, [1.0, 1.0, 1.0, 45 / 15])  # the unknown amount is skipped


# merchant m9: a fraud on day 0, a legitimate purchase on day 1, an unknown label on day 2
MERCHANT_DAYS = [(0.0, 1.0), (1.0, 0.0), (2.0, np.nan)]


@pytest.mark.parametrize("day, delay, expected", [
    (10.0, 7.0, 1 / 3),   # window (-27, 3]: all three; the unknown label counts, not as fraud
    (8.5, 7.0, 1 / 2),    # (-28.5, 1.5]: days 0 and 1
    (7.0, 7.0, 1.0),      # (-30, 0]: the window's end is inclusive
    (6.9, 7.0, 0.0),      # (-30.1, -0.1]: nothing known yet
    (2.0, 0.0, 1 / 2),    # no delay: (-28, 2), its own time excluded
    (31.5, 0.0, 0.0),     # no delay: (1.5, 31.5): day 2 (not known as fraud) only
    (33.0, 2.0, 0.0),     # (1, 31]: day 2 only
    (30.5, 0.0, 0.0),     # (0.5, 30.5): days 1 and 2
    (29.5, 0.0, 1 / 3),   # (-0.5, 29.5): all three
])
def test_merchant_fraud_rate_counts_only_labels_known_a_delay_before(day, delay, expected):
    rows = [(f"card{i}", 24 * d, "m9", 10.0, 0.0, 0.0, label)
            for i, (d, label) in enumerate(MERCHANT_DAYS)]
    rows += [("other", 24 * day, "m8", 10.0, 0.0, 0.0, 1.0),  # another merchant's fraud
             ("new", 24 * day, "m9", 10.0, 0.0, 0.0, np.nan)]
    features = card_history_features(purchases(rows), label_delay_days=delay)
    assert features["merchant_fraud_rate_30d"].iloc[-1] == pytest.approx(expected)


@pytest.mark.parametrize("dropped, lost", [
    (["merchant_id"], ["first_purchase_at_merchant", "merchant_fraud_rate_30d"]),
    (["fraud"], ["merchant_fraud_rate_30d"]),
    (["latitude"], ["speed_from_previous_kmh"]),
    (["amount"], ["amount_to_card_mean_7d", "amount_to_card_mean_30d"]),
    (["card_id"], HISTORY_FEATURES),
    (["timestamp"], HISTORY_FEATURES),
])
def test_absent_columns_turn_off_their_features(dropped, lost):
    frame = CARD_A.drop(columns=dropped)
    expected = [name for name in HISTORY_FEATURES if name not in lost]
    assert history_columns(frame) == expected
    assert history_columns(list(frame.columns)) == expected
    features = card_history_features(frame)
    assert list(features.columns) == expected and len(features) == len(frame)


def test_public_table_columns_allow_no_history():
    from cardfraud.data.schema import REQUIRED_COLUMNS

    assert history_columns(REQUIRED_COLUMNS) == []


@pytest.mark.parametrize("column", ["card_id", "timestamp"])
def test_an_empty_card_or_time_is_refused_naming_the_rows(column):
    frame = CARD_A.copy()
    frame.loc[3, column] = None
    with pytest.raises(ValueError, match=rf"{column}: 1 empty value\(s\) \(rows 3\)"):
        card_history_features(frame)


def test_a_negative_label_delay_is_refused():
    with pytest.raises(ValueError, match="label_delay_days"):
        card_history_features(CARD_A, label_delay_days=-1)


@pytest.fixture(scope="module")
def simulated():
    from cardfraud.simulator.simulate import simulate

    frame = simulate(rows=4000, seed=7)
    rng = np.random.default_rng(3)
    unknown = rng.random(len(frame)) < 0.05  # places a provider's file has no point for
    frame.loc[unknown, ["latitude", "longitude"]] = np.nan
    return frame


def test_simulated_features_have_no_nan_and_every_column(simulated):
    features = card_history_features(simulated)
    assert list(features.columns) == HISTORY_FEATURES
    assert not features.isna().any().any()
    assert features["purchases_last_7d"].max() > 0 and features["merchant_fraud_rate_30d"].max() > 0


def test_unsorted_input_gives_the_sorted_features_in_the_callers_order(simulated):
    ordered = simulated.sort_values(["card_id", "timestamp"], kind="stable")
    shuffled = simulated.sample(frac=1.0, random_state=5)
    expected = card_history_features(ordered).loc[shuffled.index]
    pd.testing.assert_frame_equal(card_history_features(shuffled), expected, rtol=1e-12)


def _perturbed(frame: pd.DataFrame, rows: np.ndarray, rng) -> pd.DataFrame:
    changed = frame.copy()
    changed.loc[rows, "amount"] = rng.uniform(1, 5000, rows.sum())
    changed.loc[rows, "latitude"] = rng.uniform(-4, 12, rows.sum())
    changed.loc[rows, "fraud"] = 1 - changed.loc[rows, "fraud"]
    changed.loc[rows, "merchant_id"] = changed["merchant_id"].sample(
        frac=1.0, random_state=1).to_numpy()[rows]
    return changed


@pytest.mark.parametrize("cut_quantile", [0.3, 0.7])
def test_changing_later_purchases_never_changes_earlier_features(simulated, cut_quantile):
    cut = simulated["timestamp"].quantile(cut_quantile)
    later = (simulated["timestamp"] > cut).to_numpy()
    changed = _perturbed(simulated, later, np.random.default_rng(1))
    before = card_history_features(simulated)[~later]
    pd.testing.assert_frame_equal(card_history_features(changed)[~later], before)


def test_labels_younger_than_the_delay_never_count(simulated):
    delay = pd.Timedelta(days=7)
    rng = np.random.default_rng(2)
    for position in rng.choice(len(simulated), 20, replace=False):
        time = simulated["timestamp"].iloc[position]
        young = (simulated["timestamp"] > time - delay).to_numpy()
        changed = simulated.copy()
        changed.loc[young, "fraud"] = 1
        expected = card_history_features(simulated)["merchant_fraud_rate_30d"].iloc[position]
        assert card_history_features(changed)["merchant_fraud_rate_30d"].iloc[position] == expected


@pytest.mark.parametrize("history_of", ["earlier", "all_others"])
def test_a_purchase_scored_alone_gets_the_whole_extract_features(simulated, history_of):
    whole = card_history_features(simulated)
    rng = np.random.default_rng(4)
    for position in rng.choice(len(simulated), 40, replace=False):
        one = simulated.iloc[[position]].drop(columns=["fraud"])  # a new purchase: no label
        time = one["timestamp"].iloc[0]
        if history_of == "earlier":
            history = simulated[simulated["timestamp"] < time]
        else:
            history = simulated.drop(index=one.index)
        alone = history_features_for(one, history)
        pd.testing.assert_frame_equal(alone, whole.iloc[[position]], check_exact=True)


def test_history_features_for_keeps_the_new_frames_order_and_index(simulated):
    cut = simulated["timestamp"].quantile(0.8)
    history = simulated[simulated["timestamp"] <= cut]
    new = simulated[simulated["timestamp"] > cut].sample(frac=1.0, random_state=2)
    features = history_features_for(new.drop(columns="fraud"), history)
    unlabelled = simulated.copy()  # the new purchases' labels are unknown to each other too
    unlabelled.loc[new.index, "fraud"] = np.nan
    whole = card_history_features(unlabelled)
    assert list(features.index) == list(new.index)
    pd.testing.assert_frame_equal(features, whole.loc[new.index], rtol=1e-12)


def test_history_features_for_needs_the_columns_in_both_frames_but_labels_only_in_history():
    new = CARD_A.iloc[[4]].drop(columns=["fraud", "latitude"])
    features = history_features_for(new, CARD_A.iloc[:4])
    assert "merchant_fraud_rate_30d" in features and "speed_from_previous_kmh" not in features
    assert features["minutes_since_previous"].iloc[0] == 167 * 60


def test_times_too_fine_for_the_key_are_ranked_with_the_same_features(simulated, monkeypatch):
    from cardfraud.modeling import history_windows

    jittered = simulated.copy()  # nanosecond times: steps of 1 ns
    jittered["timestamp"] += pd.to_timedelta(np.random.default_rng(8).integers(
        0, 1000, len(jittered)), unit="ns")
    by_steps = card_history_features(jittered)
    monkeypatch.setattr(history_windows, "KEY_LIMIT", 0)
    pd.testing.assert_frame_equal(card_history_features(jittered), by_steps, check_exact=True)
    assert by_steps["purchases_last_24h"].sum() > 0


def test_ids_read_as_numbers_in_one_frame_and_text_in_the_other_are_the_same_card(simulated):
    cut = simulated["timestamp"].quantile(0.9)
    history = simulated[simulated["timestamp"] <= cut]
    new = simulated[simulated["timestamp"] > cut].drop(columns="fraud")
    as_numbers = history_features_for(new, history)
    as_text = history_features_for(new.astype({"card_id": str, "merchant_id": str}),
                                   history.astype({"card_id": float, "merchant_id": float}))
    pd.testing.assert_frame_equal(as_text, as_numbers)
    assert as_numbers["purchases_last_7d"].sum() > 0


def test_the_whole_extract_as_history_gives_the_whole_extract_features(simulated):
    cut = simulated["timestamp"].quantile(0.8)
    new = simulated[simulated["timestamp"] > cut].drop(columns="fraud")
    features = history_features_for(new, simulated)  # the new purchases are in it, labelled
    pd.testing.assert_frame_equal(features, card_history_features(simulated).loc[new.index],
                                  rtol=1e-12)
    assert features["merchant_fraud_rate_30d"].max() > 0
    text_ids = history_features_for(new.astype({"transaction_id": str}), simulated)
    pd.testing.assert_frame_equal(text_ids, features)
    without_ids = history_features_for(new.drop(columns="transaction_id"), simulated)
    assert (without_ids["purchases_last_7d"] > features["purchases_last_7d"]).any()
