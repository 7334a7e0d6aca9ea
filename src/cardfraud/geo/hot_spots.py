"""Hot spots: map cells whose fraud rate is significantly above the rate elsewhere.

Purchases are binned on a grid of square cells ``cell_km`` wide (longitude steps widened by the
country's latitude so cells are square on the ground). Each cell with at least
``min_purchases`` purchases gets a one-sided binomial test of its frauds against the rate the
other cells would give its purchases: online and onsite purchases each at their own fraud rate
elsewhere, since online fraud is ten times as frequent and connections cluster in cities;
Benjamini-Hochberg q-values (``scipy.stats.false_discovery_control``)
over the tested cells keep the expected share of false hot spots at ``fdr``. Rates are 0-1
fractions with 95 % Wilson intervals. Also the fraud rate per department (the choropleth).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..data.schema import TARGET
from ..eda.headlines import wilson_interval
from .boundaries import Boundaries, department_names

KM_PER_DEGREE = 111.32
HOT_SPOT_COLUMNS = ["hot_spot", "longitude", "latitude", "department", "city", "purchases",
                    "frauds", "fraud_rate", "rate_ci_low", "rate_ci_high", "expected_rate",
                    "p_value", "q_value"]


def cell_size_degrees(boundaries: Boundaries, cell_km: float) -> tuple[float, float]:
    """Return a cell's width (longitude) and height (latitude) in degrees."""
    _, _, lat_min, lat_max = boundaries.extent
    height = cell_km / KM_PER_DEGREE
    return height / np.cos(np.radians((lat_min + lat_max) / 2)), height


def cell_of_purchases(lon: np.ndarray, lat: np.ndarray, boundaries: Boundaries,
                      cell_km: float) -> np.ndarray:
    """Return each purchase's cell as one int64 key (column and row from the country's corner)."""
    width, height = cell_size_degrees(boundaries, cell_km)
    lon_min, _, lat_min, _ = boundaries.extent
    column = np.floor((lon - lon_min) / width).astype(np.int64)
    row = np.floor((lat - lat_min) / height).astype(np.int64)
    return (row + 2**20) * 2**21 + (column + 2**20)


def expected_frauds_from_counts(channel_counts: list[tuple[np.ndarray, np.ndarray]],
                                n_cells: int) -> np.ndarray:
    """Return each cell's expected frauds from its (purchases, frauds) per channel.

    ``channel_counts`` holds one pair of per-cell arrays per channel, in channel order; the
    Spark engine counts them on the executors and calls this with the same arrays.
    """
    expected = np.zeros(n_cells)
    for purchases, frauds in channel_counts:
        elsewhere = (frauds.sum() - frauds) / np.maximum(purchases.sum() - purchases, 1)
        expected += purchases * elsewhere
    return expected


def binomial_excess_p_values(frauds: np.ndarray, purchases: np.ndarray,
                             expected_rate: np.ndarray) -> np.ndarray:
    """Return P(at least these frauds) when each purchase is fraud at ``expected_rate``."""
    p_values = stats.binom.sf(frauds - 1, purchases, np.clip(expected_rate, 1e-12, 1 - 1e-12))
    return np.clip(p_values, 0.0, 1.0)


