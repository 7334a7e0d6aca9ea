"""Built-in transaction simulator: cardholders' purchases with the card_transdata columns.

The story (details and every number in ``docs/simulator.md``): cardholders live around the
main cities of one country (Colombia by default, cities weighted by population). Each has a
home, a typical purchase amount, a few usual places (each with the shop they use there), a
few usual online merchants and habits: share of online shopping, share of purchases with an
EMV cryptogram, share of verified purchases. Purchases happen over ``days`` days; honest
unusual behaviour (trips to another city, large planned purchases) overlaps with fraud, which
comes in scenarios with their own rates (card-not-present with stolen card data, account
takeover bursts, cloned cards). A drift knob changes the later part of the period.

Columns of the returned frame, the eight card_transdata ones first:

- ``distance_from_home`` (float64, km): haversine distance from the cardholder's home to where
  the purchase happened: the merchant for onsite purchases, the geolocated connection point
  (or the fraudster's) for online ones.
- ``distance_from_last_transaction`` (float64, km): from where the cardholder's previous
  purchase happened (for the first one in the period, from a usual place of theirs).
- ``ratio_to_median_purchase_price`` (float64): amount over the median amount of the
  cardholder's genuine purchases in the period (their spending profile).
- ``repeat_retailer`` (int8): 1 when the merchant is one of the cardholder's usual merchants.
- ``used_chip`` (int8): 1 when an EMV cryptogram was present: chip or contactless onsite, a
  tokenized wallet (network token) online.
- ``used_pin_number`` (int8): 1 when the cardholder was verified: PIN onsite, one-time code
  or 3-D Secure challenge online.
- ``online_order`` (int8): 1 for card-not-present (online) purchases.
- ``fraud`` (int8): 1 for fraudulent purchases.
- ``transaction_id`` (int64): 1..rows in time order.
- ``timestamp`` (datetime64[ns]): when the purchase happened (local time, to the second).
- ``cardholder_id`` (int32), ``merchant_id`` (int32): physical merchants are numbered first,
  online merchants after them.
- ``channel`` (category): ``onsite`` or ``online``.
- ``amount`` (float64): purchase amount in Colombian pesos (COP), whole hundreds.
- ``city`` (category): the listed city nearest to where the purchase happened.
- ``purchase_lat``, ``purchase_lon``, ``home_lat``, ``home_lon`` (float64, degrees).
- ``fraud_scenario`` (category): ``none`` for genuine purchases, else the scenario's name.

Everything is vectorized numpy: rows are sorted by cardholder and time and "previous purchase"
and per-cardholder medians come from offsets in the sorted arrays, never a loop per purchase.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

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
    "pin_share": 0.11,  # mean share verified (PIN onsite, OTP / 3-D Secure online)
    "repeat_share": 0.88,  # mean share of genuine purchases at a usual merchant
    "travel_rate": 0.30,  # share of cardholders who take a trip to another city
    "large_purchase_rate": 0.012,  # share of genuine purchases that are large planned ones
    "card_not_present_rate": 0.052,  # fraud rows per purchase, by scenario
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
    local_share: float  # share of episodes run from the victim's home city
    chip: float
    pin: float
    repeat: float  # share at one of the victim's usual merchants


SCENARIOS = (
    # Stolen card data used online, mostly at big merchants the victim also uses.
    FraudScenario("card_not_present", True, 1.0, 180.0, 4.5, 0.75, 0.55, 0.10, 0.002, 0.85),
    # Someone controls the cardholder's accounts: a burst of purchases with the stored card.
    FraudScenario("account_takeover", True, 4.0, 6.0, 3.0, 0.75, 0.25, 0.60, 0.006, 0.95),
    # A magnetic-stripe clone used in shops far from home.
    FraudScenario("cloned_card", False, 2.0, 240.0, 3.5, 0.70, 0.15, 0.0, 0.05, 0.0),
)

# Shapes that are part of the story rather than knobs (see docs/simulator.md).
PLACES = 4  # usual places per cardholder, each with its usual shop
USUAL_ONLINE = 3  # usual online merchants per cardholder
NEARBY_SHOPS = 8  # shops near a place among which a new onsite merchant is picked
PLACE_MEDIAN_KM = (2.0, 12.0, 12.0, 20.0)  # median distance of place k from home
PLACE_SIGMA = 1.15
PLACE_PERSISTENCE = 0.72  # chance a purchase is at the same place as the previous one
CONNECTION_JITTER_KM = 0.45  # median spread of geolocated connections around a place
AMOUNT_SIGMA = 0.85  # spread of a cardholder's genuine amounts (log scale)
LARGE_PURCHASE_FACTOR = 7.0
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
    # fraud rate when the flag is 0 over when it is 1 must exceed this (1/x: 1 over 0)
    "orderings": {"online_order": 1 / 3.0, "used_pin_number": 5.0, "used_chip": 1.0},
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


def _categorical(cumulative, u) -> np.ndarray:
    """Index drawn per row from rows of cumulative probabilities, given uniforms ``u``."""
    return np.minimum((u[:, None] > cumulative).sum(axis=1), cumulative.shape[1] - 1)


def _first_of_group(keys: np.ndarray) -> np.ndarray:
    """True where a sorted key array starts a new group."""
    first = np.ones(len(keys), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    return first
