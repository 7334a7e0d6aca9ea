"""The georeferencing page on Spark equals the pandas page on the same purchases.

20,000 simulated purchases (with planted skimmers and cash-out areas) run through
``run_georeferencing`` as a pandas frame and as a Spark frame handed over as a Spark run does:
the results dict (counts exact, rates 1e-9), the exported CSV and GeoJSON files, the scope text
and the map's per-cell counts agree; so do purchases partly without coordinates (with Spark's
zoned ``timestamp`` type, as the Spark load step writes) and an extract without coordinate
columns (no maps, no hot spots, no CPP).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from cardfraud.engines.spark_session import SparkUnavailable, check_spark_installed

try:
    check_spark_installed()
except SparkUnavailable as missing:
    pytest.skip(str(missing), allow_module_level=True)

from spark_frames import as_loaded_spark_frame, spark_fixture  # noqa: E402, F401

from cardfraud.engines import spark_geo  # noqa: E402
from cardfraud.geo import maps  # noqa: E402
from cardfraud.geo.boundaries import load_boundaries  # noqa: E402
from cardfraud.geo.page import run_georeferencing  # noqa: E402
from cardfraud.simulator.simulate import simulate  # noqa: E402

pytestmark = pytest.mark.spark  # starts a Spark session: make test, not test-fast

# loose enough that 20,000 purchases show hot spots, suspected points and cards at risk
PARAMS = {"fdr": 0.2, "cpp_min_defrauded": 2, "hot_spot_min_frauds": 5}
EXPORTS = ("hot_spots.csv", "suspected_points.csv", "cards_at_risk.csv")
RATE_TOLERANCE = 1e-9
# a hot spot's position is the mean of its frauds' coordinates: a sum in another order
POSITION_TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def purchases() -> pd.DataFrame:
    return simulate(rows=20_000, seed=7, purchases_per_cardholder=20.0)


def run_both(spark, frame: pd.DataFrame, tmp_path, timestamp_type: str | None = None,
             **params):
    """Run the page on ``frame`` with pandas and with Spark; return both pages.

    ``timestamp_type`` (``timestamp``: Spark's zoned type, as the Spark load step writes)
    recasts the Spark frame's times; the session's zone is UTC, so they mean the same.
    """
    spark_frame = as_loaded_spark_frame(spark, frame, tmp_path)
    if timestamp_type:
        spark_frame = spark_frame.withColumn("timestamp",
                                             spark_frame["timestamp"].cast(timestamp_type))
        assert dict(spark_frame.dtypes)["timestamp"] == timestamp_type
    pages = {}
    for engine, data in (("pandas", frame), ("spark", spark_frame)):
        pages[engine] = run_georeferencing(data, tmp_path / engine, **params)
    return pages


def assert_same(expected, actual, where: str = "results") -> None:
    """Assert two results agree: text, counts and flags exactly, other numbers to 1e-9."""
    if isinstance(expected, dict):
        assert sorted(expected) == sorted(actual), where
        for key in expected:
            assert_same(expected[key], actual[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert len(expected) == len(actual), where
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            assert_same(e, a, f"{where}[{i}]")
    elif isinstance(expected, float) and not float(expected).is_integer():
        assert math.isclose(expected, actual, rel_tol=RATE_TOLERANCE, abs_tol=1e-12), where
    else:
        assert expected == actual and type(expected) is type(actual), where


def read_export(folder, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / "artifacts" / "geo" / name, dtype=str, keep_default_na=False)


def assert_same_exports(tmp_path) -> None:
    """The CSV exports agree: every cell's text, but hot spots' positions to 1e-9 degrees."""
    for name in EXPORTS:
        expected = read_export(tmp_path / "pandas", name)
        actual = read_export(tmp_path / "spark", name)
        assert list(expected.columns) == list(actual.columns), name
        assert len(expected) == len(actual), name
        near = ["longitude", "latitude"] if name == "hot_spots.csv" else []
        for column in near:
            np.testing.assert_allclose(actual[column].astype(float), expected[column].astype(float),
                                       rtol=0, atol=POSITION_TOLERANCE, err_msg=name)
        pd.testing.assert_frame_equal(actual.drop(columns=near), expected.drop(columns=near),
                                      obj=name)
    for name in ("hot_spots.geojson", "suspected_points.geojson"):
        expected, actual = (json.loads((tmp_path / e / "artifacts" / "geo" / name).read_text())
                            for e in ("pandas", "spark"))
        assert_same(expected, actual, name)


def test_the_spark_page_equals_the_pandas_page(spark, purchases, tmp_path):
    pages = run_both(spark, purchases, tmp_path, **PARAMS)
    results = pages["pandas"].results
    # the comparison means something: every analysis found something
    assert results["hot_spot_count"] >= 2 and results["suspected_point_count"] >= 2
    assert results["cards_at_risk"] >= 1 and len(results["departments"]) >= 10
    assert_same(results, pages["spark"].results)
    saved = json.loads((tmp_path / "spark" / "artifacts" / "results" / "georeferencing.json"
                        ).read_text())
    assert saved["suspected_point_count"] == results["suspected_point_count"]
    assert_same_exports(tmp_path)
    # CPP exports are the same text, to the last digit
    for name in ("suspected_points.csv", "cards_at_risk.csv"):
        assert ((tmp_path / "spark" / "artifacts" / "geo" / name).read_text()
                == (tmp_path / "pandas" / "artifacts" / "geo" / name).read_text())
    pd.testing.assert_frame_equal(pages["spark"].departments, pages["pandas"].departments)
    assert pages["spark"].scope == pages["pandas"].scope
    assert pages["spark"].summary == pages["pandas"].summary
    assert sorted(pages["spark"].figures) == sorted(pages["pandas"].figures) and len(
        pages["spark"].figures) == 3


def test_the_map_grid_counts_agree(spark, purchases, tmp_path):
    country = load_boundaries()
    frame = purchases.copy()
    frame.loc[frame.index[::50], "longitude"] = -60.0  # abroad: beyond the grid
    expected = maps.purchase_grid(frame, country, 40)
    actual = spark_geo.purchase_grid(as_loaded_spark_frame(spark, frame, tmp_path), country, 40)
    assert expected["outside"] == actual["outside"] >= len(frame.index[::50])
    for key in ("purchases", "frauds", "lon_edges", "lat_edges"):
        np.testing.assert_array_equal(actual[key], expected[key], err_msg=key)


def test_purchases_partly_without_coordinates_and_zoned_times_agree(spark, purchases, tmp_path):
    frame = purchases.copy()
    unplaced = frame.index[::20]
    frame.loc[unplaced, ["latitude", "longitude"]] = np.nan
    pages = run_both(spark, frame, tmp_path, timestamp_type="timestamp", **PARAMS)
    results = pages["pandas"].results
    assert results["purchases_without_coordinates"] == len(unplaced)
    assert results["suspected_point_count"] >= 1
    assert_same(results, pages["spark"].results)
    assert_same_exports(tmp_path)
    assert f"{len(unplaced):,} purchases have no coordinates" in pages["spark"].scope
    assert pages["spark"].scope == pages["pandas"].scope


def test_purchases_without_coordinate_columns_have_no_maps(spark, purchases, tmp_path):
    frame = purchases.drop(columns=["latitude", "longitude"]).head(5_000)
    pages = run_both(spark, frame, tmp_path, **PARAMS)
    results = pages["spark"].results
    assert results["maps"] is False and results["cpp"] is False
    assert results["missing_columns"]["maps"] == ["latitude", "longitude"]
    assert results["hot_spot_count"] == results["suspected_point_count"] == 0
    assert pages["spark"].figures == {} and pages["spark"].departments is None
    assert_same(pages["pandas"].results, results)
    assert_same_exports(tmp_path)
    assert pages["spark"].scope == pages["pandas"].scope
    assert "5,000 purchases." in pages["spark"].scope
