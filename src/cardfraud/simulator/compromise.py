"""Where the simulator plants what the georeferencing analysis must find.

Part of the built-in simulator (:func:`cardfraud.simulator.simulate.simulate`; the story and every
number in ``docs/simulator.md``):

- **compromised points**: busy shops with a skimmer for a window of days, and online merchants
  whose checkout leaks card data for a window. A genuine visit in the window captures the card
  with chance ``capture_rate``; the fraudsters use a share of the captured cards after a lag.
  Those cards then take part of the day's ``cloned_card`` fraud (skimmed cards, used in shops
  elsewhere) or ``card_not_present`` fraud (leaked online data): the fraud is *moved* onto them,
  not added, so the calibrated rates do not change;
- **cash-out areas**: a few tight areas (a ring's shops) where a share of the cloned-card
  fraud is spent.

Ground truth reaches the frame as ``compromise_point_id`` (the merchant on the purchase that
captured the card) and ``cash_out_area_id`` (on the frauds spent in a planted area).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .world import (
    KM_PER_DEGREE,
    NEARBY_SHOPS,
    ONLINE_MERCHANTS,
    USUAL_ONLINE,
    USUAL_SHOPS,
    World,
    first_of_group,
)

# Shapes that are part of the story rather than knobs (see docs/simulator.md).
BUSY_SHOPS = 40  # rings put skimmers on the terminals of the busiest shops (this many candidates)
SECURE_PLATFORMS = 40  # the most popular online merchants tokenise stored cards: their data does not leak
BREACHABLE_RANK = 200  # online merchants up to this popularity rank are worth breaching
CASH_OUT_MIN_SHOPS = 3  # a cash-out area has at least this many shops (the nearest ones)


@dataclass
class FraudPlan:
    """What a fraud scenario must do besides its random episodes.

    ``victims`` and ``starts`` (seconds, in time order) are captured cards and when their
    stolen data is first used: the scenario's first episodes go to them. ``cash_out`` are
    the planted areas (cloned cards only), with the share of episodes spent there and the
    random stream that picks them.
    """

    victims: np.ndarray
    starts: np.ndarray
    captures: np.ndarray  # index of each victim's capture in the captures table
    used: int = 0  # set by the scenario: how many of the victims it defrauded (fraud may run out)
    cash_out: CashOutAreas | None = None
    cash_out_share: float = 0.0
    rng: np.random.Generator | None = None


@dataclass
class CashOutAreas:
    """Tight areas where a ring spends cloned cards: each area's shops, padded with -1."""

    centre_lat: np.ndarray
    centre_lon: np.ndarray
    shops: np.ndarray  # (areas, most shops in an area), shop indices, -1 pads
    counts: np.ndarray  # shops per area


def merchant_traffic(world: World) -> np.ndarray:
    """Expected genuine purchases per merchant (shops first, then online merchants).

    Read from the cardholders' habits, not from the purchases, so that a drift (which changes
    the later purchases) does not change which merchants are compromised.
    """
    onsite = world.counts * (1.0 - world.habits["online"])
    online = world.counts * world.habits["online"]
    repeat = world.habits["repeat"]
    area_share = np.column_stack((world.home_area_share, 1.0 - world.home_area_share))
    slot = np.where(np.arange(NEARBY_SHOPS) < USUAL_SHOPS, repeat[:, None] / USUAL_SHOPS,
                    (1.0 - repeat[:, None]) / (NEARBY_SHOPS - USUAL_SHOPS))
    shop_visits = onsite[:, None, None] * area_share[:, :, None] * slot[:, None, :]
    shops = np.bincount(world.area_shops.ravel(), shop_visits.ravel(), minlength=world.n_shops)
    usual = np.repeat(online * repeat / USUAL_ONLINE, USUAL_ONLINE)
    web = np.bincount(world.usual_online.ravel() - world.n_shops, usual, minlength=ONLINE_MERCHANTS)
    web += (online * (1.0 - repeat)).sum() * world.online_popularity
    return np.concatenate([shops, web])


def choose_points(world: World, traffic: np.ndarray, cfg: dict, rng) -> np.ndarray:
    """Merchant indices of the compromised shops and online merchants, drawn by traffic.

    Shops come from the ``BUSY_SHOPS`` with the most regular customers (cards with the shop
    among their usual ones: a skimmer there captures many cards); online merchants from the
    popularity ranks after the ``SECURE_PLATFORMS`` giants, up to ``BREACHABLE_RANK``. Within
    each, the chance is proportional to the merchant's traffic (:func:`merchant_traffic`).
    """
    regulars = np.bincount(world.area_shops[:, :, :USUAL_SHOPS].ravel(), minlength=world.n_shops)
    busy = np.argsort(-regulars, kind="stable")[:BUSY_SHOPS]
    ranked = np.argsort(-world.online_popularity, kind="stable")
    online = world.n_shops + ranked[SECURE_PLATFORMS:BREACHABLE_RANK]
    chosen = [_draw_by_traffic(busy, traffic, cfg["compromised_shops"], rng),
              _draw_by_traffic(online, traffic, cfg["compromised_online"], rng)]
    return np.concatenate(chosen).astype(np.int64)


