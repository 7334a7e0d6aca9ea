"""Where each cardholder lives: the customer master's file, or homes given on the purchase rows.

``load.cardholders_path`` (CSV or Parquet) has ``card_id`` and the home as
``home_latitude``/``home_longitude`` (``latitude``/``longitude`` are read as the home in this
file), or a ``home_city`` (``city``) or ``home_postal_code`` (``postal_code``) placed through a
city table (``load.cities_path``: ``city`` and/or ``postal_code``, ``latitude``, ``longitude``;
default: the simulator's built-in table of Colombia's main cities, names compared without case
or accents). ``load.cardholder_columns`` maps the file's own headers (e.g. ``{card_id:
NUM_TARJETA, home_city: CIUDAD_RESIDENCIA}``); without it, the ``load.columns`` entries whose
header the cardholder file has are applied to it. Some extracts carry the home on every purchase row instead (``home_latitude`` and
``home_longitude``, or ``home_city``/``home_postal_code``); one source of homes, never both.

Cards without a home (not in the file, no coordinates, a city the table lacks) are counted;
their distance from home stays unknown (NaN) and their rows are kept. Refused in one line: a
card given twice in the cardholder file, coordinates out of range, a city table without names.
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from ..report.translate import N_
from .checks import VALUE_BOUNDS, DataValidationError, check_bounds
from .cleaning import to_number
from .codes import code_key
from .column_mapping import apply_column_mapping
from .coordinates import _join_keys, check_unique_ids
from .files import read_transactions
from .schema import CARD_ID, HOME_CITY, HOME_COORDINATES, HOME_POSTAL_CODE, LATITUDE, LONGITUDE

HOME_LATITUDE, HOME_LONGITUDE = HOME_COORDINATES
HOME_COLUMNS = [HOME_LATITUDE, HOME_LONGITUDE, HOME_CITY, HOME_POSTAL_CODE]
# names a cardholder file may use for its columns (every one is the cardholder's home)
_CARDHOLDER_ALIASES = {LATITUDE: HOME_LATITUDE, LONGITUDE: HOME_LONGITUDE, "city": HOME_CITY,
                       "postal_code": HOME_POSTAL_CODE}
_EXAMPLES = 5


@dataclass
class HomesReport:
    """Where the homes came from and which cards have none, for the load page and run.json."""

    source: str = "none"  # cardholders file | purchase rows | none
    path: str | None = None
    city_table: str | None = None  # the table cities / postal codes were placed with
    cardholders: int = 0  # rows of the cardholder file
    cards: int = 0  # cards in the purchases
    cards_without_home: int = 0
    cards_without_home_examples: list = field(default_factory=list)
    rows_without_home: int = 0
    placed_by_city: int = 0  # homes placed through the city table (cardholders or rows)
    places_not_in_table: list = field(default_factory=list)  # the first unknown names

    def as_dict(self) -> dict:
        """The report as plain JSON-ready values."""
        return asdict(self)


def place_name(name) -> str:
    """Return a city name as compared: no accents, no case, single spaces (Bogotá = BOGOTA)."""
    text = unicodedata.normalize("NFKD", str(name))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.casefold().split())


def read_city_table(path: str | os.PathLike | None) -> tuple[pd.DataFrame, str]:
    """Return the city table (``city``/``postal_code``, ``latitude``, ``longitude``) and its name."""
    if path is None:
        from ..simulator.world import COUNTRY_CITIES

        rows = COUNTRY_CITIES["Colombia"]
        table = pd.DataFrame({"city": [r[0] for r in rows], LATITUDE: [r[1] for r in rows],
                              LONGITUDE: [r[2] for r in rows]})
        return table, "built-in table of Colombia's main cities"
    source = str(path)
    table = read_transactions(path)
    if not {"city", "postal_code"} & set(table.columns) or not {LATITUDE, LONGITUDE} <= set(table):
        raise DataValidationError(
            f"{source}: a city table has city and/or postal_code, latitude and longitude "
            f"(found: {', '.join(map(str, table.columns[:12]))})")
    for column in (LATITUDE, LONGITUDE):
        table[column] = to_number(table[column], source, table.attrs.get("decimal", "."))[0]
        check_bounds(table[column], source, VALUE_BOUNDS[column])
    return table, source


def _lookup(table: pd.DataFrame, column: str, normalise) -> pd.DataFrame:
    """The table's rows by normalised name or code (the first of repeated names is kept)."""
    rows = table.dropna(subset=[column, LATITUDE, LONGITUDE])
    keys = rows[column].map(normalise)
    return rows.assign(key=keys.to_numpy()).drop_duplicates("key").set_index("key")


