"""Figures of the channel simulation: the purchase flow through the channels and the spread of
frauds over simulated batches, with their intervals.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..eda.headlines import CHANNELS
from ..report import figures as plots
from ..report.locale_format import fill
from ..report.translate import N_, _, translate
from .simulation import INTERVAL_LEVEL


def _band(ax, x_from, x_to, source, target, color) -> None:
    """Draw a smooth band from a source segment (bottom, top) to a target segment."""
    x = np.linspace(x_from, x_to, 60)
    ease = (1 - np.cos(np.pi * (x - x_from) / (x_to - x_from))) / 2
    bottom = source[0] + (target[0] - source[0]) * ease
    top = source[1] + (target[1] - source[1]) * ease
    ax.fill_between(x, bottom, top, color=color, alpha=0.35, linewidth=0)


def _stack(heights, gap: float) -> list[tuple[float, float]]:
    """Return (bottom, top) of nodes stacked from the top down, centred on 0.5."""
    total = sum(heights) + gap * (len(heights) - 1)
    top, spans = 0.5 + total / 2, []
    for height in heights:
        spans.append((top - height, top))
        top -= height + gap
    return spans


def plot_purchase_flow(stages: pd.DataFrame):
    """Figure: Sankey-style flow of purchases into channels and final states."""
    count = dict(zip(stages["stage"], stages["purchases"], strict=True))
    n = max(count["purchases"], 1)
    gap, width = 0.06, 0.08
    scale = (1 - 3 * gap) / n
    ends = [count["validated onsite"] - count["fraudulent onsite"], count["fraudulent onsite"],
            count["validated online"] - count["fraudulent online"], count["fraudulent online"]]
    column0 = _stack([n * scale], gap)
    column1 = _stack([count["validated onsite"] * scale, count["validated online"] * scale], gap)
    column2 = _stack([c * scale for c in ends], gap)
    fig, ax = plt.subplots(figsize=(11, 5.5))
    colors1 = [plots.CHANNEL_COLORS[c] for c in CHANNELS]
    colors2 = [plots.LEGITIMATE_COLOR, plots.FRAUD_COLOR] * 2
    split0 = _stack([top - bottom for bottom, top in column1], 0)
    for source, target, color in zip(split0, column1, colors1, strict=True):
        _band(ax, width, 1, source, target, color)
    for index, target in enumerate(column2):
        bottom, top = column1[index // 2]
        height = target[1] - target[0]
        source = (top - height, top) if index % 2 == 0 else (bottom, bottom + height)
        _band(ax, 1 + width, 2, source, target, colors2[index])
    for x, spans, colors in ((0, column0, ["#777777"]), (1, column1, colors1), (2, column2, colors2)):
        for (bottom, top), color in zip(spans, colors, strict=True):
            ax.bar(x, max(top - bottom, 0.003), width, bottom=bottom, color=color, align="edge")
    ax.text(-0.03, 0.5, fill(_("purchases\n{n:,}"), n=n), ha="right", va="center", fontsize=10)
    for (bottom, top), channel in zip(column1, CHANNELS, strict=True):
        share = count[f"validated {channel}"] / n
        ax.text(1 - 0.03, (bottom + top) / 2,
                fill(_("{stage}\n{n:,} ({share:.1%})"), stage=translate(f"validated {channel}"),
                     n=count[f"validated {channel}"], share=share), ha="right", va="center",
                fontsize=9, bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"})
    names = [f"{state} {channel}" for channel in CHANNELS for state in ("legitimate", "fraudulent")]
    for (bottom, top), name, value, channel in zip(column2, names, ends,
                                                   np.repeat(CHANNELS, 2), strict=True):
        share = value / max(count[f"validated {channel}"], 1)
        ax.text(2 + width + 0.03, (bottom + top) / 2,
                fill(_("{name}: {n:,} ({share:.1%} of {channel})"), name=translate(name), n=value,
                     share=share, channel=translate(channel)), va="center", fontsize=9)
    ax.set_xlim(-0.45, 3.1)
    ax.set_ylim(-0.02, 1.08)
    ax.set_xticks([width / 2, 1 + width / 2, 2 + width / 2],
                  [_("cardholders' purchases"), _("validated by channel"), _("final state")])
    ax.set_yticks([])
    ax.grid(False)
    ax.spines["left"].set_visible(False)
    plots.label_axes(ax, fill(_("Purchase flow of {n:,} purchases through the channels"), n=n),
                     _("stage of the flow"), _("purchases (band height proportional to count)"))
    fig.tight_layout()
    return fig


# the flow's end states, shown through translate()
FLOW_WORDS = (N_("legitimate onsite"), N_("fraudulent onsite"), N_("legitimate online"),
              N_("fraudulent online"))


def plot_batch_frauds(batches: pd.DataFrame, intervals: pd.DataFrame, purchases: int):
    """Figure: distribution of frauds per batch for each channel with its interval shaded."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for ax, channel in zip(axes, CHANNELS, strict=True):
        values = batches[f"frauds {channel}"].to_numpy()
        edges = np.arange(values.min(), values.max() + 2) - 0.5
        if len(edges) > 80:
            edges = np.linspace(values.min() - 0.5, values.max() + 0.5, 60)
        ax.hist(values, bins=edges, weights=np.full(len(values), 1 / len(values)),
                color=plots.CHANNEL_COLORS[channel], alpha=0.8)
        row = intervals.set_index("channel").loc[channel]
        low, high = int(row["low"]), int(row["high"])
        ax.axvspan(low, high, color="grey", alpha=0.15,
                   label=fill(_("{level:.0%} interval: {low:,} to {high:,}"),
                              level=INTERVAL_LEVEL, low=low, high=high))
        ax.axvline(row["expected frauds"], color="black", linewidth=1,
                   label=fill(_("expected: {n:,.1f}"), n=row["expected frauds"]))
        plots.percent_axis(ax)
        plots.thousands_axis(ax, "x")
        ax.set_ylim(top=ax.get_ylim()[1] * 1.3)  # room for the legend
        title = _("Onsite frauds per batch") if channel == "onsite" else _("Online frauds per batch")
        plots.label_axes(ax, title,
                         fill(_("frauds per batch of {n:,} purchases (count)"), n=purchases),
                         _("share of simulated batches (%)"))
        ax.legend(loc="upper left", frameon=True, framealpha=0.9)
    fig.suptitle(fill(_("Monte Carlo: {runs:,} simulated batches of {n:,} purchases"),
                      runs=len(batches), n=purchases), fontweight="bold")
    fig.tight_layout()
    plots.add_note(fig, _("Each batch draws the channel and fraud shares from what the data allows "
                          "(Dirichlet posterior of the counts) and then the batch's purchases "
                          "(multinomial)."))
    return fig
