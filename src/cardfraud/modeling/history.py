"""Each card's recent history as model inputs (issue 15), from its earlier purchases only.

A purchase's history features use only purchases **strictly before its timestamp** (nothing at
or after it: two purchases at the same time do not see each other), so a purchase scored alone
with the earlier purchases (:func:`history_features_for`) gets exactly the features it gets in
the whole extract, and training sees what serving will see.

- ``purchases_last_1h`` / ``_24h`` / ``_7d``: the card's purchases in [t - window, t).
- ``amount_to_card_mean_7d`` / ``_30d``: amount over the mean amount of the card's purchases
  in [t - window, t) (at most 10^6, like ``ratio_to_median_purchase_price``); **1.0** when the
  window is empty (the card's first purchase), the mean is not positive or the amount unknown.
- ``minutes_since_previous``: minutes since the card's latest earlier purchase, capped at
  :data:`MINUTES_CAP` (30 days); the card's first purchase gets the cap (a dormant card).
- ``speed_from_previous_kmh``: haversine km from the place of the card's latest earlier
  purchase with a known place to this one, over the hours between them (at least one minute,
  so purchases a few seconds apart do not divide by ~0), capped at :data:`SPEED_CAP_KMH`
  (faster than an airliner is impossible travel anyway); **0** for the first purchase, and when
  this place or every earlier place is unknown (NaN coordinates a provider's file leaves).
- ``first_purchase_at_merchant``: 1 when the card has no earlier purchase at this merchant in
  the data, else 0; **0** when the merchant is empty (no sign of novelty).
- ``hour_of_day``: the hour (0-23) of the timestamp as written (the bank's local time).
- ``merchant_fraud_rate_30d``: the merchant's frauds over its purchases (all cards) with time in
  (t - delay - 30 days, t - delay], ``delay`` = ``label_delay_days``: only labels already known
  when the purchase happens (the Fraud Detection Handbook's terminal risk with a delay period).
  An unknown label (NaN, e.g. new purchases) counts as a purchase but not as a fraud; **0** when
  the window is empty or the merchant is empty. With a delay of 0 the window ends before t.

Every feature is float64 with no NaN. Computed with one sort per grouping and binary searches
(:mod:`cardfraud.modeling.history_windows`): 1,000,000 purchases in a few seconds
(``bench/bench_history.py``).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..data.checks import MAX_RATIO, Bounds
from ..data.derive import haversine_km
from ..data.schema import (
    AMOUNT,
    CARD_ID,
    LATITUDE,
    LONGITUDE,
    MERCHANT_ID,
    TARGET,
    TIMESTAMP,
    TRANSACTION_ID,
)
from .history_windows import (
    NANOSECONDS_PER_DAY,
    NANOSECONDS_PER_MINUTE,
    SortedWindows,
    group_codes,
    timestamp_nanoseconds,
)

COUNT_WINDOWS = {"purchases_last_1h": 1 / 24, "purchases_last_24h": 1.0, "purchases_last_7d": 7.0}
AMOUNT_WINDOWS = {"amount_to_card_mean_7d": 7.0, "amount_to_card_mean_30d": 30.0}
HISTORY_FEATURES = [*COUNT_WINDOWS, *AMOUNT_WINDOWS, "minutes_since_previous",
                    "speed_from_previous_kmh", "first_purchase_at_merchant", "hour_of_day",
                    "merchant_fraud_rate_30d"]
MINUTES_CAP = 30 * 24 * 60.0  # 30 days: a card's first purchase looks like a dormant card's
SPEED_CAP_KMH = 1000.0
SHORTEST_GAP_HOURS = 1 / 60
MERCHANT_WINDOW_DAYS = 30.0
# the columns each feature needs besides card_id and timestamp
FEATURE_NEEDS = {**{name: [] for name in COUNT_WINDOWS},
                 **{name: [AMOUNT] for name in AMOUNT_WINDOWS},
                 "minutes_since_previous": [], "speed_from_previous_kmh": [LATITUDE, LONGITUDE],
                 "first_purchase_at_merchant": [MERCHANT_ID], "hour_of_day": [],
                 "merchant_fraud_rate_30d": [MERCHANT_ID, TARGET]}
# the values a history feature can take: the scorer refuses others in a file or a request
_COUNT = Bounds(0.0, math.inf, "counts of purchases are >= 0", "")
_RATIO = Bounds(0.0, MAX_RATIO, "amount ratios are >= 0",
                "1,000,000 (a purchase a million times the card's mean)")
HISTORY_BOUNDS = {
    **{name: _COUNT for name in COUNT_WINDOWS}, **{name: _RATIO for name in AMOUNT_WINDOWS},
    "minutes_since_previous": Bounds(0.0, MINUTES_CAP, "minutes are >= 0",
                                     f"{MINUTES_CAP:,.0f} (30 days, the cap)"),
    "speed_from_previous_kmh": Bounds(0.0, SPEED_CAP_KMH, "speeds are >= 0",
                                      f"{SPEED_CAP_KMH:,.0f} km/h (the cap)"),
    "first_purchase_at_merchant": Bounds(0.0, 1.0, "it is 0 or 1", "1 (it is 0 or 1)"),
    "hour_of_day": Bounds(0.0, 23.0, "hours lie in 0-23", "23 (hours lie in 0-23)"),
    "merchant_fraud_rate_30d": Bounds(0.0, 1.0, "rates lie in [0, 1]", "1 (rates lie in [0, 1])"),
}

def history_columns(columns) -> list[str]:
    """Return the history features a frame (or its column names) allows, in HISTORY_FEATURES'
    order; none without ``card_id`` and ``timestamp`` (the public card_transdata table)."""
    present = set(map(str, getattr(columns, "columns", columns)))
    if not {CARD_ID, TIMESTAMP} <= present:
        return []
    return [name for name in HISTORY_FEATURES if set(FEATURE_NEEDS[name]) <= present]


def card_history_features(purchases: pd.DataFrame, label_delay_days: float = 7.0,
                          ) -> pd.DataFrame:
    """Return the history features the purchases allow (float64, no NaN), one row per purchase.

    Args:
        purchases: purchases with ``card_id`` and ``timestamp`` (any order; the features'
            other columns optional, see :func:`history_columns`).
        label_delay_days: days before a purchase by which a label is known (>= 0).

    Returns:
        A frame with the purchases' index and row order, one column per available feature
        (none when card_id or timestamp is missing).

    Raises:
        ValueError: an empty card_id or timestamp (naming the rows), or a negative delay.
    """
    features = history_columns(purchases)
    result = pd.DataFrame(index=purchases.index)
    if not features:
        return result
    if not (math.isfinite(label_delay_days) and label_delay_days >= 0):
        raise ValueError(f"label_delay_days must be a number >= 0, got {label_delay_days!r}")
    _refuse_empty(purchases, [CARD_ID, TIMESTAMP])
    times = timestamp_nanoseconds(purchases[TIMESTAMP])
    cards = SortedWindows(group_codes(purchases[CARD_ID]), times)
    columns = {**_card_counts(cards), "minutes_since_previous": _minutes_since_previous(cards)}
    if AMOUNT in purchases:
        columns.update(_amount_ratios(cards, purchases[AMOUNT].to_numpy(dtype="float64")))
    if {LATITUDE, LONGITUDE} <= set(purchases.columns):
        columns["speed_from_previous_kmh"] = _speed_from_previous(
            cards, purchases[LATITUDE].to_numpy(dtype="float64"),
            purchases[LONGITUDE].to_numpy(dtype="float64"))
    columns["hour_of_day"] = pd.to_datetime(purchases[TIMESTAMP]).dt.hour.to_numpy()
    if MERCHANT_ID in purchases:
        merchants = group_codes(purchases[MERCHANT_ID])
        columns["first_purchase_at_merchant"] = _first_at_merchant(cards, merchants, times)
        if TARGET in purchases:
            columns["merchant_fraud_rate_30d"] = _merchant_fraud_rate(
                merchants, times, purchases[TARGET], label_delay_days)
    for name in features:
        result[name] = np.asarray(columns[name], dtype="float64")
    return result


def history_features_for(new: pd.DataFrame, history: pd.DataFrame,
                         label_delay_days: float = 7.0) -> pd.DataFrame:
    """Return the history features of the ``new`` purchases given the earlier ``history``.

    The two frames are put together and computed with :func:`card_history_features`, so a
    purchase gets the same features as in the whole extract. A feature is computed when both
    frames carry its columns, except the fraud label, which only ``history`` needs (new
    purchases' labels are unknown). Card and merchant ids read with different types in the two
    frames (12 and "12") are compared as text (:func:`id_text`). Purchases of ``history`` at
    or after a new purchase's time never count for it, and a history that holds the new
    purchases themselves (the whole extract) is fine when both frames have ``transaction_id``:
    the copies are dropped, their labels kept for the later purchases (without the ids, a copy
    would count twice in a later purchase's windows).

    Returns:
        The new purchases' features, with ``new``'s index and row order.
    """
    new, history = _without_copies(new, history)
    shared = set(map(str, new.columns)) & set(map(str, history.columns))
    if TARGET in history:
        shared.add(TARGET)
    allowed = history_columns(shared)
    needed = sorted({CARD_ID, TIMESTAMP, *(n for f in allowed for n in FEATURE_NEEDS[f])})
    history, new = history.reindex(columns=needed), new.reindex(columns=needed)
    for column in {CARD_ID, MERCHANT_ID} & set(needed):
        if history[column].dtype != new[column].dtype:  # e.g. 12 from a CSV, "12" from Parquet
            history[column], new[column] = id_text(history[column]), id_text(new[column])
    both = pd.concat([history, new], ignore_index=True)
    features = card_history_features(both, label_delay_days).iloc[len(history):]
    return features.set_axis(new.index)


def _without_copies(new: pd.DataFrame, history: pd.DataFrame,
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Drop the history's copies of new purchases (same transaction_id); a label the history
    knows goes to the new purchase, as in the whole extract."""
    if TRANSACTION_ID not in new or TRANSACTION_ID not in history:
        return new, history
    new_ids, history_ids = new[TRANSACTION_ID], history[TRANSACTION_ID]
    if new_ids.dtype != history_ids.dtype:  # 12 and "12" are the same purchase
        new_ids, history_ids = id_text(new_ids), id_text(history_ids)
    copies = history_ids.isin(new_ids.dropna()).to_numpy()
    if not copies.any():
        return new, history
    if TARGET in history:
        known = history.loc[copies, TARGET].set_axis(history_ids[copies].to_numpy())
        labels = new_ids.map(known[~known.index.duplicated()]).astype("float64")
        new = new.assign(**{TARGET: pd.to_numeric(new[TARGET], errors="coerce").fillna(labels)
                            if TARGET in new else labels})
    return new, history.loc[~copies]


def id_text(ids: pd.Series) -> pd.Series:
    """Return card or merchant ids as text, whole numbers without a decimal part (12.0 -> "12"),
    empty ones left empty: the same card in two files read with different types."""
    if pd.api.types.is_numeric_dtype(ids) and not pd.api.types.is_bool_dtype(ids):
        numbers = ids.astype("float64")
        whole = numbers.notna() & (numbers == numbers.round())
        text = numbers.astype(str).where(~whole, numbers.where(whole, 0).astype("int64").astype(str))
        return text.where(numbers.notna())
    return ids.astype("string").str.strip().astype(object).where(ids.notna())


def _refuse_empty(purchases: pd.DataFrame, columns: list[str]) -> None:
    for column in columns:
        empty = np.flatnonzero(purchases[column].isna().to_numpy())
        if len(empty):
            rows = ", ".join(str(r) for r in empty[:5]) + (", ..." if len(empty) > 5 else "")
            raise ValueError(f"{column}: {len(empty):,} empty value(s) (rows {rows}); every "
                             f"purchase needs a {column} for its card's history")


def _card_counts(cards: SortedWindows) -> dict[str, np.ndarray]:
    now = cards.position()
    return {name: cards.to_caller_order(now - cards.position(days * NANOSECONDS_PER_DAY))
            for name, days in COUNT_WINDOWS.items()}


def _amount_ratios(cards: SortedWindows, amounts: np.ndarray) -> dict[str, np.ndarray]:
    sorted_amounts = amounts[cards.order]
    known = np.isfinite(sorted_amounts)
    now = cards.position()
    ratios = {}
    for name, days in AMOUNT_WINDOWS.items():
        start = cards.position(days * NANOSECONDS_PER_DAY)
        total = cards.window_sum(np.where(known, sorted_amounts, 0.0), start, now)
        count = cards.window_sum(known.astype(np.int64), start, now)
        usable = known & (count > 0) & (total > 0)
        ratio = np.ones(len(now))
        ratio[usable] = np.minimum(sorted_amounts[usable] / (total[usable] / count[usable]),
                                   MAX_RATIO)
        ratios[name] = cards.to_caller_order(ratio)
    return ratios


def _previous_row(cards: SortedWindows) -> tuple[np.ndarray, np.ndarray]:
    """Per sorted purchase: the sorted row of the card's latest earlier purchase, and whether
    there is one."""
    now = cards.position()
    return np.maximum(now - 1, 0), now > cards.group_start()


def _minutes_since_previous(cards: SortedWindows) -> np.ndarray:
    previous, has_previous = _previous_row(cards)
    minutes = (cards.times - cards.times[previous]) / NANOSECONDS_PER_MINUTE
    return cards.to_caller_order(np.where(has_previous, np.minimum(minutes, MINUTES_CAP),
                                          MINUTES_CAP))


def _speed_from_previous(cards: SortedWindows, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    lat, lon = lat[cards.order], lon[cards.order]
    known = np.isfinite(lat) & np.isfinite(lon)
    previous, has_previous = _previous_row(cards)
    latest_known = np.maximum.accumulate(np.where(known, np.arange(len(known)), -1))
    origin = np.where(has_previous, latest_known[previous], -1)
    usable = known & (origin >= cards.group_start())
    origin = np.maximum(origin, 0)
    km = haversine_km(lat[origin], lon[origin], lat, lon)
    hours = np.maximum((cards.times - cards.times[origin]) / (60 * NANOSECONDS_PER_MINUTE),
                       SHORTEST_GAP_HOURS)
    speed = np.where(usable, np.minimum(km / hours, SPEED_CAP_KMH), 0.0)
    return cards.to_caller_order(np.nan_to_num(speed, nan=0.0))


def _first_at_merchant(cards: SortedWindows, merchants: np.ndarray, times: np.ndarray,
                       ) -> np.ndarray:
    card_codes = cards.to_caller_order(cards.groups)
    pair = card_codes * (int(merchants.max(initial=0)) + 2) + merchants
    first_time = pd.Series(times).groupby(pair, sort=False).transform("min").to_numpy()
    return ((times == first_time) & (merchants >= 0)).astype("float64")


def _merchant_fraud_rate(merchants: np.ndarray, times: np.ndarray, labels: pd.Series,
                         label_delay_days: float) -> np.ndarray:
    shop = SortedWindows(merchants, times)
    delay = label_delay_days * NANOSECONDS_PER_DAY
    # (t - delay - 30 d, t - delay]; with no delay the window must still end before t
    stop = shop.position(delay, include_equal=True) if delay > 0 else shop.position()
    start = shop.position(delay + MERCHANT_WINDOW_DAYS * NANOSECONDS_PER_DAY,
                          include_equal=True)
    known_fraud = (pd.to_numeric(labels, errors="coerce").to_numpy(dtype="float64") == 1)
    frauds = shop.window_sum(known_fraud[shop.order].astype(np.int64), start, stop)
    count = np.maximum(stop - start, 0)
    rate = np.where((count > 0) & (shop.groups >= 0), frauds / np.maximum(count, 1), 0.0)
    return shop.to_caller_order(rate)