def place_homes(places: pd.Series, table: pd.DataFrame, kind: str) -> tuple[np.ndarray, ...]:
    """Return latitude and longitude of each city (``kind='city'``) or postal code; NaN if unknown."""
    if kind not in table.columns:
        return np.full(len(places), np.nan), np.full(len(places), np.nan)
    normalise = place_name if kind == "city" else code_key
    lookup = _lookup(table, kind, normalise)
    keys = places.map(lambda v: None if pd.isna(v) else normalise(v))
    position = lookup.index.get_indexer(keys)
    found = position >= 0
    lat = np.where(found, lookup[LATITUDE].to_numpy()[np.maximum(position, 0)], np.nan)
    lon = np.where(found, lookup[LONGITUDE].to_numpy()[np.maximum(position, 0)], np.nan)
    return lat, lon


def homes_from_columns(frame: pd.DataFrame, source: str, cities_path, report: HomesReport
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Return each row's home: its coordinates, else its city or postal code placed by the table."""
    lat = np.full(len(frame), np.nan)
    lon = np.full(len(frame), np.nan)
    if HOME_LATITUDE in frame and HOME_LONGITUDE in frame:
        for column in (HOME_LATITUDE, HOME_LONGITUDE):
            values = to_number(frame[column], source, frame.attrs.get("decimal", "."))[0]
            check_bounds(values, source, VALUE_BOUNDS[column])
            (lat if column == HOME_LATITUDE else lon)[:] = values.to_numpy()
    places = [c for c in (HOME_CITY, HOME_POSTAL_CODE) if c in frame]
    if places:
        table, report.city_table = read_city_table(cities_path)
        for column in places:
            todo = np.isnan(lat) | np.isnan(lon)
            kind = "city" if column == HOME_CITY else "postal_code"
            place_lat, place_lon = place_homes(frame[column][todo], table, kind)
            lat[todo], lon[todo] = place_lat, place_lon
            report.placed_by_city += int(np.isfinite(place_lat).sum())
            missed = frame[column][todo][np.isnan(place_lat)].dropna()
            report.places_not_in_table += [str(v) for v in pd.unique(missed)[:_EXAMPLES]]
    unknown = np.isnan(lat) | np.isnan(lon)
    lat[unknown], lon[unknown] = np.nan, np.nan
    return lat, lon


def read_cardholders(path, columns: dict | None, cardholder_columns: dict | None = None
                     ) -> pd.DataFrame:
    """Read the cardholder file with its home columns under their names (module docstring)."""
    source = str(path)
    frame = read_transactions(path)
    if cardholder_columns:
        frame = apply_column_mapping(frame, cardholder_columns, source)
    else:
        frame = frame.rename(columns={str(h).strip(): n for n, h in (columns or {}).items()
                                      if str(h).strip() in frame})
    frame = frame.rename(
        columns={a: n for a, n in _CARDHOLDER_ALIASES.items() if n not in frame})
    if CARD_ID not in frame or not set(HOME_COLUMNS) & set(frame.columns):
        raise DataValidationError(
            f"{source}: a cardholder file has card_id and the home as home_latitude and "
            f"home_longitude, home_city or home_postal_code (found: "
            f"{', '.join(map(str, frame.columns[:12]))})")
    check_unique_ids(frame[CARD_ID], source, "; a card has one home")
    return frame


def resolve_homes(purchases: pd.DataFrame, source: str, cardholders_path=None,
                  cities_path=None, columns: dict | None = None,
                  cardholder_columns: dict | None = None
                  ) -> tuple[np.ndarray, np.ndarray, HomesReport]:
    """Return the home latitude and longitude of every purchase row and what was found."""
    on_rows = [c for c in HOME_COLUMNS if c in purchases]
    report = HomesReport(cards=int(purchases[CARD_ID].nunique()))
    if cardholders_path and on_rows:
        raise DataValidationError(
            f"{source}: has column{'s' if len(on_rows) > 1 else ''} {', '.join(on_rows)} and "
            f"load.cardholders_path gives {cardholders_path} too; keep one source of homes: "
            f"remove them from the extract or set load.cardholders_path to null")
    if cardholders_path:
        cardholders = read_cardholders(cardholders_path, columns, cardholder_columns)
        home_lat, home_lon = homes_from_columns(cardholders, str(cardholders_path), cities_path,
                                                report)
        card_keys, holder_keys = _join_keys(purchases[CARD_ID], cardholders[CARD_ID])
        position = holder_keys.get_indexer(card_keys)
        lat = np.where(position >= 0, home_lat[np.maximum(position, 0)], np.nan)
        lon = np.where(position >= 0, home_lon[np.maximum(position, 0)], np.nan)
        report.source, report.cardholders = N_("cardholders file"), len(cardholders)
        report.path = str(os.path.abspath(cardholders_path))
    elif on_rows:
        lat, lon = homes_from_columns(purchases, source, cities_path, report)
        report.source = N_("purchase rows")
    else:
        lat, lon = np.full(len(purchases), np.nan), np.full(len(purchases), np.nan)
    without = np.isnan(lat)
    cards = pd.unique(purchases[CARD_ID].to_numpy()[without])
    report.rows_without_home, report.cards_without_home = int(without.sum()), len(cards)
    report.cards_without_home_examples = [str(card) for card in cards[:_EXAMPLES]]
    return lat, lon, report
