"""Coordinates from the geolocation provider, joined to the core system's purchases.

Transactions come from the core system (AS400); where each purchase happened comes from an
external provider's file (``load.coordinates_path``, CSV or Parquet) with the columns
``transaction_id, latitude, longitude`` and optionally ``captured_at`` and ``accuracy_m``. The
join is a left join on ``transaction_id``: purchases without coordinates are kept (their
latitude and longitude are empty) and counted, as are the provider's ids that match no purchase
(orphans) and the points outside the country. Refused, in one line naming the file, the column
and the ids or rows: duplicate ids in either file, missing ids, non-numeric or missing
coordinates, latitudes outside [-90, 90] or longitudes outside [-180, 180], either file without
``transaction_id``, and coordinates in both files (one source of coordinates: the extract's
``latitude``/``longitude`` columns or the provider's file, never a silent choice).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from .checks import (
    VALUE_BOUNDS,
    Bounds,
    DataValidationError,
    check_bounds,
    rows_text,
    to_timestamps,
)
from .cleaning import missing_values_error, to_number
from .country import default_outline_path, outside_country, read_outline
from .files import file_fingerprint, read_transactions
from .schema import LATITUDE, LONGITUDE, TRANSACTION_ID

CAPTURED_AT, ACCURACY_M = "captured_at", "accuracy_m"
PROVIDER_COLUMNS = [TRANSACTION_ID, LATITUDE, LONGITUDE]
OPTIONAL_PROVIDER_COLUMNS = [CAPTURED_AT, ACCURACY_M]
_ACCURACY = Bounds(0.0, 20_040_000.0, "accuracies are metres >= 0",
                   "20,040,000 m (half the Earth's circumference)")
_IDS_SHOWN = 5


@dataclass
class CoordinatesReport:
    """What the join of the provider's coordinates found, for the load page and run.json."""

    path: str
    rows: int = 0  # coordinate rows in the provider's file
    matched: int = 0  # purchases given coordinates
    without_coordinates: int = 0  # purchases the provider has no point for (kept)
    orphan_coordinates: int = 0  # provider ids that match no purchase (not joined)
    orphan_examples: list = None
    outside_country: int = 0  # matched purchases placed outside the country (counted)
    country_check: str = "outline"  # outline (point in polygon) | bounding box

    def as_dict(self) -> dict:
        """The report as plain JSON-ready values."""
        return asdict(self)


def _ids_text(values) -> str:
    """The first offending ids, as the user wrote them."""
    values = list(values)
    shown = ", ".join(str(v) for v in values[:_IDS_SHOWN])
    return shown + (f" and {len(values) - _IDS_SHOWN} more" if len(values) > _IDS_SHOWN else "")


def check_unique_ids(ids: pd.Series, source: str, hint: str = "") -> None:
    """Raise naming the rows with a missing ``transaction_id`` or an id given twice."""
    error = missing_values_error(ids.to_frame(), [ids.name], source, "; every purchase needs "
                                 "its id to be joined")
    if error:
        raise error
    repeated = ids.duplicated(keep=False).to_numpy()
    if repeated.any():
        twice = pd.unique(ids[repeated])
        raise DataValidationError(
            f"{source}: column '{ids.name}' has duplicate ids {_ids_text(twice)} at "
            f"{rows_text(np.flatnonzero(repeated))}; each purchase must appear once{hint}")


