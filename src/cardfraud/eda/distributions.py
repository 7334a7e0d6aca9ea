"""Exploratory analysis: each continuous feature's distribution per class, on a log scale.

Counting and drawing are apart: :func:`continuous_histograms` bins all purchases of a pandas
frame (the Spark mirror, :func:`cardfraud.engines.spark_eda_counts.continuous_histograms`,
bins a Spark DataFrame the same way) and :func:`draw_continuous_distributions` draws the
figure from those counts, so both engines draw the same figure from the same counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..data.partly_unknown import unknown_counts, unknown_note
from ..data.schema import CONTINUOUS_FEATURES, TARGET
from ..report import figures as plots
from ..report.locale_format import fill
from ..report.translate import _, translate


@dataclass
class ContinuousHistograms:
    """What the distributions figure draws: per feature, bin edges and each class's shares."""

    histograms: dict[str, tuple[np.ndarray, dict[int, np.ndarray]]]  # feature -> edges, shares
    zeros: dict[str, int]  # purchases at or below 0, per feature (they sit in the first bin)
    unknown: dict[str, int]  # purchases with the feature unknown, where any
    rows: int  # every purchase
    bins: int


def log_histograms(transactions: pd.DataFrame, feature: str, bins: int = 60):
    """Return log-spaced bin edges and each class's share of purchases per bin.

    Values at or below the smallest positive value (e.g. zero distances) fall in the first bin.
    """
    known = transactions[feature].notna().to_numpy()  # unknown values are left out
    values = transactions[feature].to_numpy(dtype=float)[known]
    positive = values[values > 0]
    low = positive.min() if positive.size else 1e-3
    log_range = (np.log10(low), np.log10(max(values.max(), low * 10)))
    # equal-width bins on log10 values take numpy's fast path (no per-value bin search)
    log_values = np.log10(np.maximum(values, low))
    fraud = transactions[TARGET].to_numpy()[known] == 1
    shares = {}
    for label, mask in ((0, ~fraud), (1, fraud)):
        counts, log_edges = np.histogram(log_values[mask], bins=bins, range=log_range)
        shares[label] = counts / max(counts.sum(), 1)
    return 10.0 ** log_edges, shares


def continuous_histograms(transactions: pd.DataFrame, bins: int = 60) -> ContinuousHistograms:
    """Return the log-spaced histograms of the continuous features the extract gives."""
    continuous = [c for c in CONTINUOUS_FEATURES if c in transactions]  # unknown ones left out
    return ContinuousHistograms(
        {feature: log_histograms(transactions, feature, bins) for feature in continuous},
        {f: int((transactions[f] <= 0).sum()) for f in continuous},
        unknown_counts(transactions, continuous), len(transactions), bins)


def draw_continuous_distributions(counted: ContinuousHistograms):
    """Figure: each continuous feature's distribution per class on a log scale (from counts)."""
    continuous = list(counted.histograms)
    fig, axes = plt.subplots(1, len(continuous), figsize=(13, 4.2), squeeze=False)
    axes = axes[0]
    for ax, feature in zip(axes, continuous, strict=True):
        edges, shares = counted.histograms[feature]
        for label, share in shares.items():
            ax.stairs(share, edges, color=plots.CLASS_COLORS[label], linewidth=1.6,
                      label=translate(plots.CLASS_NAMES[label]))
        ax.set_xscale("log")
        plots.label_axes(ax, feature.replace("_", " "), plots.feature_label(feature) + _(", log scale"),
                         _("share of the class's purchases (%)"))
        plots.percent_axis(ax)
    axes[0].legend()
    fig.suptitle(_("Continuous features by class (log scale)"), fontweight="bold")
    fig.tight_layout()
    zero_text = "; ".join(fill(_("{n:,} zero {feature} values"), n=n, feature=f.replace("_", " "))
                          for f, n in counted.zeros.items() if n)
    unknown = unknown_note(counted.unknown)
    zero_text = fill(_(" Zeros sit in the first bin ({zeros})."), zeros=zero_text) if zero_text else ""
    plots.add_note(fig, fill(_("Binned from all {rows:,} purchases into {bins} log-spaced bins; "
                               "each class's line sums to 100 %."), rows=counted.rows,
                             bins=counted.bins)
                   + zero_text + (f" {unknown}" if unknown else ""))
    return fig


def plot_continuous_distributions(transactions: pd.DataFrame, bins: int = 60):
    """Figure: each continuous feature's distribution per class on a log scale."""
    return draw_continuous_distributions(continuous_histograms(transactions, bins))
