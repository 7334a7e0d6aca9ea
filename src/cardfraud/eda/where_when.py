"""Exploratory analysis: where and when fraud happens.

Purchases and fraud rate on a map grid, the hot spots (cities, or map areas without a city
column), fraud rate by distance from home, and purchases and fraud rate per day. The map and
hot spots need coordinates and the days need timestamps (simulated data has both); distance
bands work on every extract. Rates are fractions (0-1) with 95 % Wilson intervals.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm

from ..data.partly_unknown import unknown_note
from ..data.schema import TARGET
from ..report import figures as plots
from ..report.markup import figure_text
from .headlines import with_fraud_rates


def map_extent(values: np.ndarray, share: float = 0.99) -> tuple[float, float]:
    """Return the range holding the central ``share`` of the values, padded by 5 %.

    Online purchases geolocated abroad would otherwise shrink the country to a few cells.
    """
    low, high = np.quantile(values, [(1 - share) / 2, 1 - (1 - share) / 2])
    pad = 0.05 * (high - low) or 0.5
    return float(low - pad), float(high + pad)


def fraud_map_grid(transactions: pd.DataFrame, gridsize: int = 60) -> dict:
    """Return purchases and frauds counted on a lon/lat grid of ``gridsize`` cells across.

    Returns:
        ``lon_edges``, ``lat_edges``, 2-D arrays ``purchases`` and ``frauds`` (lat x lon) and
        ``outside``: purchases beyond the map's extent (not counted in the grid).
        Purchases without coordinates (none from the provider) are left out.
    """
    transactions = transactions.dropna(subset=["latitude", "longitude"])
    lon = transactions["longitude"].to_numpy(dtype=float)
    lat = transactions["latitude"].to_numpy(dtype=float)
    (lon_low, lon_high), (lat_low, lat_high) = map_extent(lon), map_extent(lat)
    lat_cells = max(int(round(gridsize * (lat_high - lat_low) / (lon_high - lon_low))), 1)
    lon_edges = np.linspace(lon_low, lon_high, gridsize + 1)
    lat_edges = np.linspace(lat_low, lat_high, lat_cells + 1)
    purchases, _, _ = np.histogram2d(lat, lon, bins=[lat_edges, lon_edges])
    frauds, _, _ = np.histogram2d(lat, lon, bins=[lat_edges, lon_edges],
                                  weights=transactions[TARGET].to_numpy(dtype=float))
    return {"lon_edges": lon_edges, "lat_edges": lat_edges, "purchases": purchases,
            "frauds": frauds, "outside": len(lon) - int(purchases.sum()), "located": len(lon)}


def city_positions(transactions: pd.DataFrame, top: int = 8) -> pd.DataFrame:
    """Return the median purchase position of the ``top`` cities by purchases (empty if none)."""
    if "city" not in transactions.columns:
        return pd.DataFrame(columns=["city", "longitude", "latitude"])
    grouped = transactions.groupby("city", observed=True)
    biggest = grouped.size().nlargest(top).index
    positions = grouped[["longitude", "latitude"]].median().loc[biggest]
    return positions.reset_index()


def plot_fraud_map(transactions: pd.DataFrame, gridsize: int = 60, min_purchases: int = 30):
    """Figure: where purchases happen and the fraud rate per map cell."""
    grid = fraud_map_grid(transactions, gridsize)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(grid["purchases"] >= min_purchases, grid["frauds"] / grid["purchases"],
                        np.nan)
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 6.5))
    counts = np.where(grid["purchases"] > 0, grid["purchases"], np.nan)
    plots.draw_binned_map(left, grid["lon_edges"], grid["lat_edges"], counts, "Blues",
                          "purchases per cell (count, log scale)", norm=LogNorm())
    plots.draw_binned_map(right, grid["lon_edges"], grid["lat_edges"], rate, "Reds",
                          "fraud rate per cell (%)", percent=True)
    cities = city_positions(transactions)
    for ax, title in ((left, "Where purchases happen"), (right, "Fraud rate by place")):
        plots.label_axes(ax, title, "longitude (degrees east)", "latitude (degrees north)")
        for row in cities.itertuples(index=False):
            ax.annotate(figure_text(row.city), (row.longitude, row.latitude), fontsize=8,
                        xytext=(4, 4), textcoords="offset points")
    fig.suptitle("Purchases and fraud over the map", fontweight="bold")
    fig.tight_layout()
    cell_km = (grid["lon_edges"][1] - grid["lon_edges"][0]) * 111.3 * np.cos(
        np.radians(np.mean(grid["lat_edges"])))
    plots.add_note(fig, f"Binned from all {grid['located']:,} purchases with coordinates on a "
                        f"{gridsize} x {len(grid['lat_edges']) - 1} grid (cells about "
                        f"{cell_km:.0f} km wide); the rate map shows cells with at least "
                        f"{min_purchases} purchases. {grid['outside']:,} purchases placed beyond "
                        "the central 99 % of longitudes or latitudes (e.g. online connections "
                        "from abroad) are left off the map.")
    return fig


def hot_spots(transactions: pd.DataFrame, top: int = 10, min_purchases: int = 30,
              area_degrees: float = 0.5) -> pd.DataFrame:
    """Return the places with the highest fraud rate: city, or a lat/lon area when no city.

    Places are ranked by the low end of the rate's 95 % interval, so a place with two frauds in
    three purchases does not outrank a city with thousands; places with fewer than
    ``min_purchases`` purchases are left out.
    """
    if "city" in transactions.columns:
        place = transactions["city"]
    else:
        transactions = transactions.dropna(subset=["latitude", "longitude"])
        lat = (transactions["latitude"] / area_degrees).round() * area_degrees
        lon = (transactions["longitude"] / area_degrees).round() * area_degrees
        place = "lat " + lat.map("{:.1f}".format) + ", lon " + lon.map("{:.1f}".format)
    grouped = transactions[TARGET].groupby(place, observed=True).agg(["size", "sum"])
    table = with_fraud_rates(pd.DataFrame({"city": grouped.index.astype(str),
                                           "purchases": grouped["size"],
                                           "frauds": grouped["sum"]}))
    table = table[table["purchases"] >= min_purchases]
    table = table.sort_values(["95% CI low", "frauds"], ascending=False).head(top)
    return table.reset_index(drop=True)


def distance_band_fraud_rates(transactions: pd.DataFrame, bands_km: list[float]) -> pd.DataFrame:
    """Return purchases, frauds and fraud rate (95 % CI) per distance-from-home band.

    Args:
        bands_km: increasing lower edges of the bands; the last band is open-ended.
    """
    edges = np.asarray(sorted(bands_km), dtype=float)
    transactions = transactions.dropna(subset=["distance_from_home"])  # unknown: in no band
    band = np.searchsorted(edges, transactions["distance_from_home"].to_numpy(), side="right") - 1
    band = np.clip(band, 0, len(edges) - 1)
    purchases = np.bincount(band, minlength=len(edges))
    frauds = np.bincount(band, weights=transactions[TARGET].to_numpy(), minlength=len(edges))
    highs = list(edges[1:]) + [np.inf]
    labels = [f"{low:g}–{high:g} km" if np.isfinite(high) else f"{low:g}+ km"
              for low, high in zip(edges, highs, strict=True)]
    return with_fraud_rates(pd.DataFrame({"band": labels, "from km": edges, "to km": highs,
                                          "purchases": purchases, "frauds": frauds}))


def plot_distance_bands(bands: pd.DataFrame, overall_rate: float, unknown: int = 0):
    """Figure: fraud rate with its 95 % interval per distance-from-home band.

    ``unknown``: purchases whose distance from home is unknown (in no band), said in a note.
    """
    fig, ax = plt.subplots(figsize=(8, 4))
    labels = bands["band"] + "  (" + bands["purchases"].map("{:,}".format) + ")"
    plots.draw_rates_with_intervals(ax, labels, bands["fraud rate"], bands["95% CI low"],
                                    bands["95% CI high"])
    ax.axvline(overall_rate, color="grey", linestyle="--", linewidth=1,
               label=f"all purchases ({overall_rate:.1%})")
    ax.legend(loc="best")
    plots.label_axes(ax, "Fraud rate by distance from home (95 % intervals)", "fraud rate (%)",
                     "distance from home band (purchases)")
    fig.tight_layout()
    if unknown:
        plots.add_note(fig, unknown_note({"distance_from_home": unknown}))
    return fig


def daily_activity(transactions: pd.DataFrame) -> pd.DataFrame:
    """Return purchases, frauds and fraud rate (95 % CI) per calendar day."""
    day = transactions["timestamp"].dt.normalize()
    grouped = transactions[TARGET].groupby(day.to_numpy()).agg(["size", "sum"])
    table = pd.DataFrame({"day": grouped.index, "purchases": grouped["size"],
                          "frauds": grouped["sum"]})
    return with_fraud_rates(table).reset_index(drop=True)


def plot_daily_activity(daily: pd.DataFrame):
    """Figure: purchases per day (bars) and fraud rate per day (line)."""
    fig, ax = plt.subplots(figsize=(12, 4.5))
    plots.draw_daily_counts_and_rate(ax, daily["day"], daily["purchases"], daily["fraud rate"],
                                     daily["95% CI low"], daily["95% CI high"])
    ax.set_title("Purchases and fraud rate per day")
    fig.tight_layout()
    return fig