def _draw_by_traffic(candidates: np.ndarray, traffic: np.ndarray, k: int, rng) -> np.ndarray:
    """``k`` distinct candidates drawn with chance proportional to their traffic."""
    weight = traffic[candidates].astype(np.float64)
    k = min(int(k), int((weight > 0).sum()))
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    return rng.choice(candidates, size=k, replace=False, p=weight / weight.sum())


def capture_cards(world: World, purchases: dict, cfg: dict, rng) -> dict:
    """Plant the compromised points and return the captured cards (one capture per card).

    Each point is compromised for ``compromise_window_days`` starting on a uniform day. A
    genuine purchase at it in the window captures the card with chance ``capture_rate``
    (online, only card numbers typed in: a wallet token leaks nothing). A card captured twice
    counts at its first capture. ``purchases["compromise"]`` gets the point's merchant id on
    the capturing purchase.

    Returns:
        Per capture: ``row`` (index in ``purchases``), ``card``, ``t`` (seconds), ``online``,
        and the capture's own draws for :func:`stolen_data_use`: ``lag`` (exponential, mean 1)
        and ``used`` (uniform).
    """
    points, opens = plant_points(world, cfg, rng)
    return captures_at_points(world, purchases, points, opens, cfg, rng)


def plant_points(world: World, cfg: dict, rng) -> tuple[np.ndarray, np.ndarray]:
    """The compromised points (merchant indices) and when each one's window opens (seconds)."""
    points = choose_points(world, merchant_traffic(world), cfg, rng)
    window = min(cfg["compromise_window_days"], cfg["days"]) * 86400
    return points, rng.uniform(0, cfg["days"] * 86400 - window + 1, len(points))


def captures_at_points(world: World, purchases: dict, points: np.ndarray, opens: np.ndarray,
                       cfg: dict, rng) -> dict:
    """The captured cards of :func:`capture_cards` at given points and window openings."""
    window = min(cfg["compromise_window_days"], cfg["days"]) * 86400
    # One draw per purchase, whatever happens to the others: a drift leaves earlier captures alone.
    n = len(purchases["t"])
    luck, lag, used = rng.random(n), rng.exponential(1.0, n), rng.random(n)
    point_of = np.full(world.n_shops + ONLINE_MERCHANTS, -1, dtype=np.int64)
    point_of[points] = np.arange(len(points))
    merchant, t = purchases["merchant"], purchases["t"]
    point = point_of[merchant]
    rows = np.flatnonzero(point >= 0)
    point, t_at = point[rows], t[rows]
    leaky = (purchases["scenario"][rows] == 0) & (t_at >= opens[point]) & (t_at < opens[point] + window)
    leaky &= ~(purchases["online"][rows] & purchases["chip"][rows])
    rows = rows[leaky & (luck[rows] < cfg["capture_rate"])]
    rows = rows[np.lexsort((t[rows], purchases["ch"][rows]))]
    rows = rows[first_of_group(purchases["ch"][rows])]  # a card counts at its first capture
    purchases["compromise"][rows] = merchant[rows] + 1
    return {"row": rows, "card": purchases["ch"][rows], "t": t[rows], "online": purchases["online"][rows],
            "lag": lag[rows], "used": used[rows]}


def stolen_data_use(captures: dict, cfg: dict) -> dict[str, FraudPlan]:
    """When the fraudsters use the captured cards: a plan for cloned-card and card-not-present fraud.

    A share ``captured_use_share`` of the captured cards is used, after a lag drawn from an
    exponential distribution with mean ``capture_lag_days``; uses past the period's end stay
    in the future (the cards at risk). Skimmed cards are cloned, leaked online data is used
    online.
    """
    used = captures["used"] < cfg["captured_use_share"]
    when = captures["t"] + captures["lag"] * cfg["capture_lag_days"] * 86400.0
    due = used & (when < cfg["days"] * 86400)
    plans = {}
    for scenario, online in (("cloned_card", False), ("card_not_present", True)):
        chosen = np.flatnonzero(due & (captures["online"] == online))
        chosen = chosen[np.argsort(when[chosen], kind="stable")]
        plans[scenario] = FraudPlan(captures["card"][chosen], when[chosen].astype(np.int64), chosen)
    return plans


