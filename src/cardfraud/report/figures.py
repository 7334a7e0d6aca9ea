"""Shared figure and table helpers: one look for every page of the report.

Every figure has a title, axis labels with units and, when it is drawn from a sample or from
binned aggregates, a note under it saying so. Figures are saved as PNG under
``artifacts/figures`` and shown with ``plt.show()`` so the executed notebook embeds them.
Nothing here changes matplotlib's settings on import: call :func:`use_report_style` first.
"""

from __future__ import annotations

import os

import matplotlib as mpl
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..runner.artifacts import save_figure
from .locale_format import format_short_date, format_value, localize_number_text
from .markup import figure_text, html_table
from .translate import DEFAULT_LANGUAGE, N_, _, current_language, translate

LEGITIMATE_COLOR = "#4C72B0"
FRAUD_COLOR = "#C8423B"
CLASS_COLORS = {0: LEGITIMATE_COLOR, 1: FRAUD_COLOR}
CLASS_NAMES = {0: N_("legitimate"), 1: N_("fraud")}  # shown through translate()
CHANNEL_COLORS = {"onsite": "#55A868", "online": "#8172B2"}
NOTE_COLOR = "#555555"

FEATURE_LABELS = {
    "distance_from_home": N_("distance from home (km)"),
    "distance_from_last_transaction": N_("distance from last purchase (km)"),
    "ratio_to_median_purchase_price": N_("amount / cardholder's median amount (ratio)"),
    "repeat_retailer": N_("repeat retailer (0 = no, 1 = yes)"),
    "used_chip": N_("chip used (0 = no, 1 = yes)"),
    "used_pin_number": N_("PIN used (0 = no, 1 = yes)"),
    "online_order": N_("online order (0 = onsite, 1 = online)"),
    "fraud": N_("fraud (0 = legitimate, 1 = fraud)"),
}

REPORT_STYLE = {
    "figure.figsize": (9.0, 4.8),
    "figure.dpi": 90,
    "savefig.dpi": 110,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "legend.fontsize": 9,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
}


def use_report_style() -> None:
    """Apply the report's figure style to matplotlib (call once at the top of a notebook)."""
    mpl.rcParams.update(REPORT_STYLE)


def feature_label(column: str) -> str:
    """Return the axis label, with units, of a transaction column."""
    return translate(FEATURE_LABELS.get(column, figure_text(column.replace("_", " "))))


def label_axes(ax, title: str, xlabel: str, ylabel: str):
    """Set a panel's title and axis labels (with units) and return the axes."""
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


def percent_axis(ax, axis: str = "y", decimals: int | None = None):
    """Show a 0-1 axis as percentages."""
    formatter = percent_formatter(decimals)
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(formatter)
    return ax


class _PercentInLanguage(mpl.ticker.PercentFormatter):
    """Percent ticks written the way of the language in use (``12,5 %``)."""

    def __call__(self, x, pos=None):
        return localize_number_text(super().__call__(x, pos))


def percent_formatter(decimals: int | None = None):
    """Return the tick formatter of a 0-1 axis shown as percentages, in the language in use."""
    kind = (mpl.ticker.PercentFormatter if current_language() == DEFAULT_LANGUAGE
            else _PercentInLanguage)
    return kind(xmax=1.0, decimals=decimals)


def thousands_axis(ax, axis: str = "y"):
    """Show counts with thousands separators."""
    formatter = mpl.ticker.FuncFormatter(lambda value, pos: format_value(value, ",.0f"))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(formatter)
    return ax


class DateTicksInLanguage(mpl.ticker.Formatter):
    """Date ticks with the month's name in the language, not the system's locale: ``15 mar``,
    the year on the first tick and on each year's first tick (``1 ene 2025``)."""

    def __init__(self, language: str):
        self.language = language

    def __call__(self, x, pos=None):
        day = mdates.num2date(x).date()
        return format_short_date(day, with_year=pos == 0 or day.timetuple().tm_yday == 1,
                                 language=self.language)

    def format_ticks(self, values):
        days = [mdates.num2date(x).date() for x in values]
        return [format_short_date(d, with_year=i == 0 or d.year != days[i - 1].year,
                                  language=self.language) for i, d in enumerate(days)]


