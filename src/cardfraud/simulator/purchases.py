"""The cardholders' own purchases and the card_transdata columns derived from all purchases.

Part of the built-in simulator (:func:`cardfraud.simulator.simulate.simulate`; the story and every number
in ``docs/simulator.md``). Genuine purchases follow each cardholder's habits, areas and trips;
the ``behaviour_shift`` drift moves them online and to wallets. The derived columns come from
offsets in arrays sorted by cardholder and time, never from a loop per purchase.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .fraud import SCENARIO_NAMES
from .world import (
    CONNECTION_JITTER_KM,
    JITTER_SIGMA,
    NEARBY_SHOPS,
    USUAL_ONLINE,
    USUAL_SHOPS,
    World,
    after_drift,
    displace,
    first_of_group,
    haversine_km,
    lognormal_km,
    round_amount,
)

# Shapes that are part of the story rather than knobs (see docs/simulator.md).
AREA_PERSISTENCE = 0.92  # chance a purchase is in the same area as the previous one
AMOUNT_SIGMA_LOW = 1.15  # spread of a cardholder's genuine amounts below their median (log)
AMOUNT_SIGMA_HIGH = 0.8  # and above it
LARGE_PURCHASE_FACTOR = 7.0
STEP_UP_RATIO = 3.0  # amounts above this many times the cardholder's typical one ...
STEP_UP_SHARE = 0.7  # ... are verified (PIN / 3-D Secure) this often on top of habit

#: Columns only a simulation can know: the analysis is judged against them, the model never sees them.
GROUND_TRUTH_COLUMNS = ("fraud_scenario", "compromise_point_id", "cash_out_area_id")

# Drift "behaviour_shift", per unit of drift_strength (capped at all of it):
BEHAVIOUR_SHIFT_ONLINE = 0.6  # share of a cardholder's onsite habit that moves online
BEHAVIOUR_SHIFT_CHIP = 0.7  # share of purchases without a cryptogram that move to wallets


# --------------------------------------------------------------------------- genuine purchases


def _purchase_seconds(size: int, days: int, rng) -> np.ndarray:
    """Seconds from the start of the period: a uniform day and a daytime-heavy hour."""
    day = rng.integers(0, days, size)
    hour = np.mod(rng.normal(14.5, 4.0, size), 24.0)
    return day * 86400 + (hour * 3600).astype(np.int64)


def _markov_areas(world: World, ch: np.ndarray, rng) -> np.ndarray:
    """Area of each purchase: often the previous purchase's area, else drawn by habit."""
    n = len(ch)
    candidate = (rng.random(n) >= world.home_area_share[ch]).astype(np.int8)
    switch = first_of_group(ch) | (rng.random(n) >= AREA_PERSISTENCE)
    last_switch = np.maximum.accumulate(np.where(switch, np.arange(n), 0))
    return candidate[last_switch]


def _habit_draws(world: World, ch, after, cfg, rng) -> dict:
    """Channel, cryptogram, verification and usual-merchant choice of each genuine purchase."""
    n = len(ch)
    p_online, p_chip = world.habits["online"][ch], world.habits["chip"][ch]
    if cfg["drift_kind"] == "behaviour_shift" and after.any():
        to_online = min(1.0, cfg["drift_strength"] * BEHAVIOUR_SHIFT_ONLINE)
        to_wallet = min(1.0, cfg["drift_strength"] * BEHAVIOUR_SHIFT_CHIP)
        p_online = np.where(after, p_online + to_online * (1 - p_online), p_online)
        p_chip = np.where(after, p_chip + to_wallet * (1 - p_chip), p_chip)
    return {
        "online": rng.random(n) < p_online,
        "chip": rng.random(n) < p_chip,
        "pin": rng.random(n) < world.habits["pin"][ch],
        "usual": rng.random(n) < world.habits["repeat"][ch],
    }


