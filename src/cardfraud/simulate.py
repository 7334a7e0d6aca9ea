"""Built-in transaction simulator: cardholders' purchases with the card_transdata columns.

The story (every number and the reasons in ``docs/simulator.md``): cardholders live around the
main cities of one country (Colombia by default, cities weighted by population). Each has a
home, a typical purchase amount, two areas where their life happens (the home area and an
activity centre, each with its usual shops), three usual online merchants and habits: share
of online shopping, of purchases with an EMV cryptogram and of verified purchases. Purchases
happen over ``days`` days. Honest unusual behaviour (trips to another city, large planned
purchases) overlaps with fraud, which comes in scenarios with their own rates: card-not-present
with stolen card data, account-takeover bursts and cloned cards. A drift knob changes the later
part of the period (a new card-testing pattern, or a shift to online and wallet payments).

Columns of the returned frame, the eight card_transdata ones first:

- ``distance_from_home`` (float64, km): haversine distance from the cardholder's home to where
  the purchase happened: the shop for onsite purchases, the geolocated connection for online
  ones (the fraudster's connection for fraud).
- ``distance_from_last_transaction`` (float64, km): from where the card's previous purchase
  happened (for the first one in the period, from one of the cardholder's areas).
- ``ratio_to_median_purchase_price`` (float64): amount over the median amount of the
  cardholder's genuine purchases in the period (their spending profile; fraud excluded).
- ``repeat_retailer`` (int8): 1 when the merchant is one of the cardholder's usual ones.
- ``used_chip`` (int8): 1 when an EMV cryptogram was present: chip or contactless onsite, a
  tokenized wallet (network token) online.
- ``used_pin_number`` (int8): 1 when the cardholder was verified: PIN onsite, one-time code
  or 3-D Secure challenge online.
- ``online_order`` (int8): 1 for card-not-present (online) purchases.
- ``fraud`` (int8): 1 for fraudulent purchases.
- ``transaction_id`` (int64): 1..rows in time order.
- ``timestamp`` (datetime64[ns]): local time of the purchase, to the second.
- ``cardholder_id`` (int32), ``merchant_id`` (int32): shops are numbered 1..20,000, online
  merchants from 20,001.
- ``channel`` (category): ``onsite`` or ``online`` (the same as ``online_order``).
- ``amount`` (float64): purchase amount in Colombian pesos (COP), in whole hundreds.
- ``city`` (category): the listed city nearest to where the purchase happened.
- ``purchase_lat``, ``purchase_lon``, ``home_lat``, ``home_lon`` (float64, degrees).
- ``fraud_scenario`` (category): ``none`` for genuine purchases, else ``card_not_present``,
  ``account_takeover``, ``cloned_card`` or (drift only) ``card_testing``.

Everything is vectorized numpy: rows are sorted by cardholder and time, and "previous
purchase" and per-cardholder medians come from offsets in the sorted arrays, never from a loop
per purchase. Each part of the story draws from its own random stream, so a drift changes
nothing before ``drift_day``.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from .data import FEATURES, TARGET

# --------------------------------------------------------------------------- knobs and data

#: Approximate city centres (lat, lon) and metro populations in millions.
COUNTRY_CITIES: dict[str, tuple[tuple[str, float, float, float], ...]] = {
    "Colombia": (
        ("Bogotá", 4.711, -74.072, 7.9),
        ("Medellín", 6.244, -75.581, 2.6),
        ("Cali", 3.452, -76.532, 2.3),
        ("Barranquilla", 10.964, -74.796, 1.3),
        ("Cartagena", 10.391, -75.479, 1.0),
        ("Cúcuta", 7.894, -72.508, 0.8),
        ("Bucaramanga", 7.119, -73.123, 0.6),
        ("Pereira", 4.813, -75.696, 0.5),
        ("Santa Marta", 11.241, -74.205, 0.5),
        ("Ibagué", 4.438, -75.232, 0.5),
        ("Villavicencio", 4.142, -73.627, 0.5),
        ("Montería", 8.748, -75.881, 0.5),
        ("Valledupar", 10.463, -73.253, 0.5),
        ("Manizales", 5.070, -75.513, 0.4),
        ("Pasto", 1.214, -77.281, 0.4),
        ("Neiva", 2.927, -75.282, 0.35),
        ("Armenia", 4.534, -75.681, 0.3),
        ("Popayán", 2.445, -76.615, 0.3),
        ("Sincelejo", 9.305, -75.398, 0.3),
        ("Tunja", 5.535, -73.368, 0.2),
    ),
}

SIMULATOR_DEFAULTS: dict = {
    "rows": 1_000_000,
    "seed": 42,
    "days": 90,
    "start": "2024-01-01",
    "country": "Colombia",
    "cities": None,  # None = the country's table; else [[name, lat, lon, population_millions], ...]
    "typical_amount": 70_000.0,  # COP, median over cardholders of their median purchase
    "purchases_per_cardholder": 50.0,  # mean genuine purchases per cardholder in the period
    "online_share": 0.62,  # mean share of a cardholder's genuine purchases made online
    "chip_share": 0.36,  # mean share with an EMV cryptogram (chip onsite, wallet token online)
    "pin_share": 0.05,  # mean share verified (PIN onsite, OTP / 3-D Secure online)
    "repeat_share": 0.88,  # mean share of genuine purchases at a usual merchant
    "travel_rate": 0.08,  # share of cardholders who take a trip to another city
    "large_purchase_rate": 0.012,  # share of genuine purchases that are large planned ones
    "card_not_present_rate": 0.0535,  # fraud rows per purchase, by scenario
    "account_takeover_rate": 0.029,
    "cloned_card_rate": 0.0045,
    "drift_day": None,  # None = no drift; else the day (0-based) from which it applies
    "drift_kind": "new_fraud_pattern",  # or "behaviour_shift"
    "drift_strength": 1.0,
}

DRIFT_KINDS = ("new_fraud_pattern", "behaviour_shift")
SCENARIO_NAMES = ("none", "card_not_present", "account_takeover", "cloned_card", "card_testing")


@dataclass(frozen=True)
class FraudScenario:
    """How one fraud scenario looks; rows per purchase come from the ``<name>_rate`` knob."""

    name: str
    online: bool
    extra_rows: float  # an episode has 1 + Poisson(extra_rows) purchases
    gap_minutes: float  # mean time between purchases of an episode
    ratio_median: float  # amount over the victim's typical amount
    ratio_sigma: float
    near_share: float  # share of episodes geolocated where the victim usually is (proxy, local ring)
    distance_median_km: float  # otherwise the fraudster is this far from the victim's home (median)
    distance_sigma: float
    chip: float
    pin: float
    repeat: float  # online: share at one of the victim's usual merchants


SCENARIOS = (
    # Stolen card data used online, mostly at big merchants the victim also uses, often through
    # a proxy geolocated where the victim usually is.
    FraudScenario("card_not_present", online=True, extra_rows=1.5, gap_minutes=180.0,
                  ratio_median=5.5, ratio_sigma=0.6, near_share=0.55, distance_median_km=12.0,
                  distance_sigma=0.9, chip=0.15, pin=0.002, repeat=0.90),
    # Someone controls the cardholder's accounts: a burst with the stored card, from elsewhere.
    FraudScenario("account_takeover", online=True, extra_rows=5.0, gap_minutes=6.0,
                  ratio_median=5.0, ratio_sigma=0.6, near_share=0.2, distance_median_km=25.0,
                  distance_sigma=0.9, chip=0.50, pin=0.006, repeat=0.97),
    # A magnetic-stripe clone used in shops of a town far from home.
    FraudScenario("cloned_card", online=False, extra_rows=2.0, gap_minutes=240.0,
                  ratio_median=4.5, ratio_sigma=0.7, near_share=0.0, distance_median_km=80.0,
                  distance_sigma=0.7, chip=0.0, pin=0.05, repeat=0.0),
)

# Shapes that are part of the story rather than knobs (see docs/simulator.md).
N_SHOPS = 20_000  # physical merchants (fixed, so shop density does not depend on rows)
AREAS = 2  # where a cardholder's life happens: 0 the home area, 1 the activity centre
AREA_MEDIAN_KM = (2.0, 12.0)  # median distance of each area from home
AREA_SIGMA = (0.8, 1.15)
MAX_SPREAD_KM = 150.0  # farthest a shop is from its city, or an area from home
HOME_AREA_SHARE = 0.3  # mean share of a cardholder's purchases made in the home area ...
FAR_CENTRE_KM = 30.0  # ... times exp(-distance of their activity centre / FAR_CENTRE_KM)
AREA_PERSISTENCE = 0.92  # chance a purchase is in the same area as the previous one
USUAL_SHOPS = 4  # usual shops per area: the nearest ones to the area's point
NEARBY_SHOPS = 10  # shops near an area; the ones after the usual ones are "new" shops
USUAL_ONLINE = 3  # usual online merchants per cardholder
CONNECTION_JITTER_KM = 0.25  # median spread of geolocated connections around an area
JITTER_SIGMA = 1.8
AMOUNT_SIGMA_LOW = 1.15  # spread of a cardholder's genuine amounts below their median (log)
AMOUNT_SIGMA_HIGH = 0.8  # and above it
LARGE_PURCHASE_FACTOR = 7.0
TRIP_EXTRA_DAYS = 19.0  # a trip lasts 1 + Poisson(TRIP_EXTRA_DAYS) days
STEP_UP_RATIO = 3.0  # amounts above this many times the cardholder's typical one ...
STEP_UP_SHARE = 0.7  # ... are verified (PIN / 3-D Secure) this often on top of habit
ONLINE_MERCHANTS = 400
CARD_TESTING_RATE = 0.03  # card-testing rows per post-drift purchase at drift_strength 1
KM_PER_DEGREE = 111.195
EARTH_RADIUS_KM = 6371.0088

_QUANTILE_TOL = 0.25
_SHARE_TOL = 0.03
_FRAUD_TOL = 0.005
CALIBRATION_TARGETS: dict = {
    "quantiles": {
        "distance_from_home": {0.10: 1.7, 0.50: 10.0, 0.90: 60.0, 0.99: 263.0},
        "distance_from_last_transaction": {0.10: 0.10, 0.50: 1.0, 0.90: 10.0, 0.99: 65.0},
        "ratio_to_median_purchase_price": {0.10: 0.24, 0.50: 1.0, 0.90: 4.05, 0.99: 12.7},
    },
    "shares": {"repeat_retailer": 0.88, "used_chip": 0.35, "used_pin_number": 0.10,
               "online_order": 0.65, "fraud": 0.087},
    "fraud_rates": {  # flag -> (rate when 1, rate when 0)
        "online_order": (0.125, 0.013), "used_pin_number": (0.003, 0.095),
        "used_chip": (0.064, 0.098), "repeat_retailer": (0.087, 0.087),
    },
    # flag -> (value with the higher fraud rate, minimum ratio of the two rates)
    "orderings": {"online_order": (1, 3.0), "used_pin_number": (0, 5.0), "used_chip": (0, 1.0)},
    "separability_pr_auc": (0.80, 0.97),
}

# --------------------------------------------------------------------------- geometry


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance in km between points given in degrees (arrays broadcast)."""
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(a, dtype=np.float64)) for a in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _displace(lat, lon, dist_km, rng) -> tuple[np.ndarray, np.ndarray]:
    """Move points ``dist_km`` in a random bearing (local flat-earth step)."""
    bearing = rng.uniform(0.0, 2 * np.pi, np.shape(dist_km))
    dlat = dist_km * np.cos(bearing) / KM_PER_DEGREE
    dlon = dist_km * np.sin(bearing) / (KM_PER_DEGREE * np.cos(np.radians(lat)))
    return lat + dlat, lon + dlon


