"""load.coordinates_path: every bad coordinates file (or extract it cannot join) has its message."""

from __future__ import annotations

import pandas as pd
import pytest

from cardfraud.data.checks import DataValidationError
from cardfraud.data.load_step import load_transactions


@pytest.fixture
def extract(tmp_path, good_frame):
    """The eight purchases with transaction ids 101..108 and no coordinates."""
    path = tmp_path / "core.csv"
    good_frame.assign(transaction_id=range(101, 109)).to_csv(path, index=False)
    return path


def provider_rows() -> pd.DataFrame:
    """Coordinates for six of the eight purchases, all in Bogotá."""
    return pd.DataFrame({"transaction_id": [101, 102, 103, 104, 105, 106],
                         "latitude": [4.60, 4.61, 4.62, 4.63, 4.64, 4.65],
                         "longitude": [-74.08, -74.07, -74.06, -74.05, -74.04, -74.03]})


def with_cell(frame: pd.DataFrame, row: int, column: str, value) -> pd.DataFrame:
    frame = frame.astype({column: object}) if isinstance(value, str) else frame.copy()
    frame.loc[row, column] = value
    return frame


BAD_PROVIDER_FILES = {
    "duplicate_ids": (with_cell(provider_rows(), 4, "transaction_id", 102),
                      "geo.csv: column 'transaction_id' has duplicate ids 102 at rows 2, 5; each "
                      "purchase must appear once"),
    "missing_id": (with_cell(provider_rows(), 3, "transaction_id", None),
                   "geo.csv: missing values in column(s) transaction_id at row 4"),
    "latitude_above_90": (with_cell(provider_rows(), 2, "latitude", 95.0),
                          "geo.csv: column 'latitude' has values above 90 (latitudes lie in "
                          "[-90, 90]) at row 3 (e.g. 95)"),
    "longitude_below_minus_180": (with_cell(provider_rows(), 5, "longitude", -200.0),
                                  "geo.csv: column 'longitude' has values below -180 at row 6 "
                                  "(e.g. -200); longitudes lie in [-180, 180]"),
    "non_numeric_latitude": (with_cell(provider_rows(), 1, "latitude", "4°36'N"),
                             "geo.csv: column 'latitude' has non-numeric values at row 2 "
                             "(e.g. \"4°36'N\")"),
    "missing_longitude": (with_cell(provider_rows(), 0, "longitude", None),
                          "geo.csv: missing values in column(s) longitude at row 1; give both "
                          "coordinates of a purchase, or leave it out of the file"),
    "no_transaction_id": (provider_rows().rename(columns={"transaction_id": "id"}),
                          "geo.csv: missing column transaction_id (a coordinates file has "
                          "transaction_id, latitude, longitude; found: id, latitude, longitude)"),
    "negative_accuracy": (provider_rows().assign(accuracy_m=[5, 10, -3, 8, 8, 8]),
                          "geo.csv: column 'accuracy_m' has negative values at row 3 (e.g. -3); "
                          "accuracies are metres >= 0"),
    "captured_at_not_a_time": (provider_rows().assign(captured_at=["2024-05-01 10:00"] * 5 + ["ayer"]),
                               "geo.csv: column 'captured_at' has values that are not dates and "
                               "times at row 6 (e.g. 'ayer')"),
}


@pytest.mark.parametrize("kind", list(BAD_PROVIDER_FILES))
def test_bad_coordinates_file_is_refused_in_one_line(kind, extract, tmp_path):
    frame, message = BAD_PROVIDER_FILES[kind]
    coordinates = tmp_path / "geo.csv"
    frame.to_csv(coordinates, index=False)
    with pytest.raises(DataValidationError) as caught:
        load_transactions(path=str(extract), coordinates_path=str(coordinates))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_duplicate_ids_in_a_parquet_coordinates_file_are_refused(extract, tmp_path):
    coordinates = tmp_path / "geo.parquet"
    with_cell(provider_rows(), 5, "transaction_id", 101).to_parquet(coordinates)
    with pytest.raises(DataValidationError, match=r"geo\.parquet: column 'transaction_id' has "
                                                  r"duplicate ids 101 at rows 1, 6"):
        load_transactions(path=str(extract), coordinates_path=str(coordinates))


def write_extract(tmp_path, frame: pd.DataFrame):
    extract, coordinates = tmp_path / "core.csv", tmp_path / "geo.csv"
    frame.to_csv(extract, index=False)
    provider_rows().to_csv(coordinates, index=False)
    return str(extract), str(coordinates)


