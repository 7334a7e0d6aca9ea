"""The step's maps, each drawn over the departments and the country outline.

Fraud rate per department (choropleth), purchases and frauds per cell, and the hot spots and
suspected points marked and labelled. Purchases placed beyond the country's extent (online
connections from abroad) are counted in a note, not drawn.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import LogNorm, Normalize

from ..data.schema import TARGET
from ..report import figures as plots
from ..report.locale_format import fill as fill_text
from ..report.markup import figure_text
from ..report.translate import N_, _
from .boundaries import Boundaries, draw_boundaries

LON_LABEL, LAT_LABEL = N_("longitude (degrees east)"), N_("latitude (degrees north)")
NO_DATA_COLOR = "#eeeeee"


def _frame_country(ax, boundaries: Boundaries, title: str) -> None:
    """Set the axes to the country's extent with a title and labelled axes."""
    lon_min, lon_max, lat_min, lat_max = boundaries.extent
    ax.set_xlim(lon_min - 0.3, lon_max + 0.3)
    ax.set_ylim(lat_min - 0.3, lat_max + 0.3)
    ax.grid(False)
    plots.label_axes(ax, title, _(LON_LABEL), _(LAT_LABEL))


def plot_department_fraud_rates(departments: pd.DataFrame, boundaries: Boundaries,
                                min_purchases: int = 30):
    """Figure: the fraud rate of each department (choropleth); grey below ``min_purchases``."""
    rated = departments[departments["purchases"] >= min_purchases]
    rated = rated[rated["department"].isin(boundaries.names)]
    norm = Normalize(0, max(float(rated["fraud_rate"].max()) if len(rated) else 0.0, 1e-6))
    cmap = colormaps["Reds"]
    fill = {name: NO_DATA_COLOR for name in boundaries.names}
    fill.update({row.department: cmap(norm(row.fraud_rate)) for row in rated.itertuples()})
    fig, ax = plt.subplots(figsize=(7.5, 8))
    draw_boundaries(ax, boundaries, fill)
    _frame_country(ax, boundaries, _("Fraud rate per department"))
    colorbar = fig.colorbar(ScalarMappable(norm, cmap), ax=ax, fraction=0.046, pad=0.03)
    colorbar.set_label(_("fraud rate (%)"))
    colorbar.ax.yaxis.set_major_formatter(plots.percent_formatter())
    plots.add_note(fig, fill_text(_("Each purchase placed in a department by its coordinates; "
                                    "grey departments have fewer than {n} purchases."),
                                  n=min_purchases))
    return fig


def grid_shape(boundaries: Boundaries, gridsize: int) -> dict:
    """Return the map grid over the country: cell edges and cell sizes (degrees)."""
    lon_min, lon_max, lat_min, lat_max = boundaries.extent
    lat_cells = max(int(round(gridsize * (lat_max - lat_min) / (lon_max - lon_min))), 1)
    lon_edges = np.linspace(lon_min, lon_max, gridsize + 1)
    lat_edges = np.linspace(lat_min, lat_max, lat_cells + 1)
    return {"lon_edges": lon_edges, "lat_edges": lat_edges, "lon_min": lon_min,
            "lat_min": lat_min, "columns": gridsize, "lines": lat_cells,
            "width": lon_edges[1] - lon_edges[0], "height": lat_edges[1] - lat_edges[0]}


def grid_from_cells(shape: dict, cell: np.ndarray, purchases: np.ndarray, frauds: np.ndarray,
                    located: int) -> dict:
    """Return the map grid from purchases and frauds per cell index (row * columns + column).

    ``located`` is the number of purchases with coordinates; those in no cell are ``outside``.
    """
    size = shape["lines"] * shape["columns"]
    counts = np.bincount(cell, weights=purchases, minlength=size)
    fraud_counts = np.bincount(cell, weights=frauds, minlength=size)
    dims = (shape["lines"], shape["columns"])
    return {"lon_edges": shape["lon_edges"], "lat_edges": shape["lat_edges"],
            "purchases": counts.reshape(dims).astype(float), "frauds": fraud_counts.reshape(dims),
            "outside": located - int(counts.sum())}


def purchase_grid(purchases: pd.DataFrame, boundaries: Boundaries, gridsize: int) -> dict:
    """Return purchases and frauds counted on a grid over the country, ``gridsize`` across.

    Purchases without coordinates are left out (``outside`` counts those beyond the grid).
    """
    purchases = purchases.dropna(subset=["latitude", "longitude"])
    shape = grid_shape(boundaries, gridsize)
    lat = purchases["latitude"].to_numpy(dtype=float)
    lon = purchases["longitude"].to_numpy(dtype=float)
    # equal cells: a purchase's cell is arithmetic, then one bincount (no bin search)
    column = np.floor((lon - shape["lon_min"]) / shape["width"]).astype(np.int64)
    row = np.floor((lat - shape["lat_min"]) / shape["height"]).astype(np.int64)
    inside = (column >= 0) & (column < gridsize) & (row >= 0) & (row < shape["lines"])
    cell = row[inside] * gridsize + column[inside]
    return grid_from_cells(shape, cell, np.ones(len(cell)),
                           purchases[TARGET].to_numpy(dtype=float)[inside], len(lat))


