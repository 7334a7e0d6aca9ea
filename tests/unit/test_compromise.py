"""The simulator plants compromised points and cash-out areas the georeferencing must find."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cardfraud.data.schema import FEATURES, TARGET, model_features
from cardfraud.simulator.command import cli
from cardfraud.simulator.purchases import GROUND_TRUTH_COLUMNS
from cardfraud.simulator.simulate import SIMULATOR_DEFAULTS, simulate, simulate_with_captures
from cardfraud.simulator.world import haversine_km

NOTHING_PLANTED = {"compromised_shops": 0, "compromised_online": 0, "cash_out_areas": 0}
SMOKE = {"rows": 20_000, "seed": 7}  # params/smoke.yaml's load.simulator


@pytest.fixture(scope="module")
def planted() -> tuple[pd.DataFrame, pd.DataFrame]:
    """100,000 purchases at default knobs and the ground truth of the captured cards."""
    return simulate_with_captures(rows=100_000, seed=3)


@pytest.fixture(scope="module")
def smoke() -> tuple[pd.DataFrame, pd.DataFrame]:
    return simulate_with_captures(**SMOKE)


def test_captures_are_genuine_visits_of_the_point_within_its_window(planted):
    frame, captured = planted
    capture_rows = frame[frame["compromise_point_id"] > 0]
    assert len(capture_rows) == len(captured) > 100
    assert (capture_rows["merchant_id"] == capture_rows["compromise_point_id"]).all()
    assert (capture_rows[TARGET] == 0).all()
    assert capture_rows["card_id"].is_unique  # a card counts at its first capture
    online = capture_rows[capture_rows["online_order"] == 1]
    assert len(online) and (online["used_chip"] == 0).all()  # a wallet token leaks nothing
    spread = capture_rows.groupby("compromise_point_id")["timestamp"].agg(lambda t: t.max() - t.min())
    assert (spread < pd.Timedelta(days=SIMULATOR_DEFAULTS["compromise_window_days"])).all()
    merged = capture_rows.merge(captured, on=["card_id", "compromise_point_id"])
    assert (merged["timestamp"] == merged["captured_at"]).all() and len(merged) == len(captured)
    points = captured.groupby("compromise_point_id")["channel"].first().value_counts()
    assert points["onsite"] == SIMULATOR_DEFAULTS["compromised_shops"]
    assert points["online"] == SIMULATOR_DEFAULTS["compromised_online"]


def test_stolen_data_is_used_after_the_capture_as_the_matching_fraud(planted):
    frame, captured = planted
    used = captured.dropna(subset=["stolen_data_used_at"])
    assert (used["stolen_data_used_at"] > used["captured_at"]).all()
    assert 0.2 < len(used) / len(captured) <= 0.5  # at most half defrauded within the period
    fraud = frame[frame[TARGET] == 1][["card_id", "timestamp", "fraud_scenario"]]
    hit = used.merge(fraud, left_on=["card_id", "stolen_data_used_at"], right_on=["card_id", "timestamp"])
    assert hit["card_id"].nunique() == len(used)
    expected = np.where(hit["channel"] == "online", "card_not_present", "cloned_card")
    assert (hit["fraud_scenario"].astype(str).to_numpy() == expected).all()
    # the compromised shops' skimmed cards carry a large share of all cloned-card fraud
    cloned = frame[frame["fraud_scenario"] == "cloned_card"]
    assert cloned["card_id"].isin(captured["card_id"]).mean() > 0.1


def test_planted_fraud_is_moved_onto_captured_cards_not_added(planted):
    frame, _ = planted
    plain = simulate(rows=100_000, seed=3, **NOTHING_PLANTED)
    assert (plain["compromise_point_id"] == 0).all() and (plain["cash_out_area_id"] == 0).all()
    assert plain[TARGET].sum() == frame[TARGET].sum()
    pd.testing.assert_series_equal(plain["fraud_scenario"].value_counts(), frame["fraud_scenario"].value_counts())
    keys = ["card_id", "timestamp", "merchant_id", "amount"]
    genuine = [f.loc[f[TARGET] == 0, keys].reset_index(drop=True) for f in (plain, frame)]
    pd.testing.assert_frame_equal(*genuine)  # the cardholders' own purchases do not change


def test_cash_out_areas_are_tight_and_take_their_share_of_cloned_cards(planted):
    frame, _ = planted
    spent = frame[frame["cash_out_area_id"] > 0]
    assert (spent["fraud_scenario"] == "cloned_card").all()
    assert sorted(spent["cash_out_area_id"].unique()) == [1, 2, 3]
    share = len(spent) / (frame["fraud_scenario"] == "cloned_card").sum()
    assert abs(share - SIMULATOR_DEFAULTS["cash_out_share"]) < 0.1
    for _, area in spent.groupby("cash_out_area_id"):
        shops = area.drop_duplicates("merchant_id")
        centre_lat, centre_lon = shops["latitude"].mean(), shops["longitude"].mean()
        far = haversine_km(centre_lat, centre_lon, shops["latitude"], shops["longitude"]).max()
        assert far <= 2 * SIMULATOR_DEFAULTS["cash_out_radius_km"], shops
    none = simulate(rows=20_000, seed=3, cash_out_share=0.0)
    assert (none["cash_out_area_id"] == 0).all()


def test_same_seed_plants_the_same_points_and_another_seed_other_points(smoke):
    frame, captured = smoke
    again_frame, again = simulate_with_captures(**SMOKE)
    pd.testing.assert_frame_equal(captured, again)
    pd.testing.assert_frame_equal(frame, again_frame)
    _, other = simulate_with_captures(rows=SMOKE["rows"], seed=SMOKE["seed"] + 1)
    assert set(other["compromise_point_id"]) != set(captured["compromise_point_id"])


def test_smoke_size_plants_points_and_cash_out_areas_in_its_fewer_cards(smoke):
    """At params/smoke.yaml's 20,000 rows (about 400 cards) the points capture a few cards each."""
    frame, captured = smoke
    per_point = captured.groupby("compromise_point_id").size()
    assert len(per_point) >= 5 and per_point.max() <= 20
    assert captured["card_id"].nunique() < 0.2 * frame["card_id"].nunique()
    assert captured["stolen_data_used_at"].notna().mean() <= 0.5
    assert (frame["cash_out_area_id"] > 0).any()


