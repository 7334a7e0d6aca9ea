"""Exports for the team's GIS tools: GeoJSON points and CSV tables under ``artifacts/geo/``.

GeoJSON follows RFC 7946: a FeatureCollection of Point features, coordinates longitude first
in WGS84, no ``crs`` member; each feature's properties are its table row (times as ISO 8601
text, missing values as null), so QGIS and geopandas show the same columns as the CSV.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd

from ..runner.artifacts import artifacts_dir, write_json_atomic, write_text_atomic

GEO_DIR = "geo"
HOT_SPOTS_GEOJSON = "hot_spots.geojson"
HOT_SPOTS_CSV = "hot_spots.csv"
SUSPECTED_POINTS_GEOJSON = "suspected_points.geojson"
SUSPECTED_POINTS_CSV = "suspected_points.csv"
CARDS_AT_RISK_CSV = "cards_at_risk.csv"
COORDINATE_DECIMALS = 6  # about 0.1 m


def geo_dir(output_dir: str | os.PathLike | None = None) -> Path:
    """Return ``<output dir>/artifacts/geo``, created if needed."""
    path = artifacts_dir(output_dir) / GEO_DIR
    path.mkdir(parents=True, exist_ok=True)
    return path


def _plain(value):
    """Return a JSON-ready value: timestamps as ISO text, numpy scalars as Python ones."""
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value.item() if hasattr(value, "item") else value  # NaN becomes null on writing


def feature_collection(table: pd.DataFrame) -> dict:
    """Return the table as an RFC 7946 FeatureCollection of points (longitude first)."""
    features = []
    for row in table.to_dict(orient="records"):
        lon, lat = float(row["longitude"]), float(row["latitude"])
        geometry = ({"type": "Point", "coordinates": [round(lon, COORDINATE_DECIMALS),
                                                      round(lat, COORDINATE_DECIMALS)]}
                    if math.isfinite(lon) and math.isfinite(lat) else None)  # unplaced: null
        features.append({"type": "Feature", "geometry": geometry,
                         "properties": {key: _plain(value) for key, value in row.items()}})
    return {"type": "FeatureCollection", "features": features}


def _csv_text(table: pd.DataFrame) -> str:
    """Return the table as CSV text (ISO times, full-precision numbers)."""
    return table.to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%S")


def write_exports(hot_spots: pd.DataFrame, points: pd.DataFrame, at_risk: pd.DataFrame,
                  output_dir: str | os.PathLike | None = None) -> dict[str, Path]:
    """Write the hot spots and suspected points (GeoJSON and CSV) and the cards at risk (CSV).

    Each file is written whole through a temporary file, so a reader never sees half of one.
    """
    folder = geo_dir(output_dir)
    written = {
        HOT_SPOTS_GEOJSON: write_json_atomic(folder / HOT_SPOTS_GEOJSON,
                                             feature_collection(hot_spots)),
        HOT_SPOTS_CSV: write_text_atomic(folder / HOT_SPOTS_CSV, _csv_text(hot_spots)),
        SUSPECTED_POINTS_GEOJSON: write_json_atomic(folder / SUSPECTED_POINTS_GEOJSON,
                                                    feature_collection(points)),
        SUSPECTED_POINTS_CSV: write_text_atomic(folder / SUSPECTED_POINTS_CSV, _csv_text(points)),
        CARDS_AT_RISK_CSV: write_text_atomic(folder / CARDS_AT_RISK_CSV, _csv_text(at_risk)),
    }
    return written