def captured_cards_table(captures: dict, plans: dict[str, FraudPlan], purchases: dict, start) -> pd.DataFrame:
    """Ground truth per captured card: the point, when it was captured and when its data was used.

    ``stolen_data_used_at`` is NaT for the cards whose data is not used within the period: the
    cards at risk.
    """
    used = np.full(len(captures["card"]), -1, dtype=np.int64)
    for plan in plans.values():
        used[plan.captures[: plan.used]] = plan.starts[: plan.used]
    table = pd.DataFrame({
        "card_id": (captures["card"] + 1).astype(np.int32),
        "compromise_point_id": purchases["compromise"][captures["row"]],
        "channel": pd.Categorical.from_codes(captures["online"].astype(np.int8), ["onsite", "online"]),
        "captured_at": _timestamps(start, captures["t"]),
        "stolen_data_used_at": pd.Series(_timestamps(start, np.maximum(used, 0))).where(used >= 0),
    })
    return table.sort_values(["compromise_point_id", "captured_at"], kind="stable").reset_index(drop=True)


def _timestamps(start, seconds: np.ndarray) -> np.ndarray:
    """Seconds from the period's start as datetime64[ns] (as the frame's ``timestamp``)."""
    origin = np.datetime64(pd.Timestamp(start).floor("s").to_datetime64(), "s")
    return (origin + seconds.astype(np.int64).astype("timedelta64[s]")).astype("datetime64[ns]")


def fraud_plans(world: World, captures: dict, cfg: dict, rng) -> dict[str, FraudPlan]:
    """The plans of the scenarios fed by the captured cards and, for cloned cards, the cash-out areas."""
    plans = stolen_data_use(captures, cfg)
    cloned = plans["cloned_card"]
    cloned.cash_out = cash_out_areas(world, merchant_traffic(world), cfg, rng)
    cloned.cash_out_share, cloned.rng = cfg["cash_out_share"], rng
    return plans


def cash_out_areas(world: World, traffic: np.ndarray, cfg: dict, rng) -> CashOutAreas | None:
    """The planted cash-out areas: every shop within the radius of a busy shop in a dense place.

    Centres are drawn by traffic among the shops with at least ``CASH_OUT_MIN_SHOPS`` shops
    within ``cash_out_radius_km`` (itself included); with none such, among all shops, and the
    area is then its nearest shops.
    """
    k = int(cfg["cash_out_areas"])
    if k == 0 or cfg["cash_out_share"] == 0:
        return None
    points = world.planar(world.shop_lat, world.shop_lon)
    radius = cfg["cash_out_radius_km"] / KM_PER_DEGREE
    dense = world.shop_tree.query_ball_point(points, r=radius, return_length=True) >= CASH_OUT_MIN_SHOPS
    weight = traffic[: world.n_shops]
    if (dense & (weight > 0)).sum() >= k:
        weight = weight * dense
    k = min(k, int((weight > 0).sum()))  # a tiny simulation has fewer busy shops than areas asked
    if k == 0:
        return None
    centres = rng.choice(world.n_shops, size=k, replace=False, p=weight / weight.sum())
    lat, lon = world.shop_lat[centres], world.shop_lon[centres]
    inside = world.shop_tree.query_ball_point(points[centres], r=radius)
    nearest = world.nearby_shops(lat, lon, CASH_OUT_MIN_SHOPS)
    lists = [np.array(sorted(found)) if len(found) >= CASH_OUT_MIN_SHOPS else nearest[i]
             for i, found in enumerate(inside)]
    counts = np.array([len(shops) for shops in lists])
    shops = np.full((k, counts.max()), -1, dtype=np.int64)
    for i, area in enumerate(lists):
        shops[i, : len(area)] = area
    return CashOutAreas(lat, lon, shops, counts)


def spend_in_cash_out_areas(plan: FraudPlan, episode: np.ndarray, n_ep: int) -> tuple[np.ndarray, np.ndarray]:
    """Which rows of a cloned-card scenario are spent in a cash-out area: (area id or 0, shop).

    A share ``cash_out_share`` of the episodes is spent in one of the areas, at its shops.
    """
    areas, rng = plan.cash_out, plan.rng
    in_area = rng.random(n_ep) < plan.cash_out_share
    area = rng.integers(0, len(areas.counts), n_ep)
    row_area = np.where(in_area[episode], area[episode], -1)
    hit = row_area >= 0
    pick = (rng.random(len(episode)) * areas.counts[np.maximum(row_area, 0)]).astype(np.int64)
    shop = np.where(hit, areas.shops[np.maximum(row_area, 0), pick], -1)
    return (row_area + 1).astype(np.int8), shop


def planted_points(captured: pd.DataFrame) -> pd.DataFrame:
    """One row per compromised point from the captured-cards table: its size as an investigation sees it.

    Columns: ``compromise_point_id``, ``channel``, ``cards_captured``, ``first_capture``,
    ``last_capture``, ``cards_used`` (stolen data used within the period) and ``share_used``.
    """
    table = captured.groupby("compromise_point_id", observed=True).agg(
        channel=("channel", "first"), cards_captured=("card_id", "size"),
        first_capture=("captured_at", "min"), last_capture=("captured_at", "max"),
        cards_used=("stolen_data_used_at", "count"))
    table["share_used"] = table["cards_used"] / table["cards_captured"]
    return table.reset_index()
