"""Fraud in the simulator: the scenarios, their episodes on victims' cards and card testing.

Part of the built-in simulator (:func:`cardfraud.simulator.simulate.simulate`; the story and every number
in ``docs/simulator.md``). Each scenario's rows per purchase come from its ``<name>_rate`` knob;
card testing is the ``new_fraud_pattern`` drift.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .compromise import FraudPlan, spend_in_cash_out_areas
from .world import (
    CONNECTION_JITTER_KM,
    JITTER_SIGMA,
    ONLINE_MERCHANTS,
    USUAL_ONLINE,
    World,
    after_drift,
    displace,
    lognormal_km,
    round_amount,
)

SCENARIO_NAMES = ("none", "card_not_present", "account_takeover", "cloned_card", "card_testing")
CARD_TESTING_RATE = 0.15  # card-testing rows per post-drift purchase at drift_strength 1
EXPOSED_SHARE = 0.2  # cards whose data already circulates: the victims of the background fraud


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


def fraud_exposure(world: World, rng) -> np.ndarray:
    """Each card's weight as a fraud victim: its activity if its data circulates, else 0.

    A share ``EXPOSED_SHARE`` of the cards (drawn once) is exposed: stolen before the period,
    their data takes the period's fraud, in proportion to their activity. The other cards see
    fraud only once a planted point captures them, as most cards of a real bank never do.
    """
    exposed = rng.random(len(world.counts)) < EXPOSED_SHARE
    if not exposed.any():
        exposed[np.argmax(world.counts)] = True
    return world.counts * exposed


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


def _victims_and_starts(world: World, n_ep: int, cfg: dict, rng, plan: FraudPlan | None):
    """Victim card and start (seconds) of each episode; the plan's captured cards come first."""
    victim = rng.choice(len(world.counts), size=n_ep, p=world.exposure / world.exposure.sum())
    start = rng.uniform(0, cfg["days"] * 86400, n_ep)
    if plan is not None and len(plan.victims):
        # Stolen data: each use takes the place of the next fraud that was to start after it, so
        # the fraud is moved onto the captured cards, never added, and a drift cannot reach back.
        order = np.argsort(start, kind="stable")
        slot = np.searchsorted(start[order], plan.starts) - np.arange(len(plan.starts))
        slot = np.maximum.accumulate(slot) + np.arange(len(plan.starts))
        plan.used = int(np.searchsorted(slot, n_ep))  # uses left without a fraud to take wait
        episodes = order[slot[: plan.used]]
        victim[episodes], start[episodes] = plan.victims[: plan.used], plan.starts[: plan.used]
    return victim, start


def fraud_purchases(world: World, scenario: FraudScenario, n_rows: int, cfg: dict, rng,
                    plan: FraudPlan | None = None) -> dict:
    """Purchases of one fraud scenario: episodes on victims' cards, run from the fraudster's place.

    ``plan`` (from :mod:`.compromise`) gives the first episodes to captured cards, from when
    their stolen data is used, and spends a share of cloned cards in the cash-out areas.
    """
    episode, position = _episodes(n_rows, scenario.extra_rows, rng)
    n_ep = int(episode.max()) + 1 if n_rows else 0
    victim, start = _victims_and_starts(world, n_ep, cfg, rng, plan)
    ch = victim[episode].astype(np.int32)
    gaps = rng.exponential(scenario.gap_minutes * 60.0, n_rows)
    gaps[position == 0] = 0.0
    elapsed = np.cumsum(gaps)
    elapsed -= elapsed[np.flatnonzero(position == 0)][episode]
    seconds = cfg["days"] * 86400
    t = np.minimum(start[episode] + elapsed, seconds - 1).astype(np.int64)
    away = lognormal_km(scenario.distance_median_km, scenario.distance_sigma, n_ep, rng)
    base_lat, base_lon = displace(world.home_lat[victim], world.home_lon[victim], away, rng)
    town = world.nearby_shops(base_lat, base_lon, 1)[:, 0]  # fraudsters operate from towns too
    base_lat, base_lon = world.shop_lat[town], world.shop_lon[town]
    near = rng.random(n_ep) < scenario.near_share
    area = (rng.random(n_ep) >= world.home_area_share[victim]).astype(int)
    base_lat = np.where(near, world.area_lat[victim, area], base_lat)
    base_lon = np.where(near, world.area_lon[victim, area], base_lon)
    jitter = lognormal_km(CONNECTION_JITTER_KM, JITTER_SIGMA, n_rows, rng)
    lat, lon = displace(base_lat[episode], base_lon[episode], jitter, rng)
    usual = rng.random(n_rows) < scenario.repeat
    cash_out = np.zeros(n_rows, dtype=np.int8)
    if scenario.online:
        known = world.usual_online[ch, rng.integers(0, USUAL_ONLINE, n_rows)]
        merchant = np.where(usual, known, world.popular_online(n_rows, rng))
    else:
        # Cloned cards are used in the shops around where the fraudster is, or in a ring's area.
        shops = world.nearby_shops(base_lat[episode], base_lon[episode], 4)
        merchant = shops[np.arange(n_rows), rng.integers(0, 4, n_rows)]
        if plan is not None and plan.cash_out is not None:
            cash_out, ring_shop = spend_in_cash_out_areas(plan, episode, n_ep)
            merchant = np.where(cash_out > 0, ring_shop, merchant)
        lat, lon = world.shop_lat[merchant], world.shop_lon[merchant]
    ratio = scenario.ratio_median * np.exp(scenario.ratio_sigma * rng.standard_normal(n_rows))
    code = SCENARIO_NAMES.index(scenario.name)
    return {"ch": ch, "t": t, "lat": lat, "lon": lon, "online": np.full(n_rows, scenario.online),
            "merchant": merchant.astype(np.int32), "amount": round_amount(world.typical[ch] * ratio),
            "chip": rng.random(n_rows) < scenario.chip, "pin": rng.random(n_rows) < scenario.pin,
            "scenario": np.full(n_rows, code, dtype=np.int8),
            "compromise": np.zeros(n_rows, dtype=np.int32), "cash_out": cash_out}


def card_testing(world: World, genuine: dict, cfg: dict, rng) -> dict:
    """Drift ``new_fraud_pattern``: from ``drift_day`` fraudsters test cards with tiny online purchases.

    Each test replaces one of the victim's genuine purchase slots (so the row count stays
    ``rows``): a small amount at an obscure online merchant, from a connection in a city drawn
    by population, with no token and no verification.
    """
    n = len(genuine["t"])
    hit = rng.random(n) < min(1.0, cfg["drift_strength"] * CARD_TESTING_RATE)
    tested = after_drift(genuine["t"], cfg) & hit & (cfg["drift_kind"] == "new_fraud_pattern")
    k = int(tested.sum())
    lat, lon = world.point_in_city(world.random_cities(k, rng), rng)
    out = {key: value.copy() for key, value in genuine.items()}
    out["lat"][tested], out["lon"][tested] = lat, lon
    out["online"][tested] = True
    out["merchant"][tested] = world.n_shops + rng.integers(ONLINE_MERCHANTS // 2, ONLINE_MERCHANTS, k)
    out["amount"][tested] = round_amount(rng.uniform(1000.0, 6000.0, k))
    out["chip"][tested] = False
    out["pin"][tested] = False
    out["scenario"][tested] = SCENARIO_NAMES.index("card_testing")
    return out
