"""Every bad raw extract is refused in one line naming the file, the column and the rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cardfraud.data.checks import DataValidationError
from cardfraud.data.load_step import cli, load_transactions
from cardfraud.runner.config import ConfigError
from cardfraud.runner.parameter_rules import check_parameter_values


def raw_purchases(rows: int = 60) -> pd.DataFrame:
    """Three cards' purchases in time order, both classes, every raw column."""
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "transaction_id": np.arange(1, rows + 1),
        "card_id": np.arange(rows) % 3 + 1,
        "timestamp": pd.date_range("2024-03-01", periods=rows, freq="37min").astype(str),
        "amount": rng.integers(10, 500, rows) * 100.0,
        "merchant_id": rng.integers(1, 6, rows),
        "latitude": 4.6 + rng.random(rows) / 10, "longitude": -74.1 + rng.random(rows) / 10,
        "entry_mode": rng.choice(["05", "07", "90", "81"], rows),
        "verification": rng.choice(["pin", "none"], rows),
        "channel": rng.choice(["onsite", "online"], rows),
        "fraud": (np.arange(rows) % 10 == 0).astype(int),
    })


def cardholders(cards=(1, 2, 3)) -> pd.DataFrame:
    return pd.DataFrame({"card_id": list(cards), "home_latitude": 4.65,
                         "home_longitude": -74.05})


def write(frame: pd.DataFrame, path) -> str:
    frame.to_csv(path, index=False)
    return str(path)


def load(tmp_path, frame, holders=None, **options):
    purchases = write(frame, tmp_path / "purchases.csv")
    holders_path = write(cardholders() if holders is None else holders, tmp_path / "homes.csv")
    return load_transactions(source="raw", path=purchases, cardholders_path=holders_path,
                             **options)


def refused(tmp_path, frame, holders=None, **options) -> str:
    with pytest.raises(DataValidationError) as caught:
        load(tmp_path, frame, holders, **options)
    message = str(caught.value)
    assert "\n" not in message and "purchases.csv" in message or "homes.csv" in message
    return message


def test_an_unknown_code_is_refused_naming_column_code_and_rows(tmp_path):
    frame = raw_purchases()
    frame.loc[[4, 9, 30], "entry_mode"] = "06"
    message = refused(tmp_path, frame)
    assert "column 'entry_mode' has the code 6 on 3 rows (rows 5, 10, 31)" in message
    assert "load.codes.entry_mode does not map" in message and "chip, contactless" in message


def test_an_unknown_verification_word_is_refused(tmp_path):
    frame = raw_purchases()
    frame.loc[2, "verification"] = "biometric"
    assert "column 'verification' has the code 'biometric' on 1 row (row 3)" in refused(tmp_path, frame)


@pytest.mark.parametrize("amount", [0, -1500])
def test_an_amount_of_zero_or_below_is_refused(tmp_path, amount):
    frame = raw_purchases()
    frame.loc[7, "amount"] = amount
    message = refused(tmp_path, frame)
    assert "column 'amount'" in message and "row 8" in message


def test_a_timestamp_that_is_not_a_date_is_refused(tmp_path):
    frame = raw_purchases()
    frame.loc[11, "timestamp"] = "yesterday noon"
    message = refused(tmp_path, frame)
    assert "column 'timestamp' has values that are not dates and times at row 12" in message


def test_a_timestamp_out_of_order_within_a_card_is_refused_unless_sorting_is_asked(tmp_path):
    frame = raw_purchases()
    frame.loc[[3, 6], "timestamp"] = frame.loc[[6, 3], "timestamp"].to_numpy()  # card 1
    message = refused(tmp_path, frame)
    assert "column 'timestamp' is out of order within card 1: row 7" in message
    assert "comes after row 4" in message and "load.out_of_order=sort" in message
    sorted_frame, _, data = load(tmp_path, frame, out_of_order="sort")
    assert data["derivation"]["purchases_out_of_order"] == 1
    in_order, _, _ = load(tmp_path, frame.sort_values(["card_id", "timestamp"]))
    by_id = sorted_frame.set_index("transaction_id").sort_index()
    pd.testing.assert_frame_equal(by_id, in_order.set_index("transaction_id").sort_index())