def test_duplicate_ids_in_the_extract_are_refused(tmp_path, good_frame):
    ids = [101, 102, 103, 104, 105, 103, 107, 108]
    extract, coordinates = write_extract(tmp_path, good_frame.assign(transaction_id=ids))
    with pytest.raises(DataValidationError, match=r"core\.csv: column 'transaction_id' has "
                                                  r"duplicate ids 103 at rows 3, 6; each purchase "
                                                  r"must appear once \(set load\.duplicates=drop"):
        load_transactions(path=extract, coordinates_path=coordinates)


def test_extract_without_transaction_id_is_refused(tmp_path, good_frame):
    extract, coordinates = write_extract(tmp_path, good_frame)
    with pytest.raises(DataValidationError, match=r"core\.csv: no column transaction_id, which "
                                                  r"load\.coordinates_path \(.*geo\.csv\) is joined on"):
        load_transactions(path=extract, coordinates_path=coordinates)


def test_coordinates_in_both_files_are_refused(tmp_path, good_frame):
    frame = good_frame.assign(transaction_id=range(101, 109), latitude=4.6, longitude=-74.1)
    extract, coordinates = write_extract(tmp_path, frame)
    with pytest.raises(DataValidationError, match=r"core\.csv: has columns latitude, longitude "
                                                  r"and load\.coordinates_path gives .*geo\.csv "
                                                  r"too; keep one source of coordinates"):
        load_transactions(path=extract, coordinates_path=coordinates)


def test_simulator_with_a_coordinates_file_is_refused(tmp_path):
    coordinates = tmp_path / "geo.csv"
    provider_rows().to_csv(coordinates, index=False)
    with pytest.raises(DataValidationError, match=r"simulator: has columns latitude, longitude "
                                                  r"and load\.coordinates_path gives"):
        load_transactions(source="simulated", simulator={"rows": 2000, "seed": 1},
                          coordinates_path=str(coordinates))


def test_missing_coordinates_file_is_named(extract, tmp_path):
    with pytest.raises(DataValidationError, match=r"nowhere\.csv: file not found"):
        load_transactions(path=str(extract), coordinates_path=str(tmp_path / "nowhere.csv"))


@pytest.mark.slow
def test_run_all_joins_relative_paths_then_refuses_a_bad_file_and_keeps_what_was_published(tmp_path):
    import hashlib
    import json
    import subprocess
    import sys

    from conftest import ROOT, make_transactions

    extract = make_transactions(rows=700, seed=2).assign(transaction_id=range(1, 701))
    extract.to_csv(tmp_path / "as400.csv", index=False)
    geo = pd.DataFrame({"transaction_id": range(51, 751), "latitude": 4.6, "longitude": -74.1})
    geo.to_parquet(tmp_path / "provider.parquet")

    def run(coordinates: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(ROOT / "run_all.py"), "--params",
                               str(ROOT / "params" / "smoke.yaml"), "--output", "out",
                               "--set", "load.path=as400.csv", "--set",
                               f"load.coordinates_path={coordinates}", "--only", "load"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=600)

    done = run("provider.parquet")
    assert done.returncode == 0, done.stderr[-3000:]
    record = json.loads((tmp_path / "out" / "run.json").read_text())
    assert record["params"]["load"]["coordinates_path"] == str(tmp_path / "provider.parquet")
    found = record["load"]["coordinates"]
    assert (found["matched"], found["without_coordinates"], found["orphan_coordinates"]) == (650, 50, 50)
    assert "purchases without coordinates (kept)" in (tmp_path / "out" / "site" / "load.html").read_text()

    published = sorted((tmp_path / "out" / "site").rglob("*")) + [tmp_path / "out" / "run.json"]
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in published if p.is_file()}
    geo.assign(transaction_id=[*range(51, 750), 60]).to_csv(tmp_path / "twice.csv", index=False)
    done = run("twice.csv")
    assert done.returncode == 1
    failed = [line for line in done.stderr.splitlines() if line.startswith("FAILED:")]
    assert len(failed) == 1, done.stderr[-2000:]
    assert "twice.csv: column 'transaction_id' has duplicate ids 60 at rows 10, 700" in failed[0]
    assert "Traceback" not in done.stderr
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in published if p.is_file()} == before
