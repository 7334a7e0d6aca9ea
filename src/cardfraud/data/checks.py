"""The rules an extract's values must follow, and the one-line messages that refuse them.

Used by :mod:`cardfraud.data.cleaning` (load step, scoring, serving, monitoring extracts). Every
message names the file (or ``request``), the column and the offending rows (1 = first data
row), so the user can find and fix them.
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .schema import HOME_COORDINATES, LATITUDE, LONGITUDE

_MAX_ROWS_SHOWN = 5

MAX_DISTANCE_KM = 20_040.0  # half the Earth's circumference: no two places are farther apart
MAX_RATIO = 1_000_000.0  # a purchase a million times the cardholder's median is a data error
MAX_AMOUNT = 1e15  # more than any card purchase in any currency; sums of amounts stay finite


class DataValidationError(ValueError):
    """An input file that cannot be analysed; the message names file, column and rows."""


@dataclass(frozen=True)
class Bounds:
    """The range a numeric column's values must lie in, and the words that explain it."""

    low: float
    high: float
    below: str  # what the user reads when a value is under ``low``
    above: str  # how the upper bound is said


_DISTANCE = Bounds(0.0, MAX_DISTANCE_KM, "distances and ratios must be >= 0",
                   "20,040 km (half the Earth's circumference)")
_LATITUDE = Bounds(-90.0, 90.0, "latitudes lie in [-90, 90]", "90 (latitudes lie in [-90, 90])")
_LONGITUDE = Bounds(-180.0, 180.0, "longitudes lie in [-180, 180]",
                    "180 (longitudes lie in [-180, 180])")
VALUE_BOUNDS = {
    "distance_from_home": _DISTANCE,
    "distance_from_last_transaction": _DISTANCE,
    "ratio_to_median_purchase_price": Bounds(
        0.0, MAX_RATIO, "distances and ratios must be >= 0",
        "1,000,000 (a purchase a million times the cardholder's median)"),
    "amount": Bounds(0.0, MAX_AMOUNT, "amounts must be >= 0 (refunds and reversals are not "
                     "purchases)", "10^15 (more than any card purchase)"),
    **{column: _LATITUDE for column in (LATITUDE, HOME_COORDINATES[0])},
    **{column: _LONGITUDE for column in (LONGITUDE, HOME_COORDINATES[1])},
}

# a number written with thousands separators, e.g. 1.234,5 or 12,345.67 or 1 234
_GROUPED_NUMBER = re.compile(r"[+-]?\d{1,3}(?P<mark>[.,' \u00a0])\d{3}(?:(?P=mark)\d{3})*(?:[.,]\d+)?")


class OffendingRows:
    """The first offending positions and how many there are in all, for :func:`rows_text`.

    An engine that never holds the whole table (Spark) counts the offending rows with an
    aggregation and fetches only the first few.
    """

    def __init__(self, first, total: int):
        self.first, self.total = [int(p) for p in first][:_MAX_ROWS_SHOWN], int(total)

    def __len__(self) -> int:
        return self.total

    def __iter__(self):
        return iter(self.first)


def rows_text(positions) -> str:
    """Format the first offending positions as 1-based data row numbers."""
    rows = [int(p) + 1 for p in list(positions)[:_MAX_ROWS_SHOWN]]
    more = len(positions) - len(rows)
    text = ", ".join(str(r) for r in rows)
    return f"row{'s' if len(positions) > 1 else ''} {text}" + (f" and {more} more" if more > 0 else "")


def check_unique_column_names(names: list, source: str) -> None:
    """Raise when two columns have the same name once surrounding spaces are stripped.

    pandas would silently rename an exact copy ``fraud.1``; a copy with spaces would make
    ``frame['fraud']`` a table instead of a column.
    """
    stripped = [str(n).strip() for n in names]
    repeated = [name for name, count in Counter(stripped).items() if count > 1]
    if repeated:
        name = repeated[0]
        places = [str(i + 1) for i, n in enumerate(stripped) if n == name]
        raise DataValidationError(
            f"{source}: column name '{name}' appears {len(places)} times (columns "
            f"{', '.join(places)}, names compared without surrounding spaces); rename or remove "
            f"the copies")


def thousands_hint(example) -> str:
    """Return advice when a value that is not a number looks like one with thousands marks."""
    match = _GROUPED_NUMBER.fullmatch(str(example).strip())
    if not match:
        return ""
    mark = match.group("mark")
    return (f"; these look like numbers written with {mark!r} as thousands separator: remove "
            f"the separators or set load.thousands={mark!r}")


