"""Exploratory analysis: fraud by distance from home and over time.

Fraud rate by distance from home (every extract) and purchases and fraud rate per day (needs
timestamps). Maps and hot spots are the georeferencing step's (:mod:`cardfraud.geo`). Rates
are fractions (0-1) with 95 % Wilson intervals.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..data.partly_unknown import unknown_note
from ..data.schema import TARGET
from ..report import figures as plots
from ..report.locale_format import fill, format_value, localize_number_text
from ..report.translate import _
from .headlines import with_fraud_rates


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
    return distance_band_table(edges, purchases, frauds)


def distance_band_table(edges: np.ndarray, purchases, frauds) -> pd.DataFrame:
    """Return the distance-band table from the sorted lower edges and counts per band."""
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
    labels = [f"{localize_number_text(band)}  ({format_value(n, ',')})"
              for band, n in zip(bands["band"], bands["purchases"], strict=True)]
    plots.draw_rates_with_intervals(ax, labels, bands["fraud rate"], bands["95% CI low"],
                                    bands["95% CI high"])
    ax.axvline(overall_rate, color="grey", linestyle="--", linewidth=1,
               label=fill(_("all purchases ({rate:.1%})"), rate=overall_rate))
    ax.legend(loc="best")
    plots.label_axes(ax, _("Fraud rate by distance from home (95 % intervals)"),
                     _("fraud rate (%)"), _("distance from home band (purchases)"))
    fig.tight_layout()
    if unknown:
        plots.add_note(fig, unknown_note({"distance_from_home": unknown}))
    return fig


def daily_activity(transactions: pd.DataFrame) -> pd.DataFrame:
    """Return purchases, frauds and fraud rate (95 % CI) per calendar day."""
    day = transactions["timestamp"].dt.normalize()
    grouped = transactions[TARGET].groupby(day.to_numpy()).agg(["size", "sum"])
    return daily_table(grouped.index, grouped["size"].to_numpy(), grouped["sum"].to_numpy())


def daily_table(days, purchases, frauds) -> pd.DataFrame:
    """Return the per-day table from the days (in order) and their counts."""
    table = pd.DataFrame({"day": pd.DatetimeIndex(days), "purchases": purchases,
                          "frauds": frauds})
    return with_fraud_rates(table).reset_index(drop=True)


def plot_daily_activity(daily: pd.DataFrame):
    """Figure: purchases per day (bars) and fraud rate per day (line)."""
    fig, ax = plt.subplots(figsize=(12, 4.5))
    plots.draw_daily_counts_and_rate(ax, daily["day"], daily["purchases"], daily["fraud rate"],
                                     daily["95% CI low"], daily["95% CI high"])
    ax.set_title(_("Purchases and fraud rate per day"))
    fig.tight_layout()
    return fig
