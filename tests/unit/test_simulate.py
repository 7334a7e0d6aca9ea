"""The built-in simulator: determinism, schema, column definitions, calibration, knobs, drift, CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cardfraud.data.schema import FEATURES, TARGET
from cardfraud.simulator.command import cli
from cardfraud.simulator.realism import realism_report, separability_check
from cardfraud.simulator.simulate import SIMULATOR_DEFAULTS, simulate
from cardfraud.simulator.world import haversine_km

CONTEXT_COLUMNS = [
    "transaction_id", "timestamp", "card_id", "merchant_id", "channel", "amount", "city",
    "latitude", "longitude", "home_latitude", "home_longitude", "fraud_scenario",
    "compromise_point_id", "cash_out_area_id",
]
SCENARIOS = ["card_not_present", "account_takeover", "cloned_card"]


@pytest.fixture(scope="module")
def calibration_frame() -> pd.DataFrame:
    """200,000 purchases at default knobs (the size the calibration is asserted at)."""
    return simulate(rows=200_000, seed=42)


@pytest.fixture(scope="module")
def small_frame() -> pd.DataFrame:
    """A small default frame for schema and definition checks."""
    return simulate(rows=20_000, seed=11)


def test_same_seed_gives_the_same_data_and_another_seed_other_data():
    first, again = simulate(rows=5_000, seed=3), simulate(rows=5_000, seed=3)
    pd.testing.assert_frame_equal(first, again)
    other = simulate(rows=5_000, seed=4)
    assert not np.array_equal(first["amount"].to_numpy(), other["amount"].to_numpy())
    assert not np.allclose(first["distance_from_home"], other["distance_from_home"])


def test_schema_dtypes_and_sizes(small_frame):
    frame = small_frame
    assert list(frame.columns) == FEATURES + [TARGET] + CONTEXT_COLUMNS
    assert len(frame) == 20_000
    for column in FEATURES[:3]:
        assert frame[column].dtype == np.float64
    for column in FEATURES[3:] + [TARGET]:
        assert frame[column].dtype == np.int8
        assert set(frame[column].unique()) <= {0, 1}
    assert frame["timestamp"].dtype == "datetime64[ns]"
    assert list(frame["channel"].cat.categories) == ["onsite", "online"]
    assert "none" in frame["fraud_scenario"].cat.categories
    assert "Bogotá" in frame["city"].cat.categories
    assert frame["transaction_id"].tolist() == list(range(1, 20_001))
    assert frame["timestamp"].is_monotonic_increasing
    start = pd.Timestamp(SIMULATOR_DEFAULTS["start"])
    assert frame["timestamp"].min() >= start
    assert frame["timestamp"].max() < start + pd.Timedelta(days=SIMULATOR_DEFAULTS["days"])
    assert not frame.drop(columns=["city"]).isna().any().any()
    assert (frame[FEATURES[:3]] >= 0).all().all()
    assert frame["latitude"].between(-5, 14).all() and frame["longitude"].between(-82, -66).all()


def test_columns_follow_their_definitions(small_frame):
    frame = small_frame.sort_values(["card_id", "timestamp", "transaction_id"]).reset_index(drop=True)
    home = haversine_km(frame["home_latitude"], frame["home_longitude"], frame["latitude"], frame["longitude"])
    np.testing.assert_allclose(frame["distance_from_home"], home, rtol=1e-9, atol=1e-9)
    same = (frame["card_id"] == frame["card_id"].shift()).to_numpy()
    last = haversine_km(frame["latitude"].shift(), frame["longitude"].shift(),
                        frame["latitude"], frame["longitude"])
    np.testing.assert_allclose(frame["distance_from_last_transaction"][same], last[same], atol=1e-9)
    genuine = frame[frame["fraud_scenario"] == "none"]
    median = genuine.groupby("card_id")["amount"].median()
    expected = frame["amount"] / frame["card_id"].map(median)
    np.testing.assert_allclose(frame["ratio_to_median_purchase_price"], expected, rtol=1e-12)
    assert (frame["online_order"] == (frame["channel"] == "online")).all()
    assert (frame[TARGET] == (frame["fraud_scenario"] != "none")).all()
    assert (frame["amount"] % 100 == 0).all()


def test_calibration_within_tolerance_at_200k_rows(calibration_frame):
    report = realism_report(calibration_frame)
    assert list(report.columns) == ["measure", "target", "simulated", "tolerance", "within"]
    assert len(report) == 28
    assert report["within"].all(), report.loc[~report["within"]].to_string()


def test_realism_report_flags_frames_off_target(calibration_frame):
    off = calibration_frame.copy()
    off["distance_from_home"] *= 1.5
    off["used_chip"] = 1 - off["used_chip"]
    report = realism_report(off).set_index("measure")
    assert not report.loc["distance_from_home p50", "within"]
    assert not report.loc["share used_chip", "within"]
    assert not report.loc["fraud rate used_chip=0 / used_chip=1", "within"]
    assert report.loc["share fraud", "within"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_higher_scenario_rate_gives_more_fraud_of_that_scenario(scenario):
    knob = f"{scenario}_rate"
    base = simulate(rows=30_000, seed=1)["fraud_scenario"].value_counts()
    more = simulate(rows=30_000, seed=1, **{knob: 3 * SIMULATOR_DEFAULTS[knob]})["fraud_scenario"].value_counts()
    assert more[scenario] > 2.4 * base[scenario]
    for other in set(SCENARIOS) - {scenario}:
        assert abs(more[other] / base[other] - 1) < 0.3
    none = simulate(rows=30_000, seed=1, **{knob: 0.0})["fraud_scenario"].value_counts()
    assert none[scenario] == 0


def test_scenarios_look_like_their_story(calibration_frame):
    frame = calibration_frame
    by = {name: group for name, group in frame.groupby("fraud_scenario", observed=True)}
    genuine, cnp, ato, cloned = by["none"], by["card_not_present"], by["account_takeover"], by["cloned_card"]
    assert cnp["online_order"].all() and ato["online_order"].all() and not cloned["online_order"].any()
    assert cnp["used_pin_number"].mean() < 0.01 and cnp["ratio_to_median_purchase_price"].median() > 3
    assert (cloned["used_chip"] == 0).all() and cloned["distance_from_home"].median() > 50
    gaps = ato.sort_values(["card_id", "timestamp"]).groupby("card_id")["timestamp"].diff().dropna()
    assert gaps.median() < pd.Timedelta(minutes=15)  # a burst
    assert 0.9 < genuine["ratio_to_median_purchase_price"].median() < 1.1
    # honest unusual behaviour overlaps with fraud: large purchases and purchases far from home
    assert (genuine["ratio_to_median_purchase_price"] > 5).sum() > 0.2 * (cnp["ratio_to_median_purchase_price"] > 5).sum()
    assert (genuine["distance_from_home"] > 100).sum() > (cloned["distance_from_home"] > 100).sum()


def test_travel_and_large_purchase_knobs_change_genuine_behaviour():
    def genuine(**knobs):
        frame = simulate(rows=30_000, seed=2, **knobs)
        return frame[frame[TARGET] == 0]

    stay, travel = genuine(travel_rate=0.0), genuine(travel_rate=0.3)
    assert (travel["distance_from_home"] > 250).mean() > 5 * max((stay["distance_from_home"] > 250).mean(), 1e-3)
    few, many = genuine(large_purchase_rate=0.0), genuine(large_purchase_rate=0.05)
    assert (many["ratio_to_median_purchase_price"] > 8).mean() > 3 * (few["ratio_to_median_purchase_price"] > 8).mean()


def _split_at(frame: pd.DataFrame, day: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Purchases before and from ``day`` days after the start."""
    cut = pd.Timestamp(SIMULATOR_DEFAULTS["start"]) + pd.Timedelta(days=day)
    before = frame[frame["timestamp"] < cut].reset_index(drop=True)
    return before, frame[frame["timestamp"] >= cut].reset_index(drop=True)