def check_bounds(series: pd.Series, source: str, bounds: Bounds) -> None:
    """Raise naming the rows whose values are infinite or outside ``bounds``."""
    values = series.to_numpy(dtype="float64", na_value=np.nan)
    infinite = np.isinf(values)
    if infinite.any():
        _refuse(series, source, infinite, "infinite values", "every value must be a finite number")
    with np.errstate(invalid="ignore"):
        below, above = values < bounds.low, values > bounds.high
    (_, _), (below_what, below_why), (above_what, _) = bounds_problems(bounds)
    if below.any():
        _refuse(series, source, below, below_what, below_why)
    if above.any():
        _refuse(series, source, above, above_what, "")


def _refuse(series: pd.Series, source: str, mask: np.ndarray, what: str, why: str) -> None:
    """Raise the one-line error for the rows in ``mask``."""
    positions = np.flatnonzero(mask)
    raise bounds_error(source, str(series.name), what, why, positions,
                       float(series.iloc[positions[0]]))


def bounds_problems(bounds: Bounds) -> list[tuple[str, str]]:
    """Return (what, why) of the three ways a value can leave ``bounds``, in the order checked:
    infinite, below, above (each engine marks the rows, :func:`bounds_error` words them)."""
    below = "negative values" if bounds.low == 0 else f"values below {bounds.low:g}"
    return [("infinite values", "every value must be a finite number"), (below, bounds.below),
            (f"values above {bounds.above}", "")]


def bounds_error(source: str, column: str, what: str, why: str, positions,
                 example: float) -> DataValidationError:
    """The one-line error for values out of range at ``positions`` (0-based)."""
    return DataValidationError(
        f"{source}: column '{column}' has {what} at {rows_text(positions)} "
        f"(e.g. {example:g})" + (f"; {why}" if why else ""))


def to_timestamps(series: pd.Series, source: str) -> tuple[pd.Series, bool]:
    """Parse a ``timestamp`` (or ``captured_at``) column to datetimes; raise naming bad rows.

    Returns the parsed column and whether it was converted from text.
    """
    if pd.api.types.is_datetime64_any_dtype(series):
        return series, False
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        raise numbers_not_timestamps_error(
            source, str(series.name), series.dropna().iloc[0] if series.notna().any() else 'empty')
    text = series.astype("string").str.strip()
    try:
        with warnings.catch_warnings():  # "could not infer format": parsed one by one instead
            warnings.simplefilter("ignore", UserWarning)
            stamps = pd.to_datetime(text, errors="coerce")
            retry = (text.notna() & stamps.isna()).to_numpy()
            if retry.any():  # another layout than the first row's, e.g. a date without a time
                stamps[retry] = pd.to_datetime(text[retry], errors="coerce", format="mixed")
    except (ValueError, TypeError) as exc:  # mixed time zones, or dates out of range
        raise DataValidationError(
            f"{source}: column '{series.name}' cannot be read as dates and times "
            f"({str(exc).splitlines()[0]})") from None
    bad = (text.notna() & stamps.isna()).to_numpy()
    if bad.any():
        positions = np.flatnonzero(bad)
        raise not_timestamps_error(source, str(series.name), positions,
                                   series.iloc[positions[0]])
    return stamps, True


def not_timestamps_error(source: str, column: str, positions, example) -> DataValidationError:
    """The one-line error for texts that are not dates and times at ``positions``."""
    return DataValidationError(
        f"{source}: column '{column}' has values that are not dates and times at "
        f"{rows_text(positions)} (e.g. {example!r}); write them like 2024-05-01 10:30:00")


def numbers_not_timestamps_error(source: str, column: str, example) -> DataValidationError:
    """The one-line error for a time column holding numbers."""
    return DataValidationError(
        f"{source}: column '{column}' holds numbers, not dates and times (e.g. {example!r}); "
        f"write them like 2024-05-01 10:30:00")


def to_text(series: pd.Series) -> tuple[pd.Series, bool]:
    """Return a column of names (e.g. ``city``) as text, numbers included; and if converted."""
    if pd.api.types.is_string_dtype(series) or isinstance(series.dtype, pd.CategoricalDtype):
        return series, False
    return series.map(lambda value: None if pd.isna(value) else str(value)).astype("string"), True


def require_columns(frame: pd.DataFrame, required, source: str, lead: str = "missing",
                    hint: str = "") -> None:
    """Raise naming every ``required`` column the file lacks and the columns it has.

    The message reads ``<source>: <lead> column(s) a, b (<hint>found: ...)``.
    """
    missing = [c for c in required if c not in frame.columns]
    if missing:
        found = ", ".join(map(str, frame.columns[:12]))
        raise DataValidationError(f"{source}: {lead} column{'s' if len(missing) > 1 else ''} "
                                  f"{', '.join(missing)} ({hint}found: {found})")