def plot_purchases_and_frauds(purchases: pd.DataFrame, boundaries: Boundaries,
                              gridsize: int = 60):
    """Figure: purchases per cell and frauds per cell (log scales), over the departments."""
    return draw_purchases_and_frauds(purchase_grid(purchases, boundaries, gridsize), boundaries,
                                     len(purchases))


def draw_purchases_and_frauds(grid: dict, boundaries: Boundaries, rows: int):
    """Figure: the grid's purchases and frauds per cell (log scales); ``rows`` in the note.

    The grid comes from :func:`purchase_grid` (pandas) or the Spark engine's per-cell counts.
    """
    fig, axes = plt.subplots(1, 2, figsize=(14, 8))
    for ax, key, cmap, title, label in (
            (axes[0], "purchases", "Blues", _("Purchases per cell"),
             _("purchases per cell (count, log scale)")),
            (axes[1], "frauds", "Reds", _("Frauds per cell"), _("frauds per cell (count, log scale)"))):
        values = np.where(grid[key] > 0, grid[key], np.nan)
        norm = LogNorm(1, max(np.nanmax(values) if np.isfinite(values).any() else 10, 10))
        plots.draw_binned_map(ax, grid["lon_edges"], grid["lat_edges"], values, cmap,
                              label, norm=norm)
        draw_boundaries(ax, boundaries)
        _frame_country(ax, boundaries, title)
    width_km = (grid["lon_edges"][1] - grid["lon_edges"][0]) * 111.32 * np.cos(
        np.radians(np.mean(grid["lat_edges"])))
    plots.add_note(fig, fill_text(_("Binned from all {rows:,} purchases on a {columns} x {lines} "
                                    "grid over the country (cells about {km:.0f} km wide); "
                                    "{outside:,} purchases placed beyond the country's extent (e.g. "
                                    "online connections from abroad) are not drawn."),
                                  rows=rows, columns=len(grid["lon_edges"]) - 1,
                                  lines=len(grid["lat_edges"]) - 1, km=width_km,
                                  outside=grid["outside"]))
    fig.tight_layout()
    return fig


def plot_suspects_and_hot_spots(hot_spots: pd.DataFrame, points: pd.DataFrame,
                                boundaries: Boundaries, labels: int = 10):
    """Figure: hot spots (squares, ``H1``...) and suspected points (``P1``...) on the map.

    The ``labels`` most significant of each are labelled; shops are triangles, online
    merchants (placed where their customers connect from) circles.
    """
    fig, ax = plt.subplots(figsize=(8, 8.5))
    draw_boundaries(ax, boundaries)
    if len(hot_spots):
        ax.scatter(hot_spots["longitude"], hot_spots["latitude"], marker="s", s=160,
                   facecolor="none", edgecolor=plots.FRAUD_COLOR, linewidth=2, zorder=7,
                   label=fill_text(_("hot spots ({n:,})"), n=len(hot_spots)))
    for kind, marker, label in (("shop", "^", _("suspected shops ({n:,})")),
                                ("online merchant", "o", _("suspected online merchants ({n:,})"))):
        chosen = points[points["kind"] == kind] if len(points) else points
        if len(chosen):
            ax.scatter(chosen["longitude"], chosen["latitude"], marker=marker, s=70,
                       facecolor="#f2b134", edgecolor="black", zorder=6,
                       label=fill_text(label, n=len(chosen)))
    for table, column in ((hot_spots, "hot_spot"), (points, "suspected_point")):
        for row in table.head(labels).itertuples(index=False):
            ax.annotate(figure_text(f"{getattr(row, column)} {row.city}".strip()),
                        (row.longitude, row.latitude), fontsize=8, xytext=(5, 4),
                        textcoords="offset points", zorder=7)
    _frame_country(ax, boundaries, _("Hot spots and suspected points of compromise"))
    if len(hot_spots) or len(points):
        ax.legend(loc="lower left", frameon=True)
    plots.add_note(fig, fill_text(_("Hot spots: map cells where card-present fraud is "
                                    "significantly more frequent than elsewhere; suspected points: "
                                    "merchants used by significantly many cards later defrauded. "
                                    "The {n} most significant of each are labelled."), n=labels))
    return fig
