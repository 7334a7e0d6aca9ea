"""load.columns: every bad mapping is refused with one line naming the file and the header."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT, run_all

from cardfraud.data.checks import DataValidationError
from cardfraud.data.cleaning import load_file
from cardfraud.data.column_mapping import check_mapping_before_run
from cardfraud.runner.config import ConfigError
from cardfraud.runner.parameter_rules import check_parameter_values


@pytest.fixture
def bank_extract(tmp_path, good_frame):
    """The eight purchases under the core system's own headers for card, merchant and fraud."""
    frame = good_frame.rename(columns={"fraud": "FRAUDE"}).assign(
        NUM_TARJETA=[11, 12, 13, 11, 12, 13, 11, 12], COD_COMERCIO=[5, 5, 6, 6, 7, 7, 8, 8])
    path = tmp_path / "core.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("columns,message", [
    ({"card_id": "NUM_TARJ"}, "core.csv: load.columns maps card_id to the header 'NUM_TARJ', "
                              "which the file lacks (found: distance_from_home, "),
    ({"card_id": "NUM_TARJETA", "merchant_id": "NUM_TARJETA", "fraud": "FRAUDE"},
     "core.csv: load.columns maps card_id and merchant_id to the same header 'NUM_TARJETA'"),
    ({"card_id": "NUM_TARJETA", "used_chip": "COD_COMERCIO", "fraud": "FRAUDE"},
     "core.csv: load.columns maps used_chip to 'COD_COMERCIO', but the file also has a column "
     "'used_chip'"),
    ({"tarjeta": "NUM_TARJETA"}, "core.csv: load.columns maps 'tarjeta', which is not a column"),
])
def test_bad_mapping_is_refused_naming_file_and_header(bank_extract, columns, message):
    with pytest.raises(DataValidationError) as caught:
        load_file(bank_extract, columns=columns)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_header_is_refused_before_the_run_from_the_header_alone(bank_extract):
    with pytest.raises(DataValidationError, match=r"core\.csv: load\.columns maps timestamp to "
                                                  r"the header 'FECHA_HORA', which the file lacks"):
        check_mapping_before_run({"path": str(bank_extract), "columns": {"timestamp": "FECHA_HORA"}})


def test_missing_header_of_a_parquet_extract_is_refused_before_the_run(tmp_path, good_frame):
    path = tmp_path / "core.parquet"
    good_frame.to_parquet(path)
    with pytest.raises(DataValidationError, match=r"core\.parquet: .*'COD_COMERCIO', which the "
                                                  r"file lacks"):
        check_mapping_before_run({"path": str(path), "columns": {"merchant_id": "COD_COMERCIO"}})


def test_two_names_on_one_header_is_refused_in_the_params():
    params = {"load": {"columns": {"card_id": "NUM_TARJETA", "merchant_id": "NUM_TARJETA"}}}
    with pytest.raises(ConfigError, match=r"params\.yaml: parameter load\.columns maps card_id "
                                          r"and merchant_id to the same header 'NUM_TARJETA'"):
        check_parameter_values(params, "params.yaml")


@pytest.mark.parametrize("columns", [["card_id"], {"card_id": ""}, {"tarjeta": "NUM_TARJETA"},
                                     {"card_id": 7}])
def test_mapping_of_the_wrong_shape_is_refused_in_the_params(columns):
    with pytest.raises(ConfigError, match=r"parameter load\.columns is .*allowed: a mapping "
                                          r"\{name: the file's header\}"):
        check_parameter_values({"load": {"columns": columns}}, "params.yaml")


def test_load_command_refuses_a_missing_header_with_exit_2(bank_extract):
    done = subprocess.run([sys.executable, "-m", "cardfraud", "load", "--input", str(bank_extract),
                           "--column", "card_id=NUM_TARJ", "--column", "fraud=FRAUDE"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: {bank_extract}: load.columns maps card_id to the header 'NUM_TARJ', which the "
        f"file lacks (found: distance_from_home, distance_from_last_transaction, "
        f"ratio_to_median_purchase_price, repeat_retailer, used_chip, used_pin_number, "
        f"online_order, FRAUDE, NUM_TARJETA, COD_COMERCIO)"]


@pytest.mark.slow
def test_run_all_refuses_a_missing_header_before_any_notebook_with_exit_2(bank_extract, tmp_path):
    out = tmp_path / "out"
    done = run_all("--output", str(out), "--set", f"load.path={bank_extract}",
                   "--set", "load.columns={fraud: FRAUDE, merchant_id: COD_COMERCIO, "
                   "timestamp: FECHA_HORA}")
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.strip().splitlines() == [
        f"error: {bank_extract}: load.columns maps timestamp to the header 'FECHA_HORA', which "
        f"the file lacks (found: distance_from_home, distance_from_last_transaction, "
        f"ratio_to_median_purchase_price, repeat_retailer, used_chip, used_pin_number, "
        f"online_order, FRAUDE, NUM_TARJETA, COD_COMERCIO)"]
    assert not (out / "run.json").exists() and not (out / "site").exists()
