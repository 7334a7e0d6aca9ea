"""Whether a purchase's coordinates lie inside the country: its outline, or its bounding box.

The load step counts (never refuses) purchases placed outside the country: an online purchase
geolocated abroad, or a provider's point in the sea. The outline is a GeoJSON Polygon or
MultiPolygon (RFC 7946, longitude first), tested point in polygon with matplotlib; the package
ships Colombia's (``cardfraud/geo/data/colombia_outline.geojson``, Natural Earth, public
domain). Without that file the test falls back to Colombia's bounding box.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

import numpy as np

from .checks import DataValidationError

# lon min, lat min, lon max, lat max of Colombia's outline, mainland and islands (Natural Earth)
COLOMBIA_BOUNDS = (-81.73, -4.24, -66.87, 13.58)
SHIPPED_OUTLINE = ("geo", "data", "colombia_outline.geojson")


def default_outline_path() -> Path | None:
    """Return the country outline the package ships, or None when it ships none."""
    shipped = resources.files("cardfraud").joinpath(*SHIPPED_OUTLINE)
    return Path(str(shipped)) if shipped.is_file() else None


def read_outline(path: str | os.PathLike) -> list[np.ndarray]:
    """Return the outer rings (n x 2 arrays, longitude first) of a GeoJSON outline's polygons."""
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
        features = payload["features"] if payload.get("type") == "FeatureCollection" else [payload]
        geometries = [f.get("geometry", f) for f in features]
    except (OSError, ValueError, KeyError, AttributeError) as exc:
        raise DataValidationError(f"{path}: not a readable GeoJSON outline ({exc})") from None
    rings = []
    for geometry in geometries:
        kind = (geometry or {}).get("type")
        polygons = {"Polygon": [geometry.get("coordinates")],
                    "MultiPolygon": geometry.get("coordinates")}.get(kind)
        if polygons is None:
            raise DataValidationError(f"{path}: geometry type {kind!r}; an outline is a "
                                      f"Polygon or MultiPolygon")
        rings += [np.asarray(polygon[0], dtype=float)[:, :2] for polygon in polygons]
    return rings


def outside_country(latitude: np.ndarray, longitude: np.ndarray,
                    outline: list[np.ndarray] | None) -> np.ndarray:
    """Return True for each point with coordinates outside the outline (or bounding box).

    Points without coordinates (NaN) are not outside: they are counted as missing instead.
    """
    from matplotlib.path import Path as PolygonPath

    latitude, longitude = np.asarray(latitude, dtype=float), np.asarray(longitude, dtype=float)
    located = np.isfinite(latitude) & np.isfinite(longitude)
    if outline is None:
        lon_min, lat_min, lon_max, lat_max = COLOMBIA_BOUNDS
        inside = ((longitude >= lon_min) & (longitude <= lon_max) & (latitude >= lat_min)
                  & (latitude <= lat_max))
        return located & ~inside
    inside = np.zeros(len(latitude), dtype=bool)
    points = np.column_stack([longitude, latitude])
    for ring in outline:
        (lon_min, lat_min), (lon_max, lat_max) = ring.min(axis=0), ring.max(axis=0)
        near = (located & ~inside & (longitude >= lon_min) & (longitude <= lon_max)
                & (latitude >= lat_min) & (latitude <= lat_max))
        if near.any():
            inside[near] = PolygonPath(ring).contains_points(points[near])
    return located & ~inside