@pytest.mark.parametrize("knobs, message", [
    ({"compromised_shops": -1}, r"compromised_shops must be an integer in \[0, 200\]"),
    ({"compromised_online": 2.5}, "compromised_online must be an integer"),
    ({"compromise_window_days": 0}, r"compromise_window_days must be an integer in \[1, 3660\]"),
    ({"capture_rate": 1.5}, r"capture_rate must be a share in \[0, 1\]"),
    ({"captured_use_share": "half"}, "captured_use_share must be a share"),
    ({"capture_lag_days": 0}, r"capture_lag_days must be a number in \(0, 365\]"),
    ({"cash_out_areas": 100}, r"cash_out_areas must be an integer in \[0, 50\]"),
    ({"cash_out_radius_km": -1.0}, "cash_out_radius_km must be a number"),
])
def test_bad_compromise_knobs_give_clear_errors(knobs, message):
    with pytest.raises(ValueError, match=message):
        simulate(**{"rows": 1_000, **knobs})


def test_a_window_longer_than_the_period_covers_the_period():
    frame = simulate(rows=5_000, seed=2, days=20, compromise_window_days=30)
    assert frame["timestamp"].max() < pd.Timestamp(SIMULATOR_DEFAULTS["start"]) + pd.Timedelta(days=20)
    assert (frame["compromise_point_id"] > 0).any()


def test_a_tiny_simulation_plants_what_its_few_merchants_allow():
    frame = simulate(rows=100, seed=1, cash_out_areas=50, compromised_shops=200, compromised_online=100)
    assert len(frame) == 100
    assert frame["cash_out_area_id"].max() <= 50


def test_cli_takes_the_compromise_knobs(tmp_path):
    out = tmp_path / "sim.parquet"
    assert cli(["--rows", "5000", "--compromised-shops", "0", "--compromised-online", "0",
                "--cash-out-share", "0", "--out", str(out)]) == 0
    written = pd.read_parquet(out)
    assert (written["compromise_point_id"] == 0).all() and (written["cash_out_area_id"] == 0).all()


def test_ground_truth_columns_are_never_model_inputs(planted):
    from cardfraud.modeling.candidates import make_pipeline

    frame, _ = planted
    assert set(GROUND_TRUTH_COLUMNS) <= set(frame.columns)
    inputs = model_features(frame)
    assert list(inputs.columns) == FEATURES
    fitted = make_pipeline("decision_tree", settings={"max_depth": 4}).fit(inputs, frame[TARGET])
    assert list(fitted.feature_names_in_) == FEATURES
    # no stage downstream of the load reads the ground truth: EDA, model, registry, monitoring
    package = Path(__file__).resolve().parents[2] / "src" / "cardfraud"
    pattern = re.compile("|".join(GROUND_TRUTH_COLUMNS))
    for stage in ("eda", "channels", "modeling", "serving", "monitoring"):
        for module in (package / stage).glob("*.py"):
            assert not pattern.search(module.read_text(encoding="utf-8")), module


@pytest.mark.slow
def test_defaults_plant_an_investigation_sized_signal_at_1m_rows():
    """10 to 30 points, each capturing 20 to 200 cards, at most half of them defrauded."""
    _, captured = simulate_with_captures(rows=1_000_000, seed=42)
    per_point = captured.groupby("compromise_point_id").agg(
        cards=("card_id", "size"), used=("stolen_data_used_at", "count"))
    assert 10 <= len(per_point) <= 30
    assert per_point["cards"].between(20, 200).all(), per_point
    assert per_point["used"].sum() <= 0.5 * per_point["cards"].sum()