def validate_coordinates(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Return the provider's ids and coordinates as numbers, or raise naming the bad rows."""
    missing = [c for c in PROVIDER_COLUMNS if c not in frame.columns]
    if missing:
        raise DataValidationError(
            f"{source}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(a coordinates file has {', '.join(PROVIDER_COLUMNS)}; found: "
            f"{', '.join(map(str, frame.columns[:12]))})")
    kept = [*PROVIDER_COLUMNS, *[c for c in OPTIONAL_PROVIDER_COLUMNS if c in frame.columns]]
    frame = frame[kept].copy()
    check_unique_ids(frame[TRANSACTION_ID], source)
    decimal = frame.attrs.get("decimal", ".")
    for column in (LATITUDE, LONGITUDE):
        frame[column] = to_number(frame[column], source, decimal)[0]
    error = missing_values_error(frame, [LATITUDE, LONGITUDE], source, "; give both coordinates "
                                 "of a purchase, or leave it out of the file")
    if error:
        raise error
    for column in (LATITUDE, LONGITUDE):
        check_bounds(frame[column], source, VALUE_BOUNDS[column])
    if ACCURACY_M in frame:
        frame[ACCURACY_M] = to_number(frame[ACCURACY_M], source, decimal)[0]
        check_bounds(frame[ACCURACY_M], source, _ACCURACY)
    if CAPTURED_AT in frame:
        frame[CAPTURED_AT] = to_timestamps(frame[CAPTURED_AT], source)[0]
    return frame


def read_coordinates(path, sep: str | None = None, decimal: str | None = None) -> pd.DataFrame:
    """Read and validate the provider's coordinates file (CSV or Parquet)."""
    return validate_coordinates(read_transactions(path, sep=sep, decimal=decimal), str(path))


def _join_keys(purchases: pd.Series, provider: pd.Series) -> tuple[pd.Index, pd.Index]:
    """The two id columns in one comparable form: numbers when both are, else text."""
    def plain(ids: pd.Series) -> pd.Series:
        return ids.astype(ids.cat.categories.dtype) if isinstance(ids.dtype, pd.CategoricalDtype) else ids

    left, right = plain(purchases), plain(provider)
    if pd.api.types.is_integer_dtype(left) and pd.api.types.is_integer_dtype(right):
        return pd.Index(left.astype("int64")), pd.Index(right.astype("int64"))
    if pd.api.types.is_numeric_dtype(left) and pd.api.types.is_numeric_dtype(right):
        return pd.Index(left.astype("float64")), pd.Index(right.astype("float64"))

    def text(ids: pd.Series) -> pd.Series:
        if pd.api.types.is_float_dtype(ids) and (ids == ids.round()).all():
            ids = ids.astype("int64")
        return ids.astype(str).str.strip()

    return pd.Index(text(left)), pd.Index(text(right))


def check_joinable(purchases: pd.DataFrame, source: str, coordinates_source: str) -> None:
    """Raise when the purchases cannot take the provider's coordinates (see the module doc)."""
    if TRANSACTION_ID not in purchases.columns:
        raise DataValidationError(
            f"{source}: no column {TRANSACTION_ID}, which load.coordinates_path "
            f"({coordinates_source}) is joined on; add it, or map the extract's id header with "
            f"load.columns (e.g. {{transaction_id: ID_TRANSACCION}})")
    both = [c for c in (LATITUDE, LONGITUDE) if c in purchases.columns]
    if both:
        raise DataValidationError(
            f"{source}: has column{'s' if len(both) > 1 else ''} {', '.join(both)} and "
            f"load.coordinates_path gives {coordinates_source} too; keep one source of "
            f"coordinates: remove them from the extract or set load.coordinates_path to null")
    check_unique_ids(purchases[TRANSACTION_ID], source,
                     " (set load.duplicates=drop when they are copies of one row)")


def join_coordinates(purchases: pd.DataFrame, coordinates: pd.DataFrame, source: str,
                     coordinates_source: str,
                     outline: list[np.ndarray] | None = None) -> tuple[pd.DataFrame, CoordinatesReport]:
    """Left-join the provider's coordinates on ``transaction_id``; return the frame and counts.

    Args:
        purchases: the validated extract (needs ``transaction_id``, no coordinates).
        coordinates: the provider's validated table (:func:`validate_coordinates`).
        source, coordinates_source: the two file names used in messages.
        outline: the country's outer rings (:func:`cardfraud.data.country.read_outline`);
            None = Colombia's bounding box.
    """
    check_joinable(purchases, source, coordinates_source)
    purchase_ids, provider_ids = _join_keys(purchases[TRANSACTION_ID], coordinates[TRANSACTION_ID])
    position = provider_ids.get_indexer(purchase_ids)
    matched = position >= 0
    joined = purchases.copy()
    for column in coordinates.columns.drop(TRANSACTION_ID):
        values = coordinates[column].to_numpy()[np.where(matched, position, 0)]
        joined[column] = pd.Series(values, index=joined.index).where(matched)
    orphans = ~provider_ids.isin(purchase_ids)
    report = CoordinatesReport(
        path=coordinates_source, rows=len(coordinates), matched=int(matched.sum()),
        without_coordinates=int((~matched).sum()), orphan_coordinates=int(orphans.sum()),
        orphan_examples=[str(v) for v in coordinates[TRANSACTION_ID][orphans].head(_IDS_SHOWN)],
        outside_country=int(outside_country(joined[LATITUDE], joined[LONGITUDE], outline).sum()),
        country_check="outline" if outline is not None else "bounding box")
    return joined, report


def provider_coordinates_join(coordinates_path: str | None):
    """Return ``join(frame, source) -> (frame, counts)`` for the provider's file, or None."""
    if not coordinates_path:
        return None

    def join(frame: pd.DataFrame, source: str) -> tuple[pd.DataFrame, dict]:
        return with_provider_coordinates(frame, source, coordinates_path)

    return join


def with_provider_coordinates(frame: pd.DataFrame, source: str,
                              coordinates_path: str) -> tuple[pd.DataFrame, dict]:
    """Join the provider's coordinates file; return the frame and the join's counts."""
    coordinates = read_coordinates(coordinates_path)
    outline_path = default_outline_path()
    outline = read_outline(outline_path) if outline_path else None
    frame, joined = join_coordinates(frame, coordinates, source, str(coordinates_path), outline)
    counts = {**joined.as_dict(), "path": str(os.path.abspath(coordinates_path)),
              "fingerprint": file_fingerprint(coordinates_path)}
    return frame, counts
