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

from ..runner.artifacts import artifact_path, write_json_atomic
from ..runner.atomic_write import write_text_atomic
from ..runner.contract import (
    CARDS_AT_RISK,
    HOT_SPOTS_CSV,
    HOT_SPOTS_GEOJSON,
    SUSPECTED_POINTS_CSV,
    SUSPECTED_POINTS_GEOJSON,
)

COORDINATE_DECIMALS = 6  # about 0.1 m


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
    written = {}
    for artifact, table in ((HOT_SPOTS_GEOJSON, hot_spots), (SUSPECTED_POINTS_GEOJSON, points)):
        written[artifact.file] = write_json_atomic(artifact_path(artifact, output_dir),
                                                   feature_collection(table))
    for artifact, table in ((HOT_SPOTS_CSV, hot_spots), (SUSPECTED_POINTS_CSV, points),
                            (CARDS_AT_RISK, at_risk)):
        written[artifact.file] = write_text_atomic(artifact_path(artifact, output_dir),
                                                   _csv_text(table))
    return written