def _lognormal_km(median, sigma, size, rng) -> np.ndarray:
    """Lognormal distances with the given median (km)."""
    return np.asarray(median) * np.exp(sigma * rng.standard_normal(size))


def _city_scatter_km(population, size, rng) -> np.ndarray:
    """Distance from the centre of a city of ``population`` millions (Rayleigh, km)."""
    scale = 3.5 * np.sqrt(population)
    return scale * np.sqrt(-2.0 * np.log1p(-rng.random(size)))


def _first_of_group(keys: np.ndarray) -> np.ndarray:
    """True where a sorted key array starts a new group."""
    first = np.ones(len(keys), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    return first


def _beta_with_mean(mean: float, concentration: float, size: int, rng) -> np.ndarray:
    """Per-cardholder habits: Beta draws with the given mean and concentration a + b."""
    return rng.beta(mean * concentration, (1.0 - mean) * concentration, size)


# --------------------------------------------------------------------------- the world


@dataclass
class _World:
    """Cities, merchants and cardholders: everything fixed before purchases happen."""

    city_name: list
    city_lat: np.ndarray
    city_lon: np.ndarray
    city_pop: np.ndarray
    shop_lat: np.ndarray = None  # physical merchants, ids 0..n_shops-1
    shop_lon: np.ndarray = None
    shop_tree: cKDTree = None
    online_popularity: np.ndarray = None  # online merchants, ids n_shops..n_shops+ONLINE_MERCHANTS-1
    counts: np.ndarray = None  # genuine purchases per cardholder
    home_city: np.ndarray = None
    home_lat: np.ndarray = None
    home_lon: np.ndarray = None
    typical: np.ndarray = None  # median genuine amount (COP)
    habits: dict = None  # online, chip, pin, repeat: per-cardholder probabilities
    home_area_share: np.ndarray = None  # per cardholder
    area_lat: np.ndarray = None  # (cardholders, AREAS)
    area_lon: np.ndarray = None
    area_shops: np.ndarray = None  # (cardholders, AREAS, NEARBY_SHOPS), usual ones first
    usual_online: np.ndarray = None  # (cardholders, USUAL_ONLINE) merchant ids
    trip: dict = None  # start, end (seconds), lat, lon (base in the destination city)
    prior_lat: np.ndarray = None  # where the last purchase before the period happened
    prior_lon: np.ndarray = None

    @property
    def n_shops(self) -> int:
        """Number of physical merchants."""
        return len(self.shop_lat)

    @property
    def lon_scale(self) -> float:
        """Length of a degree of longitude relative to one of latitude, at the cities."""
        return float(np.cos(np.radians(self.city_lat.mean())))

    def planar(self, lat, lon) -> np.ndarray:
        """Points as (lat, scaled lon) rows, for nearest-neighbour look-ups."""
        return np.column_stack((lat, np.asarray(lon) * self.lon_scale))

    def random_cities(self, size: int, rng) -> np.ndarray:
        """City indices drawn by population."""
        return rng.choice(len(self.city_pop), size=size, p=self.city_pop / self.city_pop.sum())

    def point_in_city(self, city: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
        """A random point in each given city (scattered around its centre)."""
        dist = _city_scatter_km(self.city_pop[city], len(city), rng)
        return _displace(self.city_lat[city], self.city_lon[city], dist, rng)

    def nearby_shops(self, lat, lon, k: int) -> np.ndarray:
        """Indices of the ``k`` physical merchants nearest to each point, shape (n, k)."""
        _, idx = self.shop_tree.query(self.planar(lat, lon), k=k)
        return idx.reshape(len(lat), k)

    def popular_online(self, size: int, rng) -> np.ndarray:
        """Online merchant ids drawn by popularity."""
        return self.n_shops + rng.choice(ONLINE_MERCHANTS, size=size, p=self.online_popularity)


def _cities(cfg: dict) -> tuple:
    """Names, latitudes, longitudes and populations of the configured cities."""
    table = cfg["cities"] if cfg["cities"] is not None else COUNTRY_CITIES[cfg["country"]]
    names = [str(row[0]) for row in table]
    lat, lon, pop = (np.array([float(row[i]) for row in table]) for i in (1, 2, 3))
    return names, lat, lon, pop


def _build_world(cfg: dict, n_legit: int, rng) -> _World:
    """Draw the merchants and the cardholders with their homes, habits, areas and trips."""
    names, city_lat, city_lon, city_pop = _cities(cfg)
    world = _World(names, city_lat, city_lon, city_pop)
    n_cards = max(1, int(round(n_legit / cfg["purchases_per_cardholder"])))
    activity = rng.gamma(2.0, 1.0, n_cards)
    world.counts = rng.multinomial(n_legit, activity / activity.sum())
    # Shops sit where people go: around the cities and in the towns near them.
    lat, lon = world.point_in_city(world.random_cities(N_SHOPS, rng), rng)
    spread = np.minimum(_lognormal_km(8.0, 1.2, N_SHOPS, rng), MAX_SPREAD_KM)
    world.shop_lat, world.shop_lon = _displace(lat, lon, spread, rng)
    world.shop_tree = cKDTree(world.planar(world.shop_lat, world.shop_lon))
    zipf = 1.0 / np.arange(1, ONLINE_MERCHANTS + 1)
    world.online_popularity = zipf / zipf.sum()
    world.home_city = world.random_cities(n_cards, rng)
    world.home_lat, world.home_lon = world.point_in_city(world.home_city, rng)
    world.typical = cfg["typical_amount"] * np.exp(0.6 * rng.standard_normal(n_cards))
    world.habits = {
        "online": _beta_with_mean(cfg["online_share"], 3.0, n_cards, rng),
        "chip": _beta_with_mean(cfg["chip_share"], 1.6, n_cards, rng),
        "pin": _beta_with_mean(cfg["pin_share"], 2.5, n_cards, rng),
        "repeat": _beta_with_mean(cfg["repeat_share"], 25.0, n_cards, rng),
    }
    _draw_areas(world, n_cards, rng)
    world.usual_online = world.popular_online(n_cards * USUAL_ONLINE, rng).reshape(n_cards, USUAL_ONLINE)
    _draw_trips(world, cfg, n_cards, rng)
    return world


def _draw_areas(world: _World, n_cards: int, rng) -> None:
    """Each cardholder's home area and activity centre, with the shops nearest to each."""
    medians, sigmas = np.tile(AREA_MEDIAN_KM, n_cards), np.tile(AREA_SIGMA, n_cards)
    dist = np.minimum(_lognormal_km(medians, sigmas, n_cards * AREAS, rng), MAX_SPREAD_KM)
    lat, lon = _displace(np.repeat(world.home_lat, AREAS), np.repeat(world.home_lon, AREAS), dist, rng)
    shops = world.nearby_shops(lat, lon, NEARBY_SHOPS)  # an area is where shops are, never at sea
    lat, lon = world.shop_lat[shops[:, 0]], world.shop_lon[shops[:, 0]]
    world.area_lat, world.area_lon = lat.reshape(n_cards, AREAS), lon.reshape(n_cards, AREAS)
    world.area_shops = shops.reshape(n_cards, AREAS, NEARBY_SHOPS).astype(np.int32)
    # Those whose life centres far from home (commuters, an old address on file) seldom shop near it.
    far = np.exp(-dist.reshape(n_cards, AREAS)[:, 1] / FAR_CENTRE_KM)
    world.home_area_share = far * _beta_with_mean(HOME_AREA_SHARE, 10.0, n_cards, rng)
    prior = (rng.random(n_cards) >= world.home_area_share).astype(int)
    rows = np.arange(n_cards)
    world.prior_lat, world.prior_lon = world.area_lat[rows, prior], world.area_lon[rows, prior]


def _draw_trips(world: _World, cfg: dict, n_cards: int, rng) -> None:
    """Honest travel: some cardholders spend a few days in another city."""
    seconds = cfg["days"] * 86400
    travels = rng.random(n_cards) < cfg["travel_rate"]
    start = rng.uniform(0, seconds, n_cards)
    length = (1 + rng.poisson(TRIP_EXTRA_DAYS, n_cards)) * 86400.0
    dest = world.random_cities(n_cards, rng)
    same = dest == world.home_city  # move to the next listed city instead
    dest[same] = (dest[same] + 1) % len(world.city_pop)
    lat, lon = world.point_in_city(dest, rng)
    world.trip = {"start": np.where(travels, start, -1.0), "end": np.where(travels, start + length, -1.0),
                  "lat": lat, "lon": lon}


# --------------------------------------------------------------------------- purchases

# Drift "behaviour_shift", per unit of drift_strength (capped at all of it):
BEHAVIOUR_SHIFT_ONLINE = 0.25  # share of a cardholder's onsite habit that moves online
BEHAVIOUR_SHIFT_CHIP = 0.30  # share of purchases without a cryptogram that move to wallets


def _purchase_seconds(size: int, days: int, rng) -> np.ndarray:
    """Seconds from the start of the period: a uniform day and a daytime-heavy hour."""
    day = rng.integers(0, days, size)
    hour = np.mod(rng.normal(14.5, 4.0, size), 24.0)
    return day * 86400 + (hour * 3600).astype(np.int64)


def _round_amount(amount: np.ndarray) -> np.ndarray:
    """Amounts in whole hundreds of pesos, at least 100 COP."""
    return np.maximum(100.0, np.round(amount / 100.0) * 100.0)


def _after_drift(t: np.ndarray, cfg: dict) -> np.ndarray:
    """True for purchases on or after ``drift_day`` (all False without drift)."""
    if cfg["drift_day"] is None:
        return np.zeros(len(t), dtype=bool)
    return t >= cfg["drift_day"] * 86400


def _markov_areas(world: _World, ch: np.ndarray, rng) -> np.ndarray:
    """Area of each purchase: often the previous purchase's area, else drawn by habit."""
    n = len(ch)
    candidate = (rng.random(n) >= world.home_area_share[ch]).astype(np.int8)
    switch = _first_of_group(ch) | (rng.random(n) >= AREA_PERSISTENCE)
    last_switch = np.maximum.accumulate(np.where(switch, np.arange(n), 0))
    return candidate[last_switch]


def _habit_draws(world: _World, ch, after, cfg, rng) -> dict:
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


def _genuine_purchases(world: _World, cfg: dict, rng) -> dict:
    """The cardholders' own purchases, sorted by cardholder and time."""
    n = int(world.counts.sum())
    ch = np.repeat(np.arange(len(world.counts), dtype=np.int32), world.counts)
    t = _purchase_seconds(n, cfg["days"], rng)
    t = t[np.lexsort((t, ch))]  # ch is already grouped, so this sorts time within cardholder
    area = _markov_areas(world, ch, rng)
    after = _after_drift(t, cfg)
    draw = _habit_draws(world, ch, after, cfg, rng)
    pick = np.where(draw["usual"], rng.integers(0, USUAL_SHOPS, n), rng.integers(USUAL_SHOPS, NEARBY_SHOPS, n))
    shop = world.area_shops[ch, area, pick]
    web = np.where(draw["usual"], world.usual_online[ch, rng.integers(0, USUAL_ONLINE, n)],
                   world.popular_online(n, rng))
    # Online: the connection is geolocated near the area the cardholder is in.
    jitter = _lognormal_km(CONNECTION_JITTER_KM, JITTER_SIGMA, n, rng)
    web_lat, web_lon = _displace(world.area_lat[ch, area], world.area_lon[ch, area], jitter, rng)
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
            "merchant": merchant.astype(np.int32), "amount": _round_amount(amount),
            "chip": draw["chip"], "pin": draw["pin"] | stepped, "scenario": np.zeros(n, dtype=np.int8)}


def _move_travellers(world: _World, ch, t, online, lat, lon, merchant, rng) -> None:
    """Purchases made during a trip happen in the destination city, at shops new to the cardholder."""
    n = len(ch)
    away = (t >= world.trip["start"][ch]) & (t < world.trip["end"][ch])
    spread = _lognormal_km(2.0, 1.0, n, rng)
    trip_lat, trip_lon = _displace(world.trip["lat"][ch], world.trip["lon"][ch], spread, rng)
    lat[away & online], lon[away & online] = trip_lat[away & online], trip_lon[away & online]
    in_shop = away & ~online
    if in_shop.any():
        shop = world.nearby_shops(trip_lat[in_shop], trip_lon[in_shop], 1)[:, 0]
        merchant[in_shop] = shop
        lat[in_shop], lon[in_shop] = world.shop_lat[shop], world.shop_lon[shop]


def _episodes(n_rows: int, extra_rows: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """Split ``n_rows`` into episodes of 1 + Poisson(extra_rows) rows: (episode, position)."""
    lengths = 1 + rng.poisson(extra_rows, int(n_rows / (1 + extra_rows) * 1.3) + 20)
    while lengths.sum() < n_rows:
        lengths = np.concatenate([lengths, 1 + rng.poisson(extra_rows, len(lengths))])
    ends = np.cumsum(lengths)
    last = int(np.searchsorted(ends, n_rows))
    lengths = lengths[: last + 1]
    lengths[-1] -= ends[last] - n_rows
    episode = np.repeat(np.arange(last + 1), lengths)
    position = np.arange(n_rows) - (np.cumsum(lengths) - lengths)[episode]
    return episode, position


def _fraud_purchases(world: _World, scenario: FraudScenario, n_rows: int, cfg: dict, rng) -> dict:
    """Purchases of one fraud scenario: episodes on victims' cards, run from the fraudster's place."""
    episode, position = _episodes(n_rows, scenario.extra_rows, rng)
    n_ep = int(episode.max()) + 1 if n_rows else 0
    victim = rng.choice(len(world.counts), size=n_ep, p=world.counts / world.counts.sum())
    ch = victim[episode].astype(np.int32)
    gaps = rng.exponential(scenario.gap_minutes * 60.0, n_rows)
    gaps[position == 0] = 0.0
    elapsed = np.cumsum(gaps)
    elapsed -= elapsed[np.flatnonzero(position == 0)][episode]
    seconds = cfg["days"] * 86400
    t = np.minimum(rng.uniform(0, seconds, n_ep)[episode] + elapsed, seconds - 1).astype(np.int64)
    away = _lognormal_km(scenario.distance_median_km, scenario.distance_sigma, n_ep, rng)
    base_lat, base_lon = _displace(world.home_lat[victim], world.home_lon[victim], away, rng)
    town = world.nearby_shops(base_lat, base_lon, 1)[:, 0]  # fraudsters operate from towns too
    base_lat, base_lon = world.shop_lat[town], world.shop_lon[town]
    near = rng.random(n_ep) < scenario.near_share
    area = (rng.random(n_ep) >= world.home_area_share[victim]).astype(int)
    base_lat = np.where(near, world.area_lat[victim, area], base_lat)
    base_lon = np.where(near, world.area_lon[victim, area], base_lon)
    jitter = _lognormal_km(CONNECTION_JITTER_KM, JITTER_SIGMA, n_rows, rng)
    lat, lon = _displace(base_lat[episode], base_lon[episode], jitter, rng)
    usual = rng.random(n_rows) < scenario.repeat
    if scenario.online:
        known = world.usual_online[ch, rng.integers(0, USUAL_ONLINE, n_rows)]
        merchant = np.where(usual, known, world.popular_online(n_rows, rng))
    else:
        # Cloned cards are used in the shops around where the fraudster is.
        shops = world.nearby_shops(base_lat[episode], base_lon[episode], 4)
        merchant = shops[np.arange(n_rows), rng.integers(0, 4, n_rows)]
        lat, lon = world.shop_lat[merchant], world.shop_lon[merchant]
    ratio = scenario.ratio_median * np.exp(scenario.ratio_sigma * rng.standard_normal(n_rows))
    code = SCENARIO_NAMES.index(scenario.name)
    return {"ch": ch, "t": t, "lat": lat, "lon": lon, "online": np.full(n_rows, scenario.online),
            "merchant": merchant.astype(np.int32), "amount": _round_amount(world.typical[ch] * ratio),
            "chip": rng.random(n_rows) < scenario.chip, "pin": rng.random(n_rows) < scenario.pin,
            "scenario": np.full(n_rows, code, dtype=np.int8)}


def _card_testing(world: _World, genuine: dict, cfg: dict, rng) -> dict:
    """Drift ``new_fraud_pattern``: from ``drift_day`` fraudsters test cards with tiny online purchases.

    Each test replaces one of the victim's genuine purchase slots (so the row count stays
    ``rows``): a small amount at an obscure online merchant, from a connection in a city drawn
    by population, with no token and no verification.
    """
    n = len(genuine["t"])
    hit = rng.random(n) < cfg["drift_strength"] * CARD_TESTING_RATE
    tested = _after_drift(genuine["t"], cfg) & hit & (cfg["drift_kind"] == "new_fraud_pattern")
    k = int(tested.sum())
    lat, lon = world.point_in_city(world.random_cities(k, rng), rng)
    out = {key: value.copy() for key, value in genuine.items()}
    out["lat"][tested], out["lon"][tested] = lat, lon
    out["online"][tested] = True
    out["merchant"][tested] = world.n_shops + rng.integers(ONLINE_MERCHANTS // 2, ONLINE_MERCHANTS, k)
    out["amount"][tested] = _round_amount(rng.uniform(1000.0, 6000.0, k))
    out["chip"][tested] = False
    out["pin"][tested] = False
    out["scenario"][tested] = SCENARIO_NAMES.index("card_testing")
    return out


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


def _repeat_retailer(world: _World, ch: np.ndarray, merchant: np.ndarray) -> np.ndarray:
    """1 when the merchant is one of the cardholder's usual shops or online merchants."""
    shops = world.area_shops[:, :, :USUAL_SHOPS].reshape(len(world.area_shops), -1)
    usual = np.concatenate([shops, world.usual_online], axis=1)
    return (usual[ch] == merchant[:, None]).any(axis=1)


def _nearest_city(world: _World, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Index of the listed city nearest to each point (flat-earth, in chunks to save memory)."""
    out = np.empty(len(lat), dtype=np.int16)
    for start in range(0, len(lat), 200_000):
        part = slice(start, start + 200_000)
        d2 = (lat[part, None] - world.city_lat) ** 2 + ((lon[part, None] - world.city_lon) * world.lon_scale) ** 2
        out[part] = d2.argmin(axis=1)
    return out


def _derive(world: _World, parts: list[dict], profile: dict) -> dict:
    """Join the purchases, sort by cardholder and time and compute the card_transdata columns."""
    rows = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    order = np.lexsort((rows["t"], rows["ch"]))
    rows = {key: value[order] for key, value in rows.items()}
    ch, lat, lon = rows["ch"], rows["lat"], rows["lon"]
    first = _first_of_group(ch)
    prev_lat, prev_lon = np.roll(lat, 1), np.roll(lon, 1)
    prev_lat[first], prev_lon[first] = world.prior_lat[ch[first]], world.prior_lon[ch[first]]
    rows["distance_from_last_transaction"] = haversine_km(prev_lat, prev_lon, lat, lon)
    rows["distance_from_home"] = haversine_km(world.home_lat[ch], world.home_lon[ch], lat, lon)
    # The spending profile: the median of the cardholder's genuine purchases.
    median = _median_by_cardholder(profile["ch"], profile["amount"], len(world.counts))
    rows["ratio_to_median_purchase_price"] = rows["amount"] / median[ch]
    rows["repeat_retailer"] = _repeat_retailer(world, ch, rows["merchant"])
    return rows


def _to_frame(world: _World, rows: dict, cfg: dict) -> pd.DataFrame:
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
        "cardholder_id": (ch + 1).astype(np.int32),
        "merchant_id": (rows["merchant"] + 1).astype(np.int32),
        "channel": pd.Categorical.from_codes(rows["online"].astype(np.int8), ["onsite", "online"]),
        "amount": rows["amount"],
        "city": pd.Categorical.from_codes(_nearest_city(world, rows["lat"], rows["lon"]), world.city_name),
        "purchase_lat": rows["lat"],
        "purchase_lon": rows["lon"],
        "home_lat": world.home_lat[ch],
        "home_lon": world.home_lon[ch],
        "fraud_scenario": pd.Categorical.from_codes(rows["scenario"], list(SCENARIO_NAMES)),
    })
    return frame


# --------------------------------------------------------------------------- entry point

_STREAMS = ("counts", "world", "genuine", *(s.name for s in SCENARIOS), "drift")


def simulate(rows: int | None = None, seed: int | None = None, **knobs) -> pd.DataFrame:
    """Simulate ``rows`` purchases; same seed and knobs give the same frame.

    Args:
        rows: number of purchases (default ``SIMULATOR_DEFAULTS["rows"]``).
        seed: random seed (default ``SIMULATOR_DEFAULTS["seed"]``).
        **knobs: any other key of ``SIMULATOR_DEFAULTS``; an unknown key or a bad value
            raises ``ValueError``.

    Returns:
        The card_transdata columns followed by identifiers and context (module docstring).
    """
    cfg = check_knobs({"rows": rows, "seed": seed, **knobs})
    streams = dict(zip(_STREAMS, (np.random.default_rng(s) for s in
                                  np.random.SeedSequence(cfg["seed"]).spawn(len(_STREAMS))), strict=True))
    n_fraud = {s.name: int(streams["counts"].binomial(cfg["rows"], cfg[f"{s.name}_rate"])) for s in SCENARIOS}
    n_genuine = cfg["rows"] - sum(n_fraud.values())
    world = _build_world(cfg, n_genuine, streams["world"])
    genuine = _genuine_purchases(world, cfg, streams["genuine"])
    parts = [_card_testing(world, genuine, cfg, streams["drift"])]
    parts += [_fraud_purchases(world, s, n_fraud[s.name], cfg, streams[s.name]) for s in SCENARIOS]
    purchases = _derive(world, parts, profile=genuine)
    return _to_frame(world, purchases, cfg)


# --------------------------------------------------------------------------- knob checks


def _need(ok: bool, message: str) -> None:
    """Raise ``ValueError(message)`` unless ``ok``."""
    if not ok:
        raise ValueError(f"simulator: {message}")


def _is_int(value) -> bool:
    """True for integers and integral floats (YAML and CLI give either), not for booleans."""
    return not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating)) \
        and float(value).is_integer()


def _is_number(value) -> bool:
    """True for finite real numbers that are not booleans."""
    return not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating)) \
        and np.isfinite(value)


def _check_cities(cities) -> None:
    """Raise unless ``cities`` is a list of at least two [name, lat, lon, population] rows."""
    _need(isinstance(cities, (list, tuple)) and len(cities) >= 2,
          "cities must list at least two [name, lat, lon, population_millions] rows")
    for row in cities:
        _need(isinstance(row, (list, tuple)) and len(row) == 4, f"bad city row {row!r}: want [name, lat, lon, population_millions]")
        _, lat, lon, pop = row
        _need(all(_is_number(v) for v in (lat, lon, pop)) and -90 <= lat <= 90 and -180 <= lon <= 180
              and pop > 0, f"bad city row {row!r}: lat in [-90, 90], lon in [-180, 180], population > 0")


def check_knobs(knobs: dict) -> dict:
    """Return the full configuration (defaults updated by ``knobs``); ValueError on a bad knob.

    A knob given as None takes its default.
    """
    unknown = sorted(set(knobs) - set(SIMULATOR_DEFAULTS))
    _need(not unknown, f"unknown knob{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
          f"known knobs: {', '.join(SIMULATOR_DEFAULTS)}")
    cfg = {**SIMULATOR_DEFAULTS, **{k: v for k, v in knobs.items() if v is not None}}
    _need(_is_int(cfg["rows"]) and cfg["rows"] >= 100, f"rows must be an integer >= 100, not {cfg['rows']!r}")
    _need(_is_int(cfg["seed"]) and cfg["seed"] >= 0, f"seed must be an integer >= 0, not {cfg['seed']!r}")
    _need(_is_int(cfg["days"]) and 2 <= cfg["days"] <= 3660, f"days must be an integer in [2, 3660], not {cfg['days']!r}")
    cfg.update(rows=int(cfg["rows"]), seed=int(cfg["seed"]), days=int(cfg["days"]))
    try:
        pd.Timestamp(cfg["start"])
    except (ValueError, TypeError):
        raise ValueError(f"simulator: start must be a date like '2024-01-01', not {cfg['start']!r}") from None
    if cfg["cities"] is None:
        _need(cfg["country"] in COUNTRY_CITIES, f"country {cfg['country']!r} has no built-in city table "
              f"(known: {', '.join(COUNTRY_CITIES)}); give cities=[[name, lat, lon, population_millions], ...]")
    else:
        _check_cities(cfg["cities"])
    for key in ("typical_amount", "purchases_per_cardholder"):
        _need(_is_number(cfg[key]) and cfg[key] >= 1, f"{key} must be a number >= 1, not {cfg[key]!r}")
    for key in ("online_share", "chip_share", "pin_share", "repeat_share"):
        _need(_is_number(cfg[key]) and 0 < cfg[key] < 1, f"{key} must be a share strictly between 0 and 1, not {cfg[key]!r}")
    rates = [f"{s.name}_rate" for s in SCENARIOS]
    for key in ("travel_rate", "large_purchase_rate", *rates):
        _need(_is_number(cfg[key]) and 0 <= cfg[key] <= 1, f"{key} must be a share in [0, 1], not {cfg[key]!r}")
    _need(sum(cfg[k] for k in rates) <= 0.5, f"the fraud rates ({', '.join(rates)}) must add up to at most 0.5")
    day = cfg["drift_day"]
    _need(day is None or (_is_int(day) and 0 <= day < cfg["days"]),
          f"drift_day must be null or an integer in [0, days - 1 = {cfg['days'] - 1}], not {day!r}")
    _need(cfg["drift_kind"] in DRIFT_KINDS, f"drift_kind must be one of {', '.join(DRIFT_KINDS)}, not {cfg['drift_kind']!r}")
    _need(_is_number(cfg["drift_strength"]) and 0 <= cfg["drift_strength"] <= 10,
          f"drift_strength must be a number in [0, 10], not {cfg['drift_strength']!r}")
    return cfg


# --------------------------------------------------------------------------- calibration


def _fraud_rate(frame: pd.DataFrame, flag: str, value: int) -> float:
    """Fraud rate among purchases whose ``flag`` equals ``value`` (NaN when there are none)."""
    chosen = frame["fraud"].to_numpy()[frame[flag].to_numpy() == value]
    return float(chosen.mean()) if len(chosen) else float("nan")


def calibration_report(frame: pd.DataFrame) -> pd.DataFrame:
    """Compare a frame with the public table's figures (``CALIBRATION_TARGETS``).

    Returns:
        One row per measure: ``measure, target, simulated, tolerance, within``. Quantiles must
        be within ±25 % of the target, shares within ±3 points (fraud ±0.5), fraud rates by
        flag within ±3 points, and each ordering must hold (the ratio above its target).
    """
    rows = []
    for column, quantiles in CALIBRATION_TARGETS["quantiles"].items():
        values = frame[column].to_numpy()
        for q, target in quantiles.items():
            simulated = float(np.quantile(values, q))
            rows.append((f"{column} p{round(q * 100)}", target, simulated, "±25 %",
                         abs(simulated / target - 1) <= _QUANTILE_TOL))
    for column, target in CALIBRATION_TARGETS["shares"].items():
        tolerance = _FRAUD_TOL if column == "fraud" else _SHARE_TOL
        simulated = float(frame[column].mean())
        rows.append((f"share {column}", target, simulated, f"±{tolerance * 100:g} pts",
                     abs(simulated - target) <= tolerance))
    for flag, targets in CALIBRATION_TARGETS["fraud_rates"].items():
        for value, target in zip((1, 0), targets, strict=True):
            simulated = _fraud_rate(frame, flag, value)
            rows.append((f"fraud rate {flag}={value}", target, simulated, "±3 pts",
                         abs(simulated - target) <= _SHARE_TOL))
    for flag, (higher, minimum) in CALIBRATION_TARGETS["orderings"].items():
        ratio = _fraud_rate(frame, flag, higher) / _fraud_rate(frame, flag, 1 - higher)
        rows.append((f"fraud rate {flag}={higher} / {flag}={1 - higher}", minimum, ratio,
                     "> target", bool(ratio > minimum)))
    report = pd.DataFrame(rows, columns=["measure", "target", "simulated", "tolerance", "within"])
    report["within"] = report["within"].astype(bool)
    return report


def separability_check(frame: pd.DataFrame, train_days: int = 60, seed: int = 0) -> dict:
    """PR-AUC of a gradient-boosting model trained on the first ``train_days`` days.

    The model (sklearn ``HistGradientBoostingClassifier`` with default settings) sees the seven
    card_transdata features only and is tested on the later days. The simulator's story keeps
    the classes overlapping: at defaults this lands within ``CALIBRATION_TARGETS
    ["separability_pr_auc"]``.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import average_precision_score

    if "timestamp" not in frame:
        raise ValueError("separability_check needs the simulator's timestamp column")
    day = (frame["timestamp"] - frame["timestamp"].min().normalize()).dt.days.to_numpy()
    train = day < train_days
    if train.all() or not train.any():
        raise ValueError(f"separability_check: no purchases on both sides of day {train_days}")
    model = HistGradientBoostingClassifier(random_state=seed)
    model.fit(frame.loc[train, FEATURES], frame.loc[train, TARGET])
    scores = model.predict_proba(frame.loc[~train, FEATURES])[:, 1]
    test_fraud = frame.loc[~train, TARGET]
    low, high = CALIBRATION_TARGETS["separability_pr_auc"]
    pr_auc = float(average_precision_score(test_fraud, scores))
    return {"pr_auc": pr_auc, "target_low": low, "target_high": high, "within": low <= pr_auc <= high,
            "train_rows": int(train.sum()), "test_rows": int((~train).sum()),
            "test_fraud_rate": float(test_fraud.mean())}


# --------------------------------------------------------------------------- command line

_CLI_TYPES = {"drift_day": int}  # knobs whose default (None) does not tell their type


def _parser() -> argparse.ArgumentParser:
    """Options: rows, seed, output file, report, and every scalar knob as --knob-name."""
    parser = argparse.ArgumentParser(
        prog="python -m cardfraud simulate",
        description="Simulate card purchases with the card_transdata columns (see docs/simulator.md).")
    parser.add_argument("--rows", type=int, default=SIMULATOR_DEFAULTS["rows"], help="purchases to simulate")
    parser.add_argument("--seed", type=int, default=SIMULATOR_DEFAULTS["seed"], help="random seed")
    parser.add_argument("--out", help="write the purchases to this .parquet or .csv file")
    parser.add_argument("--report", action="store_true",
                        help="print the calibration table and the separability check")
    for knob, default in SIMULATOR_DEFAULTS.items():
        if knob in {"rows", "seed", "cities"}:
            continue
        kind = _CLI_TYPES.get(knob, type(default))
        parser.add_argument(f"--{knob.replace('_', '-')}", dest=knob, type=kind, default=None,
                            help=f"default: {default}")
    return parser


def _write(frame: pd.DataFrame, path: str) -> None:
    """Write ``frame`` as Parquet or CSV according to the file's suffix."""
    from pathlib import Path

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.suffix.lower() in {".parquet", ".pq"}:
        frame.to_parquet(target, index=False)
    else:
        frame.to_csv(target, index=False)


def cli(argv: list[str] | None = None) -> int:
    """``python -m cardfraud simulate``: simulate, optionally write a file and print the report."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help or a usage error: argparse has printed the message
        return int(exc.code or 0)
    if not args.out and not args.report:
        print("error: give --out FILE.parquet|FILE.csv and/or --report", file=sys.stderr)
        return 2
    if args.out and not args.out.lower().endswith((".parquet", ".pq", ".csv")):
        print(f"error: --out must end in .parquet or .csv, not {args.out!r}", file=sys.stderr)
        return 2
    knobs = {k: v for k, v in vars(args).items() if k in SIMULATOR_DEFAULTS and v is not None}
    try:
        frame = simulate(**knobs)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.out:
        _write(frame, args.out)
        print(f"wrote {len(frame):,} purchases ({int(frame['fraud'].sum()):,} fraudulent) to {args.out}")
    if args.report:
        _print_report(frame)
    return 0


def _print_report(frame: pd.DataFrame) -> None:
    """Print the calibration table and, when the period allows it, the separability check."""
    report = calibration_report(frame)
    shown = report.assign(within=report["within"].map({True: "yes", False: "NO"}))
    with pd.option_context("display.width", 120, "display.float_format", "{:.4g}".format):
        print(shown.to_string(index=False))
    print(f"{int(report['within'].sum())} of {len(report)} measures within tolerance")
    days = (frame["timestamp"].max() - frame["timestamp"].min()).days
    if days <= 60:
        print("separability: skipped (needs more than 60 days of purchases)")
        return
    check = separability_check(frame)
    low, high = check["target_low"], check["target_high"]
    print(f"separability: HistGradientBoosting trained on days 0-59 ({check['train_rows']:,} rows), "
          f"PR-AUC on the later days {check['pr_auc']:.3f} (target {low:.2f}-{high:.2f}: "
          f"{'yes' if check['within'] else 'NO'})")
