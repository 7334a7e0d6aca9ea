"""The seven model inputs derived from raw purchases, each from the card's earlier purchases only.

The purchases of a card are put in time order (card, then timestamp, then the file's order for
purchases at the same time: the order the core system logged them, so the second of two
purchases in one second knows the first). Each input of a purchase uses only the purchases
before it in that order:

- ``distance_from_home``: km (haversine) from the cardholder's home to where the purchase
  happened (``latitude``/``longitude``: the shop onsite, the connection online when known);
  unknown (NaN) when the home or the place is.
- ``distance_from_last_transaction``: km from the place of the card's latest earlier purchase
  whose place is known; for the card's first purchase (or when no earlier place is known),
  from the home, as if the cardholder set out from there; NaN when neither is known.
- ``ratio_to_median_purchase_price``: amount over the median of the card's earlier amounts;
  warm-up: a card's first purchase has ratio 1 (it is its own median).
- ``repeat_retailer``: 1 when the card bought at this merchant before; NaN when the merchant
  is empty.
- ``used_chip``, ``used_pin_number``, ``online_order``: from the decoded codes
  (:mod:`cardfraud.data.codes`).

Everything is vectorised (one sort, offsets in the sorted arrays and pandas' rolling median
over windows [first purchase of the card, this purchase)), 1M purchases in about a second.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api.indexers import BaseIndexer

from .schema import AMOUNT, CARD_ID, LATITUDE, LONGITUDE, MERCHANT_ID, TIMESTAMP

EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance in km between points in degrees; NaN where a point is unknown."""
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(a, dtype=np.float64))
                              for a in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def history_order(cards: pd.Series, timestamps: pd.Series) -> np.ndarray:
    """Return the row positions sorted by card, then time, then file order (ties: file order)."""
    card_codes = pd.factorize(cards)[0]
    times = timestamps.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    return np.lexsort((np.arange(len(cards)), times, card_codes))


def first_of_card(sorted_cards: np.ndarray) -> np.ndarray:
    """True where a row sorted by card starts a new card."""
    first = np.ones(len(sorted_cards), dtype=bool)
    first[1:] = sorted_cards[1:] != sorted_cards[:-1]
    return first


class _EarlierPurchases(BaseIndexer):
    """Rolling windows [first purchase of the card, this purchase): the earlier ones only."""

    def __init__(self, starts: np.ndarray):
        super().__init__()
        self.starts = starts

    def get_window_bounds(self, num_values=0, min_periods=None, center=None, closed=None,
                          step=None):
        return self.starts.astype(np.int64), np.arange(len(self.starts), dtype=np.int64)


def ratio_to_earlier_median(amounts: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Amount over the median of the card's earlier amounts; 1 for a card's first purchase."""
    starts = np.maximum.accumulate(np.where(first, np.arange(len(first)), 0))
    median = pd.Series(amounts).rolling(_EarlierPurchases(starts), min_periods=1).median()
    ratio = amounts / median.to_numpy()
    ratio[first] = 1.0
    return ratio


def distance_from_previous(lat: np.ndarray, lon: np.ndarray, first: np.ndarray,
                           home_lat: np.ndarray, home_lon: np.ndarray) -> np.ndarray:
    """Km from the card's latest earlier purchase with a known place (none earlier: from home)."""
    n = len(lat)
    rows = np.arange(n)
    known = np.isfinite(lat) & np.isfinite(lon)
    latest_known = np.maximum.accumulate(np.where(known, rows, -1))  # at or before each row
    previous = np.concatenate(([-1], latest_known[:-1]))  # strictly before each row
    card_start = np.maximum.accumulate(np.where(first, rows, 0))
    previous = np.where(previous >= card_start, previous, -1)  # within the same card only
    from_home = previous < 0
    prev_lat = np.where(from_home, home_lat, lat[np.maximum(previous, 0)])
    prev_lon = np.where(from_home, home_lon, lon[np.maximum(previous, 0)])
    return haversine_km(prev_lat, prev_lon, lat, lon)


def bought_here_before(cards: np.ndarray, merchants: pd.Series) -> np.ndarray:
    """1 when the card (sorted by card and time) bought at the merchant earlier; NaN if empty."""
    merchant_codes = pd.factorize(merchants)[0].astype(np.int64)
    pair = pd.Series(cards.astype(np.int64) * (int(merchant_codes.max(initial=0)) + 2)
                     + merchant_codes)
    repeat = pair.duplicated().to_numpy(dtype="float64")
    repeat[merchant_codes < 0] = np.nan
    return repeat


def derive_inputs(purchases: pd.DataFrame, home_lat: np.ndarray, home_lon: np.ndarray,
                  flags: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Return the inputs the purchases allow, in the purchases' own row order.

    Args:
        purchases: validated raw purchases (card_id, timestamp, amount; optionally
            merchant_id, latitude, longitude).
        home_lat, home_lon: each row's home (NaN when unknown), in row order.
        flags: used_chip / used_pin_number / online_order already decoded, in row order.

    Returns:
        {input name: float64 values}; an input the purchases cannot give is absent.
    """
    order = history_order(purchases[CARD_ID], purchases[TIMESTAMP])
    cards = pd.factorize(purchases[CARD_ID])[0][order]
    first = first_of_card(cards)
    sorted_inputs = {}
    if LATITUDE in purchases and LONGITUDE in purchases:
        lat = purchases[LATITUDE].to_numpy(dtype="float64", na_value=np.nan)[order]
        lon = purchases[LONGITUDE].to_numpy(dtype="float64", na_value=np.nan)[order]
        if np.isfinite(home_lat).any():
            sorted_inputs["distance_from_home"] = haversine_km(home_lat[order], home_lon[order],
                                                               lat, lon)
        sorted_inputs["distance_from_last_transaction"] = distance_from_previous(
            lat, lon, first, home_lat[order], home_lon[order])
    amounts = purchases[AMOUNT].to_numpy(dtype="float64")[order]
    sorted_inputs["ratio_to_median_purchase_price"] = ratio_to_earlier_median(amounts, first)
    if MERCHANT_ID in purchases:
        sorted_inputs["repeat_retailer"] = bought_here_before(
            cards, purchases[MERCHANT_ID].iloc[order].reset_index(drop=True))
    inputs = {}
    for name, values in sorted_inputs.items():
        in_row_order = np.empty(len(order), dtype="float64")
        in_row_order[order] = values
        inputs[name] = in_row_order
    inputs.update(flags)
    return inputs
