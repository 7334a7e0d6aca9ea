"""Built-in transaction simulator: cardholders' purchases with the card_transdata columns.

The story (every number and the reasons in ``docs/simulator.md``): cardholders live around the
main cities of one country (Colombia by default, cities weighted by population). Each has a
home, a typical purchase amount, two areas where their life happens (the home area and an
activity centre, each with its usual shops), three usual online merchants and habits: share
of online shopping, of purchases with an EMV cryptogram and of verified purchases. Purchases
happen over ``days`` days. Honest unusual behaviour (trips to another city, large planned
purchases) overlaps with fraud, which comes in scenarios with their own rates: card-not-present
with stolen card data, account-takeover bursts and cloned cards. Part of that fraud falls on
cards captured at planted compromised points, and part of the cloned-card fraud is spent in
planted cash-out areas. A drift knob changes the later part of the period (a new card-testing
pattern, or a shift to online and wallet payments).

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
- ``card_id`` (int32), ``merchant_id`` (int32): shops are numbered 1..20,000, online
  merchants from 20,001.
- ``channel`` (category): ``onsite`` or ``online`` (the same as ``online_order``).
- ``amount`` (float64): purchase amount in Colombian pesos (COP), in whole hundreds.
- ``city`` (category): the listed city nearest to where the purchase happened.
- ``latitude``, ``longitude``, ``home_latitude``, ``home_longitude`` (float64, degrees).
- ground truth the model never sees: ``fraud_scenario`` (category): ``none`` for genuine
  purchases, else ``card_not_present``, ``account_takeover``, ``cloned_card`` or (drift only)
  ``card_testing``; ``compromise_point_id`` (int32): the compromised point's ``merchant_id`` on
  the purchase that captured the card, else 0; ``cash_out_area_id`` (int8): the planted
  cash-out area (1..) a fraud was spent in, else 0.

Everything is vectorized numpy: rows are sorted by cardholder and time, and "previous
purchase" and per-cardholder medians come from offsets in the sorted arrays, never from a loop
per purchase. Each part of the story draws from its own random stream, so a drift changes
nothing before ``drift_day``.

The parts: :mod:`.world` (cities, merchants, cardholders), :mod:`.purchases` (genuine
purchases and the derived columns), :mod:`.compromise` (compromised points and cash-out
areas), :mod:`.fraud` (fraud scenarios and card testing) and :mod:`.realism` (targets, report
and separability check).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .compromise import capture_cards, captured_cards_table, fraud_plans
from .fraud import SCENARIOS, card_testing, fraud_exposure, fraud_purchases
from .purchases import derive, genuine_purchases, to_frame
from .world import COUNTRY_CITIES, build_world

# --------------------------------------------------------------------------- knobs

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
    "compromised_shops": 12,  # shops with a skimmer for a window (docs/simulator.md)
    "compromised_online": 6,  # online merchants whose checkout leaks card data for a window
    "compromise_window_days": 30,  # how long each point is compromised
    "capture_rate": 0.7,  # chance a genuine visit in the window captures the card
    "captured_use_share": 0.35,  # share of captured cards the fraudsters use
    "capture_lag_days": 10.0,  # mean days (exponential) from capture to the first use
    "cash_out_areas": 3,  # tight areas where a ring spends cloned cards
    "cash_out_share": 0.3,  # share of cloned-card episodes spent there
    "cash_out_radius_km": 1.0,
}

DRIFT_KINDS = ("new_fraud_pattern", "behaviour_shift")


# --------------------------------------------------------------------------- entry point

STREAMS = ("counts", "world", "genuine", *(s.name for s in SCENARIOS), "drift", "compromise", "cash_out",
            "victims")


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
    return simulate_with_captures(rows, seed, **knobs)[0]


def simulate_with_captures(rows: int | None = None, seed: int | None = None,
                           **knobs) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The frame of :func:`simulate` and the ground truth of the cards the planted points captured.

    Returns:
        ``(frame, captured)``: ``captured`` has one row per captured card: ``card_id``,
        ``compromise_point_id``, ``channel``, ``captured_at``, ``stolen_data_used_at`` (NaT
        when the data is not used within the period).
    """
    cfg = check_knobs({"rows": rows, "seed": seed, **knobs})
    streams = dict(zip(STREAMS, (np.random.default_rng(s) for s in
                                  np.random.SeedSequence(cfg["seed"]).spawn(len(STREAMS))), strict=True))
    n_fraud = {s.name: int(streams["counts"].binomial(cfg["rows"], cfg[f"{s.name}_rate"])) for s in SCENARIOS}
    n_genuine = cfg["rows"] - sum(n_fraud.values())
    world = build_world(cfg, n_genuine, streams["world"])
    world.exposure = fraud_exposure(world, streams["victims"])
    genuine = genuine_purchases(world, cfg, streams["genuine"])
    parts = [card_testing(world, genuine, cfg, streams["drift"])]
    captures = capture_cards(world, parts[0], cfg, streams["compromise"])
    plans = fraud_plans(world, captures, cfg, streams["cash_out"])
    parts += [fraud_purchases(world, s, n_fraud[s.name], cfg, streams[s.name], plans.get(s.name))
              for s in SCENARIOS]
    captured = captured_cards_table(captures, plans, parts[0], cfg["start"])
    purchases = derive(world, parts, profile=genuine)
    return to_frame(world, purchases, cfg), captured


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
    _check_compromise_knobs(cfg)
    return cfg


def _check_compromise_knobs(cfg: dict) -> None:
    """Raise unless the compromised-point and cash-out knobs are valid (cfg is updated in place)."""
    for key, top in (("compromised_shops", 200), ("compromised_online", 100), ("cash_out_areas", 50)):
        _need(_is_int(cfg[key]) and 0 <= cfg[key] <= top, f"{key} must be an integer in [0, {top}], not {cfg[key]!r}")
        cfg[key] = int(cfg[key])
    _need(_is_int(cfg["compromise_window_days"]) and 1 <= cfg["compromise_window_days"] <= 3660,
          f"compromise_window_days must be an integer in [1, 3660], not {cfg['compromise_window_days']!r}")
    cfg["compromise_window_days"] = int(cfg["compromise_window_days"])
    for key in ("capture_rate", "captured_use_share", "cash_out_share"):
        _need(_is_number(cfg[key]) and 0 <= cfg[key] <= 1, f"{key} must be a share in [0, 1], not {cfg[key]!r}")
    for key, top in (("capture_lag_days", 365.0), ("cash_out_radius_km", 50.0)):
        _need(_is_number(cfg[key]) and 0 < cfg[key] <= top, f"{key} must be a number in (0, {top:g}], not {cfg[key]!r}")
