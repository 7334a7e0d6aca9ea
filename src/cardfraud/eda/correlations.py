"""Exploratory analysis: how the features go together, and fraud across the strongest pair.

The Pearson correlations of the seven features and fraud, the most correlated pair of features,
and that pair seen twice: a seeded sample of purchases by class and the fraud rate on a grid of
all purchases (equal-count bins for continuous features).
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..data.partly_unknown import unknown_counts, unknown_note
from ..data.schema import CONTINUOUS_FEATURES, FLAG_FEATURES, TARGET, available_inputs
from ..report import figures as plots
from ..report.locale_format import fill
from ..report.translate import _, translate


def feature_correlations(transactions: pd.DataFrame) -> pd.DataFrame:
    """Return the Pearson correlation matrix of the features the extract gives and fraud."""
    columns = available_inputs(transactions) + [TARGET]
    if unknown_counts(transactions, columns):  # each pair on the purchases that know both
        return transactions[columns].astype(float).corr()
    return pd.DataFrame(np.corrcoef(transactions[columns].to_numpy(dtype=float), rowvar=False),
                        index=columns, columns=columns)


def strongest_pair(correlations: pd.DataFrame) -> tuple[str, str, float]:
    """Return the two features (fraud excluded) with the largest absolute correlation."""
    features = [c for c in correlations.index if c != TARGET]
    values = correlations.loc[features, features].to_numpy().copy()
    np.fill_diagonal(values, 0)
    row, col = np.unravel_index(np.nanargmax(np.abs(values)), values.shape)
    return features[row], features[col], float(values[row, col])


def plot_correlations(correlations: pd.DataFrame, notes: dict[str, int] | None = None):
    """Figure: correlation heatmap of the features and fraud (``notes``: unknown counts)."""
    fig, ax = plt.subplots(figsize=(8, 6.2))
    names = [c.replace("_", " ") for c in correlations.columns]
    table = pd.DataFrame(correlations.to_numpy(), index=names, columns=names)
    # adding 0.0 turns the -0.00 of tiny negative values into 0.00
    plots.draw_heatmap(ax, table.round(2) + 0.0, "{:.2f}", "RdBu_r", -1, 1,
                       _("Pearson correlation (-1 to 1)"))
    plots.label_axes(ax, _("Correlation between features and fraud"), _("feature or label"),
                     _("feature or label"))
    fig.tight_layout()
    if unknown := unknown_note(notes or {}):
        plots.add_note(fig, _("Each pair is correlated on the purchases that know both. ") + unknown)
    return fig


def _short(value: float) -> str:
    """Format a bin edge: three significant digits, whole numbers from 100 up."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def feature_bins(values: np.ndarray, feature: str, bins: int) -> tuple[np.ndarray, list[str]]:
    """Return bin edges and labels: no/yes for a flag, equal-count (quantile) bins otherwise."""
    if feature in FLAG_FEATURES:
        return np.array([-0.5, 0.5, 1.5]), ["no", "yes"]
    return equal_count_bins(np.quantile(values, np.linspace(0, 1, bins + 1)))


def equal_count_bins(quantiles) -> tuple[np.ndarray, list[str]]:
    """Return bin edges and labels from the quantiles at 0, 1/bins, ..., 1 (ties merged).

    The last edge is nudged up so the largest value falls in the last bin.
    """
    edges = np.unique(np.asarray(quantiles, dtype=float))
    edges[-1] = np.nextafter(edges[-1], np.inf)
    labels = [f"{_short(a)}–{_short(b)}" for a, b in zip(edges[:-1], edges[1:], strict=True)]
    return edges, labels


def pair_fraud_rates(transactions: pd.DataFrame, first: str, second: str, bins: int = 10):
    """Return the fraud-rate grid of two features (rows: second, columns: first) and purchases.

    Purchases with either feature unknown are left out.
    """
    transactions = transactions.dropna(subset=[first, second])
    x, y = (transactions[c].to_numpy(dtype=float) for c in (first, second))
    x_edges, x_labels = feature_bins(x, first, bins)
    y_edges, y_labels = feature_bins(y, second, bins)
    purchases, _rows, _columns = np.histogram2d(y, x, bins=[y_edges, x_edges])
    frauds, _rows, _columns = np.histogram2d(y, x, bins=[y_edges, x_edges],
                                  weights=transactions[TARGET].to_numpy(dtype=float))
    return pair_tables(purchases, frauds, x_labels, y_labels)