def test_a_card_with_no_home_is_counted_and_its_distance_from_home_stays_unknown(tmp_path):
    frame, _, data = load(tmp_path, raw_purchases(), holders=cardholders(cards=(1, 2)))
    homes = data["derivation"]["homes"]
    assert homes["cards_without_home"] == 1 and homes["cards_without_home_examples"] == ["3"]
    assert homes["rows_without_home"] == 20 and len(frame) == 60  # rows kept
    unknown = frame["distance_from_home"].isna()
    assert unknown.sum() == 20 and (frame.loc[unknown, "card_id"] == 3).all()
    assert data["derivation"]["inputs"]["distance_from_home"]["unknown_rows"] == 20


def test_a_card_given_twice_in_the_cardholder_file_is_refused(tmp_path):
    message = refused(tmp_path, raw_purchases(), holders=cardholders(cards=(1, 2, 2)))
    assert "homes.csv" in message and "duplicate ids 2" in message


def test_homes_on_the_rows_and_a_cardholder_file_are_refused(tmp_path):
    frame = raw_purchases().assign(home_latitude=4.6, home_longitude=-74.1)
    assert "keep one source of homes" in refused(tmp_path, frame)


def test_a_raw_extract_without_a_card_or_with_the_seven_inputs_is_refused(tmp_path):
    assert "lacks column card_id" in refused(tmp_path, raw_purchases().drop(columns="card_id"))
    message = refused(tmp_path, raw_purchases().assign(used_chip=1))
    assert "already has used_chip" in message and "load.source=file" in message


def test_the_load_command_refuses_a_bad_raw_file_with_exit_2(tmp_path, capsys):
    frame = raw_purchases()
    frame.loc[0, "amount"] = 0
    path = write(frame, tmp_path / "purchases.csv")
    assert cli(["--input", path]) == 2  # detected as raw: no inputs, card, time and amount
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "amounts of zero or below at row 1" in err


@pytest.mark.parametrize("codes,message", [
    ({"entry_mode": {"05": "chipped"}}, "load.codes.entry_mode maps '05' to 'chipped'"),
    ({"pos": {"05": "chip"}}, "load.codes names 'pos'"),
    ({"entry_mode": {"05": "chip", "5": "stripe"}}, "maps '5' to 'stripe' and to 'chip'"),
])
def test_a_wrong_load_codes_stops_the_run_before_any_notebook(codes, message):
    with pytest.raises(ConfigError, match=message):
        check_parameter_values({"load": {"codes": codes}}, "params/default.yaml")


@pytest.mark.parametrize("key,value,message", [
    ("out_of_order", "maybe", "parameter load.out_of_order is the text 'maybe'; allowed: one of refuse, sort"),
    ("source", "bank", "parameter load.source is the text 'bank'; allowed: one of simulated, file, raw"),
    ("cardholder_columns", {"home": "CIUDAD"}, "parameter load.cardholder_columns"),
])
def test_a_wrong_raw_parameter_is_refused_before_any_notebook(key, value, message):
    with pytest.raises(ConfigError, match=message):
        check_parameter_values({"load": {key: value}}, "params/default.yaml")


def test_a_raw_extract_that_cannot_say_the_channel_is_refused_naming_what_to_map(tmp_path):
    from cardfraud.data.checks import DataValidationError
    from cardfraud.data.raw import load_raw_extract

    frame = pd.DataFrame({"card_id": [1, 1, 2, 2], "timestamp": pd.date_range("2024-01-01", periods=4,
                                                                                freq="h"),
                          "amount": [10.0, 20.0, 30.0, 40.0], "merchant_id": [5, 6, 5, 7],
                          "fraud": [0, 1, 0, 0]})
    with pytest.raises(DataValidationError, match=r"bank\.csv: no online_order .*load\.codes"):
        load_raw_extract(frame, "bank.csv")