@pytest.fixture(scope="module")
def undrifted() -> pd.DataFrame:
    return simulate(rows=60_000, seed=5)


def test_new_fraud_pattern_drift_changes_only_the_later_days(undrifted):
    drifted = simulate(rows=60_000, seed=5, drift_day=60, drift_kind="new_fraud_pattern")
    base_before, base_after = _split_at(undrifted, 60)
    drift_before, drift_after = _split_at(drifted, 60)
    pd.testing.assert_frame_equal(base_before, drift_before)
    assert (base_after["fraud_scenario"] == "card_testing").sum() == 0
    testing = drift_after[drift_after["fraud_scenario"] == "card_testing"]
    assert len(testing) > 0.02 * len(drift_after)
    assert drift_after[TARGET].mean() > base_after[TARGET].mean() + 0.02
    assert testing["online_order"].all() and testing["ratio_to_median_purchase_price"].median() < 0.2


def test_behaviour_shift_drift_moves_online_and_wallet_shares_later(undrifted):
    drifted = simulate(rows=60_000, seed=5, drift_day=45, drift_kind="behaviour_shift", drift_strength=1.0)
    base_before, base_after = _split_at(undrifted, 45)
    drift_before, drift_after = _split_at(drifted, 45)
    pd.testing.assert_frame_equal(base_before, drift_before)
    assert drift_after["online_order"].mean() > base_after["online_order"].mean() + 0.05
    assert drift_after["used_chip"].mean() > base_after["used_chip"].mean() + 0.10
    assert abs(drift_after[TARGET].mean() - base_after[TARGET].mean()) < 0.005