def genuine_purchases(world: World, cfg: dict, rng) -> dict:
    """The cardholders' own purchases, sorted by cardholder and time."""
    n = int(world.counts.sum())
    ch = np.repeat(np.arange(len(world.counts), dtype=np.int32), world.counts)
    t = _purchase_seconds(n, cfg["days"], rng)
    t = t[np.lexsort((t, ch))]  # ch is already grouped, so this sorts time within cardholder
    area = _markov_areas(world, ch, rng)
    after = after_drift(t, cfg)
    draw = _habit_draws(world, ch, after, cfg, rng)
    pick = np.where(draw["usual"], rng.integers(0, USUAL_SHOPS, n), rng.integers(USUAL_SHOPS, NEARBY_SHOPS, n))
    shop = world.area_shops[ch, area, pick]
    web = np.where(draw["usual"], world.usual_online[ch, rng.integers(0, USUAL_ONLINE, n)],
                   world.popular_online(n, rng))
    # Online: the connection is geolocated near the area the cardholder is in.
    jitter = lognormal_km(CONNECTION_JITTER_KM, JITTER_SIGMA, n, rng)
    web_lat, web_lon = displace(world.area_lat[ch, area], world.area_lon[ch, area], jitter, rng)
    lat = np.where(draw["online"], web_lat, world.shop_lat[shop])
    lon = np.where(draw["online"], web_lon, world.shop_lon[shop])
    merchant = np.where(draw["online"], web, shop)
    _move_travellers(world, ch, t, draw["online"], lat, lon, merchant, rng)
    z = rng.standard_normal(n)  # skewed: many small everyday purchases below the median
    amount = world.typical[ch] * np.exp(np.where(z < 0, AMOUNT_SIGMA_LOW, AMOUNT_SIGMA_HIGH) * z)
    large = rng.random(n) < cfg["large_purchase_rate"]
    amount[large] *= LARGE_PURCHASE_FACTOR * np.exp(0.5 * rng.standard_normal(int(large.sum())))
    # Step-up authentication: the bank asks for a PIN / 3-D Secure on unusually large amounts.
    stepped = (amount > STEP_UP_RATIO * world.typical[ch]) & (rng.random(n) < STEP_UP_SHARE)
    return {"ch": ch, "t": t, "lat": lat, "lon": lon, "online": draw["online"],
            "merchant": merchant.astype(np.int32), "amount": round_amount(amount),
            "chip": draw["chip"], "pin": draw["pin"] | stepped, "scenario": np.zeros(n, dtype=np.int8),
            "compromise": np.zeros(n, dtype=np.int32), "cash_out": np.zeros(n, dtype=np.int8)}


def _move_travellers(world: World, ch, t, online, lat, lon, merchant, rng) -> None:
    """Purchases made during a trip happen in the destination city, at shops new to the cardholder."""
    n = len(ch)
    away = (t >= world.trip["start"][ch]) & (t < world.trip["end"][ch])
    spread = lognormal_km(2.0, 1.0, n, rng)
    trip_lat, trip_lon = displace(world.trip["lat"][ch], world.trip["lon"][ch], spread, rng)
    lat[away & online], lon[away & online] = trip_lat[away & online], trip_lon[away & online]
    in_shop = away & ~online
    if in_shop.any():
        shop = world.nearby_shops(trip_lat[in_shop], trip_lon[in_shop], 1)[:, 0]
        merchant[in_shop] = shop
        lat[in_shop], lon[in_shop] = world.shop_lat[shop], world.shop_lon[shop]


# --------------------------------------------------------------------------- derived columns


def _median_by_cardholder(ch: np.ndarray, amount: np.ndarray, n_cards: int) -> np.ndarray:
    """Median amount per cardholder (NaN for none) from one sort, without groupby."""
    ordered = amount[np.lexsort((amount, ch))]
    counts = np.bincount(ch, minlength=n_cards)
    starts = np.cumsum(counts) - counts
    has = counts > 0
    low = starts[has] + (counts[has] - 1) // 2
    high = starts[has] + counts[has] // 2
    median = np.full(n_cards, np.nan)
    median[has] = (ordered[low] + ordered[high]) / 2.0
    return median


