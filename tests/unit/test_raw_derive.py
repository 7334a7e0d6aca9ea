"""Each input derived from a tiny hand-made history with known answers, and the time order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cardfraud.data.codes import code_key, code_tables, decode
from cardfraud.data.derive import haversine_km
from cardfraud.data.raw import is_raw_extract, load_raw_extract
from cardfraud.data.schema import FEATURES

BOGOTA, MEDELLIN = (4.711, -74.072), (6.244, -75.581)
KM_BOGOTA_MEDELLIN = float(haversine_km(*BOGOTA, *MEDELLIN))


def history() -> pd.DataFrame:
    """Card A (home Bogotá): four purchases, card B (home Medellín): two, cards interleaved."""
    return pd.DataFrame({
        "card_id": ["A", "B", "A", "A", "B", "A"],
        "timestamp": ["2024-01-01 10:00", "2024-01-01 11:00", "2024-01-02 09:00",
                      "2024-01-03 09:00", "2024-01-05 08:00", "2024-01-04 12:00"],
        "amount": [100.0, 50.0, 300.0, 50.0, 200.0, 1000.0],
        "merchant_id": ["m1", "m1", "m2", "m1", "m1", "m3"],
        "latitude": [BOGOTA[0], MEDELLIN[0], MEDELLIN[0], BOGOTA[0], MEDELLIN[0], BOGOTA[0]],
        "longitude": [BOGOTA[1], MEDELLIN[1], MEDELLIN[1], BOGOTA[1], MEDELLIN[1], BOGOTA[1]],
        "home_latitude": [BOGOTA[0], MEDELLIN[0], BOGOTA[0], BOGOTA[0], MEDELLIN[0], BOGOTA[0]],
        "home_longitude": [BOGOTA[1], MEDELLIN[1], BOGOTA[1], BOGOTA[1], MEDELLIN[1], BOGOTA[1]],
        "entry_mode": ["05", "81", "07", "90", "09", "01"],
        "verification": ["pin", "otp_3ds", "none", "signature", "none", "pin"],
        "channel": ["onsite", "online", "onsite", "onsite", "online", "onsite"],
        "fraud": [0, 0, 1, 0, 0, 1],
    })


@pytest.fixture
def derived() -> pd.DataFrame:
    frame, _, _ = load_raw_extract(history(), "history.csv")
    return frame


def test_distance_from_home_is_km_from_home_to_the_purchase(derived):
    expected = [0, 0, KM_BOGOTA_MEDELLIN, 0, 0, 0]
    assert derived["distance_from_home"].to_numpy() == pytest.approx(expected, abs=1e-9)
    assert KM_BOGOTA_MEDELLIN == pytest.approx(240, abs=10)


def test_distance_from_last_is_from_the_previous_purchase_and_the_first_from_home(derived):
    # A: home->Bogotá 0, Bogotá->Medellín, Medellín->Bogotá, Bogotá->Bogotá; B: 0, 0
    expected = [0, 0, KM_BOGOTA_MEDELLIN, KM_BOGOTA_MEDELLIN, 0, 0]
    assert derived["distance_from_last_transaction"].to_numpy() == pytest.approx(expected, abs=1e-9)


def test_ratio_is_amount_over_the_median_of_earlier_amounts_and_1_at_first(derived):
    # A in time order: 100 (first: 1), 300 / 100, 50 / median(100, 300) = 50 / 200,
    # 1000 / median(100, 300, 50) = 1000 / 100; B: 50 (first: 1), 200 / 50
    expected = [1.0, 1.0, 3.0, 0.25, 4.0, 10.0]
    assert derived["ratio_to_median_purchase_price"].to_numpy() == pytest.approx(expected)


def test_repeat_retailer_is_1_when_the_card_bought_there_before(derived):
    assert derived["repeat_retailer"].tolist() == [0, 0, 0, 1, 1, 0]


def test_flags_come_from_the_iso_codes(derived):
    assert derived["used_chip"].tolist() == [1, 0, 1, 0, 1, 0]  # 05, 07, 09 carry a cryptogram
    assert derived["used_pin_number"].tolist() == [1, 1, 0, 0, 0, 1]  # pin and otp_3ds
    assert derived["online_order"].tolist() == [0, 1, 0, 0, 1, 0]
    assert list(derived.columns[:8]) == [*FEATURES, "fraud"]


def test_a_derived_input_never_uses_a_later_purchase():
    base, _, _ = load_raw_extract(history(), "history.csv")
    later = history()
    # card A's last purchase (2024-01-04, row 6): another place, amount, merchant and codes
    later.loc[5, ["amount", "merchant_id", "latitude", "longitude"]] = [7.0, "m1", 10.0, -75.0]
    changed, _, _ = load_raw_extract(later, "history.csv")
    earlier = [0, 1, 2, 3, 4]
    pd.testing.assert_frame_equal(changed.loc[earlier, FEATURES], base.loc[earlier, FEATURES])
    assert changed.loc[5, "repeat_retailer"] == 1 and base.loc[5, "repeat_retailer"] == 0


def test_purchases_at_the_same_time_are_taken_in_the_files_order():
    tied = history()
    tied.loc[2, "timestamp"] = tied.loc[0, "timestamp"]  # A's second purchase at the same second
    frame, _, story = load_raw_extract(tied, "tied.csv")
    assert frame.loc[2, "ratio_to_median_purchase_price"] == pytest.approx(3.0)
    assert frame.loc[2, "distance_from_last_transaction"] == pytest.approx(KM_BOGOTA_MEDELLIN)
    assert "file's order" in story["order"]


def test_the_inputs_an_extract_cannot_give_are_absent_not_invented():
    raw = history().drop(columns=["entry_mode", "verification", "home_latitude", "home_longitude"])
    frame, _, story = load_raw_extract(raw, "history.csv")
    assert "used_chip" not in frame and "used_pin_number" not in frame
    assert "distance_from_home" not in frame
    assert story["inputs"]["used_chip"]["status"] == "absent"
    assert "entry_mode" in story["inputs"]["used_chip"]["how"]
    # without a home the first purchase's distance from the last one is unknown, the others not
    assert frame["distance_from_last_transaction"].isna().tolist() == [True, True, False, False,
                                                                       False, False]
    assert story["inputs"]["distance_from_last_transaction"]["unknown_rows"] == 2


def test_an_empty_code_leaves_the_flag_unknown_for_that_row_only():
    raw = history()
    raw.loc[3, "entry_mode"] = None
    frame, _, story = load_raw_extract(raw, "history.csv")
    assert np.isnan(frame.loc[3, "used_chip"]) and frame["used_chip"].notna().sum() == 5
    assert story["inputs"]["used_chip"]["unknown_rows"] == 1


@pytest.mark.parametrize("code,key", [("05", "5"), (5, "5"), (5.0, "5"), (" CHIP ", "chip")])
def test_codes_are_compared_without_leading_zeros_case_or_spaces(code, key):
    assert code_key(code) == key


def test_codes_read_as_numbers_by_a_csv_reader_still_decode():
    meanings = decode(pd.Series([5, 7, 81, 90], name="entry_mode"),
                      code_tables(None)["entry_mode"], "x.csv")
    assert meanings.tolist() == ["chip", "contactless", "ecommerce", "stripe"]


def test_the_banks_own_codes_replace_the_defaults():
    raw = history()
    raw["entry_mode"] = ["C", "E", "T", "B", "W", "M"]
    codes = {"entry_mode": {"C": "chip", "T": "contactless", "W": "wallet_token", "B": "stripe",
                            "M": "keyed", "E": "ecommerce"}}
    frame, _, story = load_raw_extract(raw, "bank.csv", codes=codes)
    assert frame["used_chip"].tolist() == [1, 0, 1, 0, 1, 0]
    assert story["codes"]["entry_mode"]["c"] == "chip"


def test_a_file_without_the_seven_inputs_and_with_card_time_amount_is_raw():
    assert is_raw_extract(history().columns)
    assert not is_raw_extract([*FEATURES, "fraud", "card_id", "timestamp", "amount"])
    assert not is_raw_extract(["card_id", "timestamp", "fraud"])


def test_the_data_quality_table_names_the_raw_columns_checked():
    from cardfraud.data.load_step import data_quality_table

    _, report, _ = load_raw_extract(history(), "history.csv")
    found = data_quality_table(report).loc["required columns present", "result"]
    assert found.startswith("card_id, timestamp, amount, fraud") and "derived" in found


@pytest.mark.parametrize("data,path_ran", [
    ({"source": "file", "path": "/data/x.csv"}, "load path: file"),
    ({"source": "simulated", "simulator": {"seed": 3}}, "load path: simulated"),
])
def test_the_load_page_says_which_path_ran(data, path_ran):
    from cardfraud.data.cleaning import CleaningReport
    from cardfraud.data.load_step import describe_source

    data = {**data, "fingerprint": "sha256:" + "a" * 64, "rows": 5}
    assert path_ran in describe_source(data, CleaningReport(source="x", rows_read=5, rows_kept=5))


def test_the_raw_page_says_raw_ran_and_names_the_absent_inputs(tmp_path):
    from cardfraud.data.load_step import describe_source, load_transactions

    path = tmp_path / "raw.csv"
    history().drop(columns=["verification"]).to_csv(path, index=False)
    frame, report, data = load_transactions(path=str(path))  # detected: no inputs in the file
    from cardfraud.report.markup import plain_text

    text = plain_text(describe_source(data, report))
    assert "load path: raw" in text and "6 derived; used_pin_number absent" in text
