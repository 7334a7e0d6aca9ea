"""The country's departments and outline: read from GeoJSON, point-in-polygon, drawn under maps.

The package ships Colombia's files (``geo/data/``, Natural Earth, public domain; see the README
there). ``geo.boundaries`` may name another folder holding ``departments.geojson`` (Polygon or
MultiPolygon features with a ``name`` property) and ``outline.geojson``. Coordinates are
RFC 7946: longitude first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.patches import PathPatch
from matplotlib.path import Path as MplPath

SHIPPED_COUNTRY = "colombia"
DEPARTMENTS_FILE = "departments.geojson"
OUTLINE_FILE = "outline.geojson"
OUTSIDE = -1  # department index of a point outside every department
BOUNDARY_COLOR = "#7a7a7a"
OUTLINE_COLOR = "#333333"


@dataclass(frozen=True)
class Boundaries:
    """Departments (name, drawing path, bounding box) and the country outline."""

    names: list[str]
    paths: list[MplPath]
    boxes: np.ndarray  # (departments, 4): lon min, lat min, lon max, lat max
    outline: MplPath
    source: str

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """Longitude and latitude range of the outline: lon min, lon max, lat min, lat max."""
        (lon_min, lat_min), (lon_max, lat_max) = self.outline.vertices.min(0), self.outline.vertices.max(0)
        return float(lon_min), float(lon_max), float(lat_min), float(lat_max)


class BoundaryFileError(ValueError):
    """A boundary file that cannot be read as Polygon/MultiPolygon GeoJSON."""


def _rings(geometry: dict, source: str) -> list[np.ndarray]:
    """Return every ring (exterior and holes) of a Polygon or MultiPolygon as (n, 2) arrays."""
    kind = (geometry or {}).get("type")
    if kind == "Polygon":
        polygons = [geometry["coordinates"]]
    elif kind == "MultiPolygon":
        polygons = geometry["coordinates"]
    else:
        raise BoundaryFileError(f"{source}: geometry type {kind!r}; allowed: Polygon, MultiPolygon")
    return [np.asarray(ring, dtype=float)[:, :2] for polygon in polygons for ring in polygon]


def _compound_path(rings: list[np.ndarray]) -> MplPath:
    """One matplotlib path holding every ring; holes fall out by the even-odd rule."""
    vertices, codes = [], []
    for ring in rings:
        vertices.append(np.vstack([ring, ring[:1]]))
        ring_codes = np.full(len(ring) + 1, MplPath.LINETO, dtype=np.uint8)
        ring_codes[0], ring_codes[-1] = MplPath.MOVETO, MplPath.CLOSEPOLY
        codes.append(ring_codes)
    return MplPath(np.vstack(vertices), np.concatenate(codes))


def _read_features(path: Path) -> list[dict]:
    """Return a GeoJSON file's features, or raise BoundaryFileError naming the file."""
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
        features = payload["features"] if payload.get("type") == "FeatureCollection" else [payload]
    except (OSError, ValueError, KeyError, AttributeError) as exc:
        raise BoundaryFileError(f"{path}: not a readable GeoJSON FeatureCollection ({exc})") from None
    if not features:
        raise BoundaryFileError(f"{path}: no features")
    return features


def is_shipped(boundaries: str | None) -> bool:
    """Return True when ``boundaries`` means the shipped Colombia files."""
    return boundaries is None or str(boundaries).strip().lower() in ("", SHIPPED_COUNTRY)


def boundary_files(boundaries: str | None) -> tuple[Path, Path]:
    """Return the departments and outline files: the shipped Colombia ones when ``None``."""
    if is_shipped(boundaries):
        folder = resources.files("cardfraud.geo") / "data"
        return (Path(str(folder / f"{SHIPPED_COUNTRY}_{DEPARTMENTS_FILE}")),
                Path(str(folder / f"{SHIPPED_COUNTRY}_{OUTLINE_FILE}")))
    folder = Path(boundaries)
    return folder / DEPARTMENTS_FILE, folder / OUTLINE_FILE