def date_axis(ax, axis: str = "x"):
    """Write a date axis's ticks in the language in use (English: matplotlib's own dates)."""
    if current_language() != DEFAULT_LANGUAGE:
        (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(
            DateTicksInLanguage(current_language()))
    return ax


def add_note(fig, text: str) -> None:
    """Write a short note under the figure (how it was drawn: sample, bins, data used)."""
    fig.text(0.01, -0.02, text, ha="left", va="top", fontsize=8.5, color=NOTE_COLOR, wrap=True)


def show_figure(fig, name: str, output_dir: str | os.PathLike | None = None) -> None:
    """Save the figure as ``artifacts/figures/<name>.png``, show that PNG inline, close it.

    The notebook embeds the saved file itself, so each figure is rendered once (``plt.show()``
    would render it a second time) and the page shows exactly the published artifact.
    """
    show_saved_figure(save_and_close(fig, name, output_dir))


def save_and_close(fig, name: str, output_dir: str | os.PathLike | None = None):
    """Save the figure as ``artifacts/figures/<name>.png``, close it and return the path."""
    path = save_figure(fig, name, output_dir)
    plt.close(fig)
    return path


def show_saved_figure(path: str | os.PathLike) -> None:
    """Show a saved figure's PNG inline: the page shows exactly the published artifact."""
    from IPython.display import Image, display

    display(Image(filename=str(path)))


def draw_rates_with_intervals(ax, labels, rates, low, high, color: str = FRAUD_COLOR):
    """Draw fraud rates (0-1) as points with their confidence intervals, one row per label."""
    rates, low, high = (np.asarray(v, dtype=float) for v in (rates, low, high))
    positions = np.arange(len(rates))[::-1]
    # rounding can put an interval end a hair inside its rate; error bars must be >= 0
    errors = [np.maximum(rates - low, 0), np.maximum(high - rates, 0)]
    ax.errorbar(rates, positions, xerr=errors, fmt="o", color=color,
                ecolor=color, capsize=3, markersize=5)
    ax.set_yticks(positions, labels)
    ax.set_xlim(left=0)
    percent_axis(ax, "x")
    return ax


def draw_heatmap(ax, table: pd.DataFrame, value_format: str = "{:.2f}", cmap: str = "RdBu_r",
                 vmin: float | None = None, vmax: float | None = None, colorbar_label: str = "",
                 percent: bool = False):
    """Draw a labelled table of numbers as a coloured grid with the values written in.

    Args:
        percent: the values are 0-1 rates; the colour bar shows them as percentages.
    """
    values = table.to_numpy(dtype=float)
    image = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    ax.set_xticks(np.arange(values.shape[1]), [figure_text(c) for c in table.columns], rotation=35,
                  ha="right")
    ax.set_yticks(np.arange(values.shape[0]), [figure_text(i) for i in table.index])
    ax.grid(False)
    for (row, col), value in np.ndenumerate(values):
        if np.isfinite(value):
            red, green, blue, _alpha = image.cmap(image.norm(value))
            dark_cell = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5
            ax.text(col, row, localize_number_text(value_format.format(value)), ha="center",
                    va="center",
                    fontsize=8, color="white" if dark_cell else "black")
    colorbar = ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.03)
    colorbar.set_label(colorbar_label)
    if percent:
        colorbar.ax.yaxis.set_major_formatter(percent_formatter())
    return ax


def _readable_number(value: float) -> str:
    """Format a measurement: four significant digits, whole numbers with separators from 1,000."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def style_table(table: pd.DataFrame, percent_decimals: int = 2):
    """Return a Styler that shows rates/shares as percentages and counts with separators.

    Columns whose name contains ``rate``, ``share`` or ``CI`` hold fractions (0-1). Text cells
    and headers are escaped (:func:`cardfraud.report.markup.html_table`): a city may hold markup.
    """
    percent_columns = [c for c in table.columns if pd.api.types.is_numeric_dtype(table[c])
                       and any(word in str(c) for word in ("rate", "share", "CI"))]
    formats = {c: f"{{:.{percent_decimals}%}}" for c in percent_columns}
    for column in table.columns:
        if column not in formats and pd.api.types.is_integer_dtype(table[column]):
            formats[column] = "{:,}"
        elif column not in formats and pd.api.types.is_float_dtype(table[column]):
            formats[column] = _readable_number
    return html_table(table, formats)


def draw_binned_map(ax, lon_edges, lat_edges, values, cmap: str, colorbar_label: str,
                    norm=None, percent: bool = False):
    """Draw per-cell values on a longitude/latitude grid, as flat as a local map.

    Args:
        values: 2-D array (latitude rows x longitude columns); NaN cells stay blank.
        percent: the values are 0-1 rates; the colour bar shows them as percentages.
    """
    mesh = ax.pcolormesh(lon_edges, lat_edges, np.ma.masked_invalid(values), cmap=cmap,
                         norm=norm, shading="flat")
    # a degree of longitude is shorter than one of latitude away from the equator
    ax.set_aspect(1 / np.cos(np.radians(np.mean(lat_edges))), adjustable="datalim")
    ax.grid(False)
    colorbar = ax.figure.colorbar(mesh, ax=ax, fraction=0.046, pad=0.03)
    colorbar.set_label(colorbar_label)
    if percent:
        colorbar.ax.yaxis.set_major_formatter(percent_formatter())
    return ax


def draw_daily_counts_and_rate(ax, days, counts, rates, low=None, high=None,
                               count_label: str | None = None):
    """Draw counts per day as bars (left axis) and a 0-1 rate per day as a line (right axis).

    Returns the right-hand axes of the rate.
    """
    ax.bar(days, counts, width=0.85, color=LEGITIMATE_COLOR, alpha=0.45, label=_("purchases"))
    ax.set_xlabel(_("day (date)"))
    ax.set_ylabel(count_label or _("purchases per day (count)"))
    thousands_axis(ax)
    rate_ax = ax.twinx()
    rate_ax.plot(days, rates, color=FRAUD_COLOR, linewidth=1.5, label=_("fraud rate"))
    if low is not None and high is not None:
        rate_ax.fill_between(days, low, high, color=FRAUD_COLOR, alpha=0.15,
                             label=_("95 % interval"), linewidth=0)
    rate_ax.set_ylabel(_("fraud rate (%)"))
    rate_ax.set_ylim(bottom=0)
    rate_ax.grid(False)
    rate_ax.spines["right"].set_visible(True)
    percent_axis(rate_ax)
    handles = ax.get_legend_handles_labels()[0] + rate_ax.get_legend_handles_labels()[0]
    rate_ax.legend(handles=handles, loc="lower right", ncol=3, frameon=True, framealpha=0.9)
    date_axis(ax)
    ax.figure.autofmt_xdate()
    return rate_ax
