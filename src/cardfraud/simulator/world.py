"""The simulator's world: cities, merchants and cardholders, fixed before purchases happen.

Part of the built-in simulator (:func:`cardfraud.simulator.simulate.simulate`; the story and every number
in ``docs/simulator.md``). Shops sit around the cities; each cardholder gets a home, a typical
amount, habits, two areas with their usual shops, usual online merchants and maybe a trip.
Also the small numeric helpers the purchases and the fraud scenarios share: haversine
distances, random displacements, lognormal distances, amount rounding and the drift cut.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.spatial import cKDTree

# one geometry for the simulator and the raw path's derivation (the simulator's modules import
# these from here): great-circle km, and where a sorted key array starts a new group
from ..data.derive import EARTH_RADIUS_KM, haversine_km  # noqa: F401
from ..data.derive import first_of_card as first_of_group  # noqa: F401

# --------------------------------------------------------------------------- cities and shapes

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

# Shapes that are part of the story rather than knobs (see docs/simulator.md).
N_SHOPS = 20_000  # physical merchants (fixed, so shop density does not depend on rows)
AREAS = 2  # where a cardholder's life happens: 0 the home area, 1 the activity centre
AREA_MEDIAN_KM = (2.0, 12.0)  # median distance of each area from home
AREA_SIGMA = (0.8, 1.15)
MAX_SPREAD_KM = 150.0  # farthest a shop is from its city, or an area from home
HOME_AREA_SHARE = 0.3  # mean share of a cardholder's purchases made in the home area ...
FAR_CENTRE_KM = 30.0  # ... times exp(-distance of their activity centre / FAR_CENTRE_KM)
USUAL_SHOPS = 4  # usual shops per area: the nearest ones to the area's point
NEARBY_SHOPS = 10  # shops near an area; the ones after the usual ones are "new" shops
BIG_STORE_SHARE = 0.005  # shops that are big stores (supermarkets, malls, gas stations) ...
BIG_STORE_SLOTS = 2  # ... the nearest ones within BIG_STORE_REACH_KM are usual shops of an area
BIG_STORE_REACH_KM = 4.0
USUAL_ONLINE = 3  # usual online merchants per cardholder
CONNECTION_JITTER_KM = 0.25  # median spread of geolocated connections around an area
JITTER_SIGMA = 1.8
TRIP_EXTRA_DAYS = 19.0  # a trip lasts 1 + Poisson(TRIP_EXTRA_DAYS) days
ONLINE_MERCHANTS = 400
KM_PER_DEGREE = 111.195

# --------------------------------------------------------------------------- geometry and shared helpers


def displace(lat, lon, dist_km, rng) -> tuple[np.ndarray, np.ndarray]:
    """Move points ``dist_km`` in a random bearing (local flat-earth step)."""
    bearing = rng.uniform(0.0, 2 * np.pi, np.shape(dist_km))
    dlat = dist_km * np.cos(bearing) / KM_PER_DEGREE
    dlon = dist_km * np.sin(bearing) / (KM_PER_DEGREE * np.cos(np.radians(lat)))
    return lat + dlat, lon + dlon


def lognormal_km(median, sigma, size, rng) -> np.ndarray:
    """Lognormal distances with the given median (km)."""
    return np.asarray(median) * np.exp(sigma * rng.standard_normal(size))


def _city_scatter_km(population, size, rng) -> np.ndarray:
    """Distance from the centre of a city of ``population`` millions (Rayleigh, km)."""
    scale = 3.5 * np.sqrt(population)
    return scale * np.sqrt(-2.0 * np.log1p(-rng.random(size)))


def _beta_with_mean(mean: float, concentration: float, size: int, rng) -> np.ndarray:
    """Per-cardholder habits: Beta draws with the given mean and concentration a + b."""
    return rng.beta(mean * concentration, (1.0 - mean) * concentration, size)


def round_amount(amount: np.ndarray) -> np.ndarray:
    """Amounts in whole hundreds of pesos, at least 100 COP."""
    return np.maximum(100.0, np.round(amount / 100.0) * 100.0)


def after_drift(t: np.ndarray, cfg: dict) -> np.ndarray:
    """True for purchases on or after ``drift_day`` (all False without drift)."""
    if cfg["drift_day"] is None:
        return np.zeros(len(t), dtype=bool)
    return t >= cfg["drift_day"] * 86400


# --------------------------------------------------------------------------- the world


@dataclass
class World:
    """Cities, merchants and cardholders: everything fixed before purchases happen."""

    city_name: list
    city_lat: np.ndarray
    city_lon: np.ndarray
    city_pop: np.ndarray
    shop_lat: np.ndarray = None  # physical merchants, ids 0..n_shops-1
    shop_lon: np.ndarray = None
    shop_tree: cKDTree = None
    big_stores: np.ndarray = None  # shop indices; None = drawn with the cardholders' areas
    online_popularity: np.ndarray = None  # online merchants, ids n_shops..n_shops+ONLINE_MERCHANTS-1
    counts: np.ndarray = None  # genuine purchases per cardholder
    exposure: np.ndarray = None  # weight of each card as a fraud victim (fraud.fraud_exposure)
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
        return displace(self.city_lat[city], self.city_lon[city], dist, rng)

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


def build_world(cfg: dict, n_legit: int, rng) -> World:
    """Draw the merchants and the cardholders with their homes, habits, areas and trips."""
    world = World(*_cities(cfg))
    n_cards = _draw_counts(world, cfg, n_legit, rng)
    draw_shops(world, rng)
    _draw_cardholders(world, cfg, n_cards, rng)
    return world


def cardholder_count(cfg: dict, n_legit: int) -> int:
    """How many cardholders make ``n_legit`` genuine purchases (at least one)."""
    return max(1, int(round(n_legit / cfg["purchases_per_cardholder"])))


def _draw_counts(world: World, cfg: dict, n_legit: int, rng) -> int:
    """Genuine purchases per cardholder (by a gamma activity); return the number of cardholders."""
    n_cards = cardholder_count(cfg, n_legit)
    activity = rng.gamma(2.0, 1.0, n_cards)
    world.counts = rng.multinomial(n_legit, activity / activity.sum())
    return n_cards


def draw_shops(world: World, rng) -> None:
    """Shops sit where people go: around the cities and in the towns near them; online merchants by popularity."""
    lat, lon = world.point_in_city(world.random_cities(N_SHOPS, rng), rng)
    spread = np.minimum(lognormal_km(8.0, 1.2, N_SHOPS, rng), MAX_SPREAD_KM)
    world.shop_lat, world.shop_lon = displace(lat, lon, spread, rng)
    world.shop_tree = cKDTree(world.planar(world.shop_lat, world.shop_lon))
    zipf = 1.0 / np.arange(1, ONLINE_MERCHANTS + 1)
    world.online_popularity = zipf / zipf.sum()


def draw_places(cfg: dict, rng) -> World:
    """The configured cities, their shops, big stores and online merchants, without cardholders."""
    world = World(*_cities(cfg))
    draw_shops(world, rng)
    world.big_stores = draw_big_stores(world, rng)
    return world


def draw_big_stores(world: World, rng) -> np.ndarray:
    """Indices of the shops that are big stores (supermarkets, malls, gas stations)."""
    return np.flatnonzero(rng.random(world.n_shops) < BIG_STORE_SHARE)


def cardholders_among(places: World, cfg: dict, n_legit: int, rng) -> World:
    """A world with ``places``' cities, shops and big stores and its own cardholders.

    Used by the chunked simulator (:mod:`.chunked`): every block of purchases shares the places
    and draws its cardholders, who make ``n_legit`` genuine purchases, from ``rng``.
    """
    world = replace(places)
    n_cards = _draw_counts(world, cfg, n_legit, rng)
    _draw_cardholders(world, cfg, n_cards, rng)
    return world


def _draw_cardholders(world: World, cfg: dict, n_cards: int, rng) -> None:
    """Each cardholder's home, typical amount, habits, areas, usual online merchants and trip."""
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