def test_every_default_knob_is_accepted_and_defaults_are_the_documented_ones():
    assert SIMULATOR_DEFAULTS["rows"] == 1_000_000 and SIMULATOR_DEFAULTS["seed"] == 42
    assert SIMULATOR_DEFAULTS["days"] == 90 and SIMULATOR_DEFAULTS["drift_day"] is None
    explicit = simulate(**{**SIMULATOR_DEFAULTS, "rows": 2_000})
    pd.testing.assert_frame_equal(explicit, simulate(rows=2_000))


def test_unknown_knob_gives_a_clear_error():
    with pytest.raises(ValueError, match=r"unknown knob 'fraud_rte'; known knobs: rows, seed, days"):
        simulate(rows=1_000, fraud_rte=0.1)


@pytest.mark.parametrize("knobs, message", [
    ({"rows": 10}, "rows must be an integer >= 100"),
    ({"rows": "many"}, "rows must be an integer"),
    ({"seed": -1}, "seed must be an integer >= 0"),
    ({"days": 0}, "days must be an integer"),
    ({"online_share": 1.5}, "online_share must be a share"),
    ({"card_not_present_rate": -0.1}, "card_not_present_rate must be a share"),
    ({"card_not_present_rate": 0.4, "account_takeover_rate": 0.4}, "must add up to at most 0.5"),
    ({"drift_day": 90}, r"drift_day must be null or an integer in \[0, days - 1 = 89\]"),
    ({"drift_kind": "sideways"}, "drift_kind must be one of"),
    ({"drift_strength": -1}, "drift_strength must be"),
    ({"country": "Peru"}, "country 'Peru' has no built-in city table"),
    ({"cities": [["Solo", 4.0, -74.0, 1.0]]}, "cities must list at least two"),
    ({"cities": [["A", 4.0, -74.0, 1.0], ["B", 95.0, -74.0, 1.0]]}, "bad city row"),
    ({"start": "someday"}, "start must be a date"),
])
def test_bad_knob_values_give_clear_errors(knobs, message):
    with pytest.raises(ValueError, match=message):
        simulate(**{"rows": 1_000, **knobs})


def test_custom_cities_are_used():
    cities = [["Quito", -0.18, -78.47, 2.0], ["Guayaquil", -2.17, -79.92, 2.7]]
    frame = simulate(rows=3_000, seed=1, cities=cities)
    assert set(frame["city"].cat.categories) == {"Quito", "Guayaquil"}
    assert frame["home_latitude"].between(-4, 2).all()


def test_cli_writes_parquet_and_csv(tmp_path, capsys):
    parquet, csv = tmp_path / "sim.parquet", tmp_path / "out" / "sim.csv"
    assert cli(["--rows", "2000", "--seed", "3", "--drift-day", "30", "--out", str(parquet)]) == 0
    expected = simulate(rows=2_000, seed=3, drift_day=30)
    written = pd.read_parquet(parquet)
    pd.testing.assert_frame_equal(written[FEATURES + [TARGET]], expected[FEATURES + [TARGET]])
    assert (written["fraud_scenario"].astype(str) == expected["fraud_scenario"].astype(str)).all()
    assert cli(["--rows", "2000", "--out", str(csv)]) == 0
    assert list(pd.read_csv(csv).columns) == FEATURES + [TARGET] + CONTEXT_COLUMNS
    assert "wrote 2,000 purchases" in capsys.readouterr().out


def test_cli_report_and_errors(tmp_path, capsys):
    assert cli(["--rows", "5000", "--days", "30", "--report"]) == 0
    out = capsys.readouterr().out
    assert "distance_from_home p99" in out and "measures within tolerance" in out
    assert "separability: skipped" in out
    assert cli(["--rows", "5000", "--drift-kind", "sideways", "--report"]) == 2
    assert "drift_kind must be one of" in capsys.readouterr().err
    assert cli(["--rows", "5000", "--out", str(tmp_path / "sim.txt")]) == 2
    assert cli(["--rows", "5000"]) == 2
    assert cli(["--no-such-option"]) == 2


@pytest.mark.slow
def test_classes_overlap_as_in_life(calibration_frame):
    """HistGradientBoosting on the 7 features, days 0-59 vs 60-89: PR-AUC in [0.80, 0.97]."""
    check = separability_check(calibration_frame)
    assert check["train_rows"] > 120_000 and check["test_rows"] > 60_000
    assert 0.80 <= check["pr_auc"] <= 0.97, check