def pair_tables(purchases, frauds, x_labels: list[str], y_labels: list[str]):
    """Return the fraud-rate grid and purchases grid (rows: second feature) from cell counts."""
    purchases, frauds = np.asarray(purchases, float), np.asarray(frauds, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = frauds / purchases
    return (pd.DataFrame(rates, index=y_labels, columns=x_labels),
            pd.DataFrame(purchases.astype(int), index=y_labels, columns=x_labels))


def _scatter_axis(values: np.ndarray, feature: str, rng: np.random.Generator) -> np.ndarray:
    """Jitter a 0/1 flag so its points spread; leave continuous values as they are."""
    if feature in FLAG_FEATURES:
        return values + rng.uniform(-0.25, 0.25, values.size)
    return np.maximum(values, values[values > 0].min() if (values > 0).any() else 1e-3)


@dataclass
class PairView:
    """What the pair figure draws: a bounded sample of purchases and the fraud-rate grid.

    ``rows`` purchases know both features (the grid counts all of them); ``sample`` is a
    seeded random sample of at most ``sample_rows`` of them; ``rng`` jitters the flags.
    """

    sample: pd.DataFrame
    rng: np.random.Generator
    rates: pd.DataFrame
    rows: int
    unknown: dict[str, int]  # purchases with either feature unknown (left out), per feature


def pair_view_counts(transactions: pd.DataFrame, first: str, second: str,
                     sample_rows: int = 20_000, bins: int = 10, seed: int = 42) -> PairView:
    """Return the pair figure's sample and grid (pandas; the sample drawn with numpy)."""
    rng = np.random.default_rng(seed)
    unknown = unknown_counts(transactions, [first, second])
    transactions = transactions.dropna(subset=[first, second])  # the known values only
    take = rng.choice(len(transactions), min(sample_rows, len(transactions)), replace=False)
    rates, _counts = pair_fraud_rates(transactions, first, second, bins)
    return PairView(transactions.iloc[np.sort(take)], rng, rates, len(transactions), unknown)


def draw_pair_view(view: PairView, first: str, second: str, correlation: float):
    """Figure: the two features as a sampled scatter by class and as a fraud-rate grid."""
    sample, rng = view.sample, view.rng
    unknown = unknown_note(view.unknown)
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 5.2))
    x, y = (_scatter_axis(sample[c].to_numpy(dtype=float), c, rng) for c in (first, second))
    fraud = sample[TARGET].to_numpy() == 1
    for label, mask in ((0, ~fraud), (1, fraud)):
        left.scatter(x[mask], y[mask], s=4, alpha=0.35 if label == 0 else 0.6,
                     color=plots.CLASS_COLORS[label], label=translate(plots.CLASS_NAMES[label]))
    for feature, set_scale, set_ticks in ((first, left.set_xscale, left.set_xticks),
                                          (second, left.set_yscale, left.set_yticks)):
        if feature in CONTINUOUS_FEATURES:
            set_scale("log")
        else:
            set_ticks([0, 1], [translate("no"), translate("yes")])
    plots.label_axes(left, fill(_("Sample of {n:,} purchases by class"), n=len(sample)),
                     plots.feature_label(first), plots.feature_label(second))
    left.legend(markerscale=3)
    plots.draw_heatmap(right, view.rates.iloc[::-1], "{:.1%}", "Reds", 0, None,
                       _("fraud rate (%)"), percent=True)
    plots.label_axes(right, _("Fraud rate per cell (all purchases)"), plots.feature_label(first),
                     plots.feature_label(second))
    fig.suptitle(fill(_("Strongest pair: {first} and {second} (r = {r:.2f})"), first=first,
                      second=second, r=correlation), fontweight="bold")
    fig.tight_layout()
    plots.add_note(fig, fill(_("Left: seeded random sample of {n:,} of {rows:,} purchases (flags "
                               "jittered). Right: all purchases, in equal-count bins for "
                               "continuous features."), n=len(sample), rows=view.rows)
                   + (f" {unknown}" if unknown else ""))
    return fig


def plot_pair_view(transactions: pd.DataFrame, first: str, second: str, correlation: float,
                   sample_rows: int = 20_000, bins: int = 10, seed: int = 42):
    """Figure: the two features as a sampled scatter by class and as a fraud-rate grid."""
    return draw_pair_view(pair_view_counts(transactions, first, second, sample_rows, bins, seed),
                          first, second, correlation)