def _draw_areas(world: World, n_cards: int, rng) -> None:
    """Each cardholder's home area and activity centre, with the shops nearest to each."""
    medians, sigmas = np.tile(AREA_MEDIAN_KM, n_cards), np.tile(AREA_SIGMA, n_cards)
    dist = np.minimum(lognormal_km(medians, sigmas, n_cards * AREAS, rng), MAX_SPREAD_KM)
    lat, lon = displace(np.repeat(world.home_lat, AREAS), np.repeat(world.home_lon, AREAS), dist, rng)
    shops = world.nearby_shops(lat, lon, NEARBY_SHOPS)  # an area is where shops are, never at sea
    lat, lon = world.shop_lat[shops[:, 0]], world.shop_lon[shops[:, 0]]
    shops = _with_big_stores(world, shops, lat, lon, rng)
    world.area_lat, world.area_lon = lat.reshape(n_cards, AREAS), lon.reshape(n_cards, AREAS)
    world.area_shops = shops.reshape(n_cards, AREAS, NEARBY_SHOPS).astype(np.int32)
    # Those whose life centres far from home (commuters, an old address on file) seldom shop near it.
    far = np.exp(-dist.reshape(n_cards, AREAS)[:, 1] / FAR_CENTRE_KM)
    world.home_area_share = far * _beta_with_mean(HOME_AREA_SHARE, 10.0, n_cards, rng)
    prior = (rng.random(n_cards) >= world.home_area_share).astype(int)
    rows = np.arange(n_cards)
    world.prior_lat, world.prior_lon = world.area_lat[rows, prior], world.area_lon[rows, prior]


def _with_big_stores(world: World, shops: np.ndarray, lat, lon, rng) -> np.ndarray:
    """Put the big stores within reach of each area first among its usual shops.

    Busy stores are shared by the cardholders of every area around them, which is where a
    skimmer captures many cards. Duplicates (a big store that is also a nearest shop) are
    dropped and the list is cut back to ``NEARBY_SHOPS``, nearest shops first after the stores.
    """
    # The in-memory simulator draws the big stores here (its stream's order); the chunked one
    # draws them once with the shops, so that every block sees the same stores.
    big = world.big_stores if world.big_stores is not None else draw_big_stores(world, rng)
    tree = cKDTree(world.planar(world.shop_lat[big], world.shop_lon[big]))
    _, idx = tree.query(world.planar(lat, lon), k=BIG_STORE_SLOTS)
    stores = big[idx.reshape(len(lat), BIG_STORE_SLOTS)]
    far = haversine_km(lat[:, None], lon[:, None], world.shop_lat[stores], world.shop_lon[stores]) > BIG_STORE_REACH_KM
    candidates = np.concatenate([np.where(far, -1, stores), shops], axis=1)
    drop = candidates < 0
    for j in range(1, candidates.shape[1]):
        drop[:, j] |= (candidates[:, :j] == candidates[:, j:j + 1]).any(axis=1)
    keep = np.argsort(drop, axis=1, kind="stable")[:, :NEARBY_SHOPS]
    return np.take_along_axis(candidates, keep, axis=1)


def _draw_trips(world: World, cfg: dict, n_cards: int, rng) -> None:
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
