"""Homes from a cardholder file or a city table, a Sparkov-style public file, and the round
trip from the simulator's raw extract back to its own columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cardfraud.data.cardholders import place_name
from cardfraud.data.derive import haversine_km
from cardfraud.data.load_step import load_transactions
from cardfraud.data.raw_source import derivation_table, homes_table
from cardfraud.simulator.command import cli as simulate_cli
from cardfraud.simulator.raw_extract import EXACT, compare_with_simulator
from cardfraud.simulator.simulate import simulate

BOGOTA, CALI = (4.711, -74.072), (3.452, -76.532)


def purchases(cards=("c1", "c2", "c3"), channel: bool = True) -> pd.DataFrame:
    rows = []
    for i, card in enumerate(cards):
        for day in range(4):
            rows.append({"card_id": card, "timestamp": f"2024-02-0{day + 1} 1{i}:00",
                         "amount": 1000.0 * (day + 1), "merchant_id": f"m{day % 2}",
                         "latitude": CALI[0], "longitude": CALI[1], "channel": "onsite",
                         "fraud": int(day == 3)})
    return pd.DataFrame(rows) if channel else pd.DataFrame(rows).drop(columns="channel")


def test_home_cities_are_placed_by_the_built_in_table_without_case_or_accents(tmp_path):
    raw, homes = tmp_path / "raw.csv", tmp_path / "homes.csv"
    purchases().to_csv(raw, index=False)
    pd.DataFrame({"card_id": ["c1", "c2", "c3"], "city": ["BOGOTA", "cali", "Atlantis"]}).to_csv(
        homes, index=False)
    frame, _, data = load_transactions(source="raw", path=str(raw), cardholders_path=str(homes))
    found = data["derivation"]["homes"]
    assert found["placed_by_city"] == 2 and found["places_not_in_table"] == ["Atlantis"]
    assert found["cards_without_home"] == 1 and found["cards_without_home_examples"] == ["c3"]
    by_card = frame.groupby("card_id", observed=True)["distance_from_home"].first()
    assert by_card["c1"] == pytest.approx(float(haversine_km(*BOGOTA, *CALI)))
    assert by_card["c2"] == pytest.approx(0.0) and np.isnan(by_card["c3"])
    assert "Atlantis" in homes_table(data).loc["places not in the city table", "result"]
    assert place_name("  Bogotá ") == place_name("BOGOTA") == "bogota"


def test_postal_codes_are_placed_by_the_users_city_table(tmp_path):
    raw, homes, cities = tmp_path / "raw.csv", tmp_path / "homes.csv", tmp_path / "cities.csv"
    purchases(cards=("c1", "c2")).to_csv(raw, index=False)
    pd.DataFrame({"card_id": ["c1", "c2"], "home_postal_code": ["050001", "760001"]}).to_csv(
        homes, index=False)
    pd.DataFrame({"postal_code": ["050001", "760001"], "latitude": [6.244, CALI[0]],
                  "longitude": [-75.581, CALI[1]]}).to_csv(cities, index=False)
    frame, _, data = load_transactions(source="raw", path=str(raw), cardholders_path=str(homes),
                                       cities_path=str(cities))
    assert data["derivation"]["homes"]["city_table"] == str(cities)
    assert frame.loc[frame["card_id"] == "c2", "distance_from_home"].max() == pytest.approx(0.0)
    assert frame["distance_from_home"].notna().all()


def sparkov_style(rows: int = 300, seed: int = 0) -> pd.DataFrame:
    """A file shaped like the public Sparkov synthetic card data (home and merchant places)."""
    rng = np.random.default_rng(seed)
    cards = np.array([2703186189652095, 4613314721966, 38859492057661])
    card = rng.choice(cards, rows)
    home = {c: (4.6 + i, -74.1 - i) for i, c in enumerate(cards)}
    times = pd.Timestamp("2019-01-01") + pd.to_timedelta(np.sort(rng.integers(0, 90 * 86400, rows)),
                                                          unit="s")
    return pd.DataFrame({
        "trans_date_trans_time": times.strftime("%Y-%m-%d %H:%M:%S"), "cc_num": card,
        "merchant": rng.choice(["fraud_Rippin, Kub and Mann", "fraud_Heller-Gutmann",
                                "fraud_Lind-Buckridge"], rows),
        "category": rng.choice(["misc_net", "grocery_pos", "shopping_net", "gas_transport"], rows),
        "amt": rng.uniform(1, 300, rows).round(2),
        "city": "Bogota", "zip": 110111,
        "lat": [home[c][0] for c in card], "long": [home[c][1] for c in card],
        "trans_num": [f"{i:032x}" for i in rng.integers(0, 2**62, rows)],
        "merch_lat": [home[c][0] + 0.1 for c in card], "merch_long": [home[c][1] for c in card],
        "is_fraud": (rng.random(rows) < 0.05).astype(int),
    })


SPARKOV_COLUMNS = {"card_id": "cc_num", "timestamp": "trans_date_trans_time",
                   "merchant_id": "merchant", "amount": "amt", "latitude": "merch_lat",
                   "longitude": "merch_long", "home_latitude": "lat", "home_longitude": "long",
                   "home_city": "city", "transaction_id": "trans_num", "fraud": "is_fraud"}


def test_a_sparkov_style_file_runs_through_the_load_step_with_a_mapping(tmp_path):
    path = tmp_path / "fraudTrain.csv"
    raw = sparkov_style()
    raw.to_csv(path, index=False)
    frame, report, data = load_transactions(path=str(path), columns=SPARKOV_COLUMNS,
                                            codes={"online_category_suffix": "_net"})
    assert data["source"] == "raw" and report.rows_kept == 300  # detected: no inputs in it
    assert frame["online_order"].tolist() == raw["category"].str.endswith("_net").astype(int).tolist()
    assert frame["distance_from_home"].to_numpy() == pytest.approx(
        haversine_km(raw["lat"], raw["long"], raw["merch_lat"], raw["merch_long"]))
    table = derivation_table(data)
    assert table.loc["used_chip", "status"].startswith("absent")
    assert table.loc["used_pin_number", "status"].startswith("absent")
    assert "ends in '_net'" in table.loc["online_order", "how"]
    assert data["derivation"]["homes"]["source"] == "purchase rows"
    assert frame["fraud"].sum() == raw["is_fraud"].sum()


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("raw")
    assert simulate_cli(["--rows", "6000", "--seed", "5", "--raw", "--out", str(folder)]) == 0
    derived, _, data = load_transactions(source="raw", path=str(folder / "purchases.csv"),
                                         cardholders_path=str(folder / "cardholders.csv"))
    return derived, simulate(rows=6000, seed=5), data


def test_the_simulators_raw_extract_derives_back_exactly_where_definitions_match(round_trip):
    derived, simulated, data = round_trip
    assert data["derivation"]["homes"]["cards_without_home"] == 0
    table = compare_with_simulator(derived, simulated)
    for name in [*EXACT, "distance_from_last_transaction"]:
        assert table.loc[name, "exactly equal %"] == 100.0, name
    assert table.loc["distance_from_last_transaction", "rows compared"] == \
        len(simulated) - simulated["card_id"].nunique()


def test_where_definitions_differ_the_difference_is_measured(round_trip):
    derived, simulated, _ = round_trip
    table = compare_with_simulator(derived, simulated)
    ratio = table.loc["ratio_to_median_purchase_price"]
    assert ratio["exactly equal %"] < 20 and 0.02 < ratio["median |difference|"] < 1.0
    repeat = table.loc["repeat_retailer"]
    assert 60 < repeat["exactly equal %"] < 100


def test_the_readmes_worked_mapping_of_an_as400_extract_and_customer_master(tmp_path):
    raw, master = tmp_path / "as400_compras.csv", tmp_path / "maestro_clientes.csv"
    bank = purchases(cards=("4111", "4222"), channel=False).rename(columns={
        "card_id": "NUM_TARJETA", "timestamp": "FECHA_HORA", "amount": "VALOR",
        "merchant_id": "COD_COMERCIO", "fraud": "FRAUDE"})
    bank["MODO_ENTRADA"] = ["051", "071", "091", "901", "801", "011", "812", "051"]
    bank["CVM"] = ["P", "O", "F", "N"] * 2
    bank["CANAL"] = ["PR", "PR", "NP", "PR", "PR", "PR", "NP", "PR"]
    bank.to_csv(raw, sep=";", decimal=",", index=False)
    pd.DataFrame({"NUM_TARJETA": ["4111", "4222"], "CIUDAD_RESIDENCIA": ["Bogotá", "CALI"]}).to_csv(
        master, sep=";", index=False)
    frame, _, data = load_transactions(
        source="raw", path=str(raw), cardholders_path=str(master),
        columns={"card_id": "NUM_TARJETA", "timestamp": "FECHA_HORA", "amount": "VALOR",
                 "merchant_id": "COD_COMERCIO", "entry_mode": "MODO_ENTRADA",
                 "verification": "CVM", "channel": "CANAL", "fraud": "FRAUDE"},
        cardholder_columns={"card_id": "NUM_TARJETA", "home_city": "CIUDAD_RESIDENCIA"},
        codes={"entry_mode": {"051": "chip", "071": "contactless", "091": "wallet_token",
                              "901": "stripe", "801": "stripe", "011": "keyed",
                              "812": "ecommerce"},
               "verification": {"P": "pin", "O": "otp_3ds", "F": "signature", "N": "none"},
               "channel": {"PR": "onsite", "NP": "online"}})
    assert frame["used_chip"].tolist() == [1, 1, 1, 0, 0, 0, 0, 1]
    assert frame["used_pin_number"].tolist() == [1, 1, 0, 0] * 2
    assert frame["online_order"].tolist() == [0, 0, 1, 0, 0, 0, 1, 0]
    assert data["derivation"]["homes"]["placed_by_city"] == 2
    assert frame.loc[frame["card_id"].astype(str) == "4222", "distance_from_home"].max() == \
        pytest.approx(0.0)


def test_raw_without_a_path_derives_the_simulators_extract_and_compares_on_the_page():
    from cardfraud.data.raw_source import simulator_comparison_table

    frame, _, data = load_transactions(source="raw", simulator={"rows": 3000, "seed": 2})
    assert data["source"] == "raw" and len(frame) == 3000
    table = simulator_comparison_table(data)
    assert table.loc["used_chip", "exactly equal %"] == 100.0
    assert table.loc["ratio_to_median_purchase_price", "exactly equal %"] < 20
    assert "not compared" in simulator_comparison_table({"source": "file"}).iloc[0, 0]
