"""The provider's coordinates joined to the purchases: counts, values, and points abroad."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cardfraud.data.cleaning import load_file
from cardfraud.data.context import CONTEXT_USES, context_columns_report, context_columns_table
from cardfraud.data.coordinates import join_coordinates, validate_coordinates
from cardfraud.data.country import outside_country, read_outline
from cardfraud.data.load_step import coordinates_table, data_profile, load_transactions
from cardfraud.data.schema import CONTEXT_COLUMNS

OUTLINE = Path("/work/shared/data/geo/colombia_outline.geojson")
BOGOTA, MEDELLIN, QUITO, MADRID = (4.65, -74.08), (6.25, -75.57), (-0.18, -78.47), (40.42, -3.70)


@pytest.fixture
def outline():
    if not OUTLINE.is_file():
        pytest.skip(f"country outline not found at {OUTLINE}")
    return read_outline(OUTLINE)


def purchases(ids) -> pd.DataFrame:
    return pd.DataFrame({"transaction_id": ids, "fraud": [0, 1, 0, 0, 1][:len(ids)]})


def provider(ids, points, **extra) -> pd.DataFrame:
    frame = pd.DataFrame({"transaction_id": ids, "latitude": [p[0] for p in points],
                          "longitude": [p[1] for p in points], **extra})
    return validate_coordinates(frame, "geo.csv")


def test_left_join_counts_matched_missing_orphans_and_outside(outline):
    coords = provider([105, 101, 103, 900, 901], [BOGOTA, MEDELLIN, QUITO, BOGOTA, MADRID])
    joined, report = join_coordinates(purchases([101, 102, 103, 104, 105]), coords, "core.csv",
                                      "geo.csv", outline)
    assert joined["transaction_id"].tolist() == [101, 102, 103, 104, 105]  # order kept
    assert (report.matched, report.without_coordinates, report.orphan_coordinates) == (3, 2, 2)
    assert report.orphan_examples == ["900", "901"]
    assert report.outside_country == 1 and report.country_check == "outline"  # Quito
    assert joined["latitude"].tolist()[0] == MEDELLIN[0] and joined["longitude"].iloc[4] == BOGOTA[1]
    assert joined[["latitude", "longitude"]].isna().all(axis=1).tolist() == [False, True, False, True, False]


def test_bounding_box_counts_only_points_far_outside():
    coords = provider([1, 2, 3], [BOGOTA, QUITO, MADRID])
    _, report = join_coordinates(purchases([1, 2, 3]), coords, "core.csv", "geo.csv", None)
    assert report.outside_country == 1 and report.country_check == "bounding box"  # Madrid only


def test_outline_tells_neighbours_apart_from_the_country(outline):
    lat, lon = np.array([BOGOTA[0], MEDELLIN[0], QUITO[0], 8.0, 12.58, np.nan]), \
        np.array([BOGOTA[1], MEDELLIN[1], QUITO[1], -68.0, -81.70, -74.0])
    # Bogotá, Medellín in; Quito and Apure (Venezuela) out; San Andrés island in; no point: not out
    assert outside_country(lat, lon, outline).tolist() == [False, False, True, True, False, False]


def test_text_ids_of_the_provider_match_numeric_ids_of_the_extract():
    coords = provider(["101", " 103 "], [BOGOTA, MEDELLIN])
    joined, report = join_coordinates(purchases([101, 102, 103]), coords, "core.csv", "geo.csv")
    assert report.matched == 2 and joined["latitude"].iloc[2] == MEDELLIN[0]


def test_capture_time_and_accuracy_are_carried_along():
    coords = provider([1, 2], [BOGOTA, MEDELLIN], captured_at=["2024-05-01 10:00", "2024-05-02 11:30"],
                      accuracy_m=["15", "8.5"])
    joined, _ = join_coordinates(purchases([2, 3]), coords, "core.csv", "geo.csv")
    assert joined["captured_at"].iloc[0] == pd.Timestamp("2024-05-02 11:30")
    assert pd.isna(joined["captured_at"].iloc[1])
    assert joined["accuracy_m"].iloc[0] == 8.5 and np.isnan(joined["accuracy_m"].iloc[1])


def test_load_step_reports_the_join_in_its_results_and_page(tmp_path, good_frame):
    extract, geo = tmp_path / "core.parquet", tmp_path / "geo.csv"
    good_frame.assign(transaction_id=range(1, 9)).to_parquet(extract)
    pd.DataFrame({"transaction_id": [1, 2, 3, 4, 5, 6, 7, 77], "latitude": 4.6,
                  "longitude": [-74.1] * 7 + [-3.7]}).to_csv(geo, index=False)
    frame, report, data = load_transactions(path=str(extract), coordinates_path=str(geo))
    found = data["coordinates"]
    assert (found["matched"], found["without_coordinates"], found["orphan_coordinates"]) == (7, 1, 1)
    assert found["outside_country"] == 0 and found["fingerprint"].startswith("sha256:")
    assert frame["latitude"].notna().sum() == 7
    table = coordinates_table(data)["result"]
    assert table["purchases matched"] == "7" and table["purchases without coordinates (kept)"] == "1"
    assert table["orphan coordinates (ids in no purchase, not joined)"] == "1 (e.g. ids 77)"
    profile = data_profile(frame, report, data)
    assert profile["data"]["coordinates"]["matched"] == 7
    assert set(profile["context_columns"]["present"]) == {"transaction_id", "latitude", "longitude"}


def test_context_table_says_what_each_missing_column_turns_off():
    assert list(CONTEXT_USES) == CONTEXT_COLUMNS  # one line per context column, in schema order
    report = context_columns_report(["fraud", "timestamp", "latitude", "longitude", "amount"])
    assert report["present"] == ["timestamp", "amount", "latitude", "longitude"]
    assert list(report["missing"]) == ["transaction_id", "card_id", "merchant_id", "city"]
    assert "no common-point-of-purchase analysis" in report["missing"]["card_id"]
    table = context_columns_table(["timestamp"])
    assert table.loc["timestamp", "in the extract"] == "present"
    assert table.loc["latitude", "analysis"].startswith("turned off: no maps, no hot spots")
    assert "stratified split" in context_columns_table([]).loc["timestamp", "analysis"]


def test_public_table_still_loads_and_the_page_lists_every_context_column_missing(real_sample):
    frame, report = load_file(real_sample)
    assert len(frame) == 49_999
    missing = context_columns_report(frame.columns)["missing"]
    assert list(missing) == ["transaction_id", "timestamp", "card_id", "merchant_id", "amount",
                             "latitude", "longitude", "city"]
    table = context_columns_table(frame.columns)
    assert (table["in the extract"] == "missing").all()
    assert "no maps, no hot spots" in table.loc["latitude", "analysis"]