def _repeat_retailer(world: World, ch: np.ndarray, merchant: np.ndarray) -> np.ndarray:
    """1 when the merchant is one of the cardholder's usual shops or online merchants."""
    shops = world.area_shops[:, :, :USUAL_SHOPS].reshape(len(world.area_shops), -1)
    usual = np.concatenate([shops, world.usual_online], axis=1)
    return (usual[ch] == merchant[:, None]).any(axis=1)


def _nearest_city(world: World, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Index of the listed city nearest to each point (flat-earth, in chunks to save memory)."""
    out = np.empty(len(lat), dtype=np.int16)
    for start in range(0, len(lat), 200_000):
        part = slice(start, start + 200_000)
        d2 = (lat[part, None] - world.city_lat) ** 2 + ((lon[part, None] - world.city_lon) * world.lon_scale) ** 2
        out[part] = d2.argmin(axis=1)
    return out


def derive(world: World, parts: list[dict], profile: dict) -> dict:
    """Join the purchases, sort by cardholder and time and compute the card_transdata columns."""
    rows = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    order = np.lexsort((rows["t"], rows["ch"]))
    rows = {key: value[order] for key, value in rows.items()}
    ch, lat, lon = rows["ch"], rows["lat"], rows["lon"]
    first = first_of_group(ch)
    prev_lat, prev_lon = np.roll(lat, 1), np.roll(lon, 1)
    prev_lat[first], prev_lon[first] = world.prior_lat[ch[first]], world.prior_lon[ch[first]]
    rows["distance_from_last_transaction"] = haversine_km(prev_lat, prev_lon, lat, lon)
    rows["distance_from_home"] = haversine_km(world.home_lat[ch], world.home_lon[ch], lat, lon)
    # The spending profile: the median of the cardholder's genuine purchases.
    median = _median_by_cardholder(profile["ch"], profile["amount"], len(world.counts))
    rows["ratio_to_median_purchase_price"] = rows["amount"] / median[ch]
    rows["repeat_retailer"] = _repeat_retailer(world, ch, rows["merchant"])
    return rows


def to_frame(world: World, rows: dict, cfg: dict) -> pd.DataFrame:
    """The output frame in time order: card_transdata columns first, then context."""
    order = np.argsort(rows["t"], kind="stable")
    rows = {key: value[order] for key, value in rows.items()}
    ch = rows["ch"]
    start = np.datetime64(pd.Timestamp(cfg["start"]).floor("s").to_datetime64(), "s")
    frame = pd.DataFrame({
        "distance_from_home": rows["distance_from_home"],
        "distance_from_last_transaction": rows["distance_from_last_transaction"],
        "ratio_to_median_purchase_price": rows["ratio_to_median_purchase_price"],
        "repeat_retailer": rows["repeat_retailer"].astype(np.int8),
        "used_chip": rows["chip"].astype(np.int8),
        "used_pin_number": rows["pin"].astype(np.int8),
        "online_order": rows["online"].astype(np.int8),
        "fraud": (rows["scenario"] > 0).astype(np.int8),
        "transaction_id": np.arange(1, len(ch) + 1, dtype=np.int64),
        "timestamp": (start + rows["t"].astype("timedelta64[s]")).astype("datetime64[ns]"),
        "card_id": (ch + 1).astype(np.int32),
        "merchant_id": (rows["merchant"] + 1).astype(np.int32),
        "channel": pd.Categorical.from_codes(rows["online"].astype(np.int8), ["onsite", "online"]),
        "amount": rows["amount"],
        "city": pd.Categorical.from_codes(_nearest_city(world, rows["lat"], rows["lon"]), world.city_name),
        "latitude": rows["lat"],
        "longitude": rows["lon"],
        "home_latitude": world.home_lat[ch],
        "home_longitude": world.home_lon[ch],
        "fraud_scenario": pd.Categorical.from_codes(rows["scenario"], list(SCENARIO_NAMES)),
        "compromise_point_id": rows["compromise"],  # ground truth: the point that captured the card
        "cash_out_area_id": rows["cash_out"],  # ground truth: the planted area a fraud was spent in
    })
    return frame