def load_boundaries(boundaries: str | None = None) -> Boundaries:
    """Read the departments and the outline (``None``: the shipped Colombia files)."""
    departments_file, outline_file = boundary_files(boundaries)
    names, paths, boxes = [], [], []
    for number, feature in enumerate(_read_features(departments_file), start=1):
        rings = _rings(feature.get("geometry"), f"{departments_file} feature {number}")
        name = (feature.get("properties") or {}).get("name")
        names.append(str(name) if name else f"department {number}")
        paths.append(_compound_path(rings))
        stacked = np.vstack(rings)
        boxes.append([*stacked.min(0), *stacked.max(0)])
    outline_rings = [ring for number, feature in enumerate(_read_features(outline_file), start=1)
                     for ring in _rings(feature.get("geometry"), f"{outline_file} feature {number}")]
    source = ("Colombia (shipped with the package, Natural Earth)" if is_shipped(boundaries)
              else str(departments_file.parent))
    return Boundaries(names, paths, np.asarray(boxes), _compound_path(outline_rings), source)


def department_index(boundaries: Boundaries, lon, lat, decimals: int = 3) -> np.ndarray:
    """Return each point's department index (``OUTSIDE`` when in none), vectorised.

    Points are rounded to ``decimals`` (3: about 110 m, well inside the boundaries' 1 km
    accuracy) and each distinct rounded point is tested once. Each department tests only the
    points inside its bounding box; the first department holding a point wins (the shipped
    departments do not overlap).
    """
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    found = np.full(len(lon), OUTSIDE, dtype=np.int16)
    located = np.isfinite(lon) & np.isfinite(lat)  # a purchase without coordinates is in none
    scale = 10.0 ** decimals
    key = (np.round(lon[located] * scale).astype(np.int64) * 2**32
           + np.round(lat[located] * scale).astype(np.int64))
    codes, uniques = pd.factorize(key)
    lat_units = (uniques + 2**31) % 2**32 - 2**31
    lon_units = (uniques - lat_units) // 2**32
    found[located] = _department_of_points(boundaries, lon_units / scale,
                                           lat_units / scale)[codes]
    return found


def _department_of_points(boundaries: Boundaries, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Return each point's department index by point-in-polygon (``OUTSIDE`` when in none)."""
    found = np.full(len(lon), OUTSIDE, dtype=np.int16)
    points = np.column_stack([lon, lat])
    for index, (path, box) in enumerate(zip(boundaries.paths, boundaries.boxes, strict=True)):
        candidates = np.flatnonzero((found == OUTSIDE) & (lon >= box[0]) & (lat >= box[1])
                                    & (lon <= box[2]) & (lat <= box[3]))
        if candidates.size:
            inside = path.contains_points(points[candidates])
            found[candidates[inside]] = index
    return found


def department_names(boundaries: Boundaries, index: np.ndarray,
                     outside: str = "outside the country") -> np.ndarray:
    """Return department names for indices from :func:`department_index`."""
    names = np.asarray([*boundaries.names, outside], dtype=object)
    return names[np.where(np.asarray(index) == OUTSIDE, len(boundaries.names), index)]


def inside_country(boundaries: Boundaries, lon, lat) -> np.ndarray:
    """Return True for each point inside the country's outline."""
    points = np.column_stack([np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)])
    return boundaries.outline.contains_points(points)


def draw_boundaries(ax, boundaries: Boundaries, fill: dict | None = None) -> list[PathPatch]:
    """Draw the departments (optionally filled, ``fill[name] = colour``) and the outline.

    Every patch carries a gid (``department:<name>``, ``outline``) so tests and readers can find
    them; the axes keep equal-looking degrees at the country's latitude.
    """
    patches = []
    for name, path in zip(boundaries.names, boundaries.paths, strict=True):
        colour = (fill or {}).get(name, "none")
        patch = PathPatch(path, facecolor=colour, edgecolor=BOUNDARY_COLOR, linewidth=0.5,
                          zorder=1 if colour != "none" else 3)
        patch.set_gid(f"department:{name}")
        patches.append(ax.add_artist(patch))  # add_patch would walk every curve for the limits
    outline = PathPatch(boundaries.outline, facecolor="none", edgecolor=OUTLINE_COLOR,
                        linewidth=1.0, zorder=4)
    outline.set_gid("outline")
    patches.append(ax.add_artist(outline))
    lon_min, lon_max, lat_min, lat_max = boundaries.extent
    ax.set_aspect(1 / np.cos(np.radians((lat_min + lat_max) / 2)), adjustable="box")
    return patches