def _majority(keys: np.ndarray, labels: pd.Series) -> pd.Series:
    """Return, per key, its most frequent label (labels coded once, counted as integers)."""
    codes, names = pd.factorize(labels)
    pair = keys.astype(np.int64) * (len(names) + 1) + (codes + 1)
    pairs, counts = np.unique(pair, return_counts=True)
    order = np.lexsort((-counts, pairs // (len(names) + 1)))
    pairs = pairs[order]
    cell = pairs // (len(names) + 1)
    first = np.r_[True, cell[1:] != cell[:-1]]
    label = pairs[first] % (len(names) + 1) - 1
    values = np.asarray([*map(str, names), ""], dtype=object)[np.where(label < 0, len(names), label)]
    return pd.Series(values, index=cell[first])


def cell_sums(purchases: pd.DataFrame, cell: np.ndarray, n_cells: int) -> dict:
    """Return per cell: purchases, frauds, coordinate sums and (purchases, frauds) per channel."""
    lon = purchases["longitude"].to_numpy(dtype=float)
    lat = purchases["latitude"].to_numpy(dtype=float)
    fraud = purchases[TARGET].to_numpy(dtype=float)
    online = purchases["online_order"].to_numpy() if "online_order" in purchases else None
    channels = np.zeros(len(cell), dtype=np.int8) if online is None else online.astype(np.int8)
    by_channel = []
    for channel in np.unique(channels):
        rows = channels == channel
        by_channel.append((np.bincount(cell[rows], minlength=n_cells),
                           np.bincount(cell[rows], weights=fraud[rows], minlength=n_cells)))
    return {"purchases": np.bincount(cell, minlength=n_cells),
            "frauds": np.bincount(cell, weights=fraud, minlength=n_cells),
            "lon": np.bincount(cell, weights=lon, minlength=n_cells),
            "lat": np.bincount(cell, weights=lat, minlength=n_cells),
            "fraud_lon": np.bincount(cell, weights=lon * fraud, minlength=n_cells),
            "fraud_lat": np.bincount(cell, weights=lat * fraud, minlength=n_cells),
            "channels": by_channel}


def tested_cells(sums: dict, min_purchases: int) -> pd.DataFrame:
    """Return the cells with at least ``min_purchases`` purchases, tested and q-valued.

    ``sums`` is :func:`cell_sums`'s per-cell table (cells in key order); ``cell`` in the result
    is a cell's position in it. Department and city are added by the caller.
    """
    counts, frauds = sums["purchases"], sums["frauds"]
    tested = np.flatnonzero(counts >= min_purchases)
    centre_lon = np.where(frauds > 0, sums["fraud_lon"] / np.maximum(frauds, 1),
                          sums["lon"] / counts)
    centre_lat = np.where(frauds > 0, sums["fraud_lat"] / np.maximum(frauds, 1),
                          sums["lat"] / counts)
    expected_rate = (expected_frauds_from_counts(sums["channels"], len(counts))[tested]
                     / counts[tested])
    p_values = binomial_excess_p_values(frauds[tested], counts[tested], expected_rate)
    return pd.DataFrame({"cell": tested, "longitude": centre_lon[tested],
                         "latitude": centre_lat[tested], "purchases": counts[tested],
                         "frauds": frauds[tested].astype(np.int64), "expected_rate": expected_rate,
                         "p_value": p_values,
                         "q_value": stats.false_discovery_control(p_values) if len(tested)
                         else np.array([])})


def cell_table(purchases: pd.DataFrame, department: np.ndarray, boundaries: Boundaries,
               cell_km: float, min_purchases: int) -> pd.DataFrame:
    """Return every cell with at least ``min_purchases`` purchases, tested and q-valued.

    ``longitude``/``latitude`` are the mean position of the cell's frauds (of its purchases
    when it has none): where the team would go and look.
    """
    lon = purchases["longitude"].to_numpy(dtype=float)
    lat = purchases["latitude"].to_numpy(dtype=float)
    keys, cell = np.unique(cell_of_purchases(lon, lat, boundaries, cell_km), return_inverse=True)
    table = tested_cells(cell_sums(purchases, cell, len(keys)), min_purchases)
    in_tested = np.isin(cell, table["cell"].to_numpy())
    names = pd.Series(department_names(boundaries, department[in_tested]))
    table["department"] = table["cell"].map(_majority(cell[in_tested], names))
    if "city" in purchases.columns:
        city = purchases["city"][in_tested].reset_index(drop=True)
        table["city"] = table["cell"].map(_majority(cell[in_tested], city))
    else:
        table["city"] = ""
    return table


def card_present(purchases: pd.DataFrame, channel: str = "onsite") -> np.ndarray:
    """Return the rows hot spots are sought in: onsite purchases (``channel`` onsite), or all.

    An onsite purchase happens where the terminal is; an online one is placed where its
    connection is geolocated (an IP address, often a proxy), which says little about where
    fraud happens. Without an ``online_order`` column every purchase counts.
    """
    if channel == "onsite" and "online_order" in purchases.columns:
        return purchases["online_order"].to_numpy() == 0
    return np.ones(len(purchases), dtype=bool)


def hot_spots(purchases: pd.DataFrame, department: np.ndarray, boundaries: Boundaries,
              cell_km: float = 5.0, min_purchases: int = 30, fdr: float = 0.05,
              min_frauds: int = 1) -> pd.DataFrame:
    """Return the hot spots: tested cells with q-value at most ``fdr``, highest rate first.

    A hot spot also holds at least ``min_frauds`` frauds: a place worth a visit, not a shop
    with a handful of them.

    Columns (also the GeoJSON properties): ``HOT_SPOT_COLUMNS``; ``hot_spot`` is a label
    (``H1``, ``H2``...) used on the maps.
    """
    table = cell_table(purchases, department, boundaries, cell_km, min_purchases)
    return hot_spots_of_cells(table, fdr, min_frauds)


def hot_spots_of_cells(table: pd.DataFrame, fdr: float, min_frauds: int) -> pd.DataFrame:
    """Return the hot spots (``HOT_SPOT_COLUMNS``) among tested cells (:func:`cell_table`)."""
    table = table[(table["q_value"] <= fdr) & (table["frauds"] >= min_frauds)].copy()
    table["fraud_rate"] = table["frauds"] / table["purchases"]
    table["rate_ci_low"], table["rate_ci_high"] = wilson_interval(table["frauds"],
                                                                  table["purchases"])
    table = table.sort_values(["q_value", "fraud_rate"], ascending=[True, False])
    table["hot_spot"] = [f"H{i}" for i in range(1, len(table) + 1)]
    return table[HOT_SPOT_COLUMNS].reset_index(drop=True)


def fraud_rate_by_department(purchases: pd.DataFrame, department: np.ndarray,
                             boundaries: Boundaries) -> pd.DataFrame:
    """Return purchases, frauds and fraud rate (95 % CI) per department, highest rate first.

    Purchases placed outside every department (online connections abroad, points on a
    border river) are one more row, ``outside the country``.
    """
    slots = np.where(department < 0, len(boundaries.names), department)
    counts = np.bincount(slots, minlength=len(boundaries.names) + 1)
    frauds = np.bincount(slots, weights=purchases[TARGET].to_numpy(dtype=float),
                         minlength=len(boundaries.names) + 1).astype(np.int64)
    return department_table(counts, frauds, boundaries)


def department_table(counts: np.ndarray, frauds: np.ndarray,
                     boundaries: Boundaries) -> pd.DataFrame:
    """Return the department rates from purchases and frauds per department index.

    Both arrays hold one slot per department, then one for ``outside the country``.
    """
    table = pd.DataFrame({"department": [*boundaries.names, "outside the country"],
                          "purchases": counts, "frauds": frauds})
    table = table[table["purchases"] > 0].copy()
    table["fraud_rate"] = table["frauds"] / table["purchases"]
    table["rate_ci_low"], table["rate_ci_high"] = wilson_interval(table["frauds"],
                                                                  table["purchases"])
    return table.sort_values("fraud_rate", ascending=False).reset_index(drop=True)
