"""Figures of the monitoring step: drifted features, the champion's scores, the run history."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..report.figures import feature_label, label_axes, percent_axis
from ..report.locale_format import fill
from ..report.markup import html_table
from ..report.table_language import key_words
from ..report.translate import _, translate
from .champion import ChampionCheck
from .drift import BinnedComparison, FeatureDrift

REFERENCE_COLOR, CURRENT_COLOR = "#4C72B0", "#DD8452"
STATUS_COLORS = {"ok": "#55A868", "watch": "#CCB974", "alert": "#C8423B"}


def _draw_binned(ax, binned: BinnedComparison, title: str, xlabel: str) -> None:
    """Draw reference and current shares per bin side by side."""
    ref, cur = binned.shares()
    x = np.arange(len(binned.labels))
    ax.bar(x - 0.2, ref, width=0.4, color=REFERENCE_COLOR, label=_("reference (training)"))
    ax.bar(x + 0.2, cur, width=0.4, color=CURRENT_COLOR, label=translate("current"))
    ax.set_xticks(x, binned.labels, rotation=35 if len(x) > 2 else 0, ha="right" if len(x) > 2 else "center")
    label_axes(ax, title, xlabel, _("share of purchases (%)"))
    ax.set_ylim(0, max(ref.max(), cur.max()) * 1.3)  # room for the legend above the bars
    percent_axis(ax)


def feature_drift_figure(drift: FeatureDrift, max_features: int = 6) -> plt.Figure:
    """Reference against current per bin for the drifted features (else the largest PSI)."""
    table = drift.table.sort_values("psi", ascending=False)
    drifted = list(table.index[table["status"] != "ok"][:max_features]) or [table.index[0]]
    columns = min(2, len(drifted))
    rows = int(np.ceil(len(drifted) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(6.2 * columns, 3.9 * rows), squeeze=False)
    for ax, feature in zip(axes.flat, drifted, strict=False):
        r = table.loc[feature]
        _draw_binned(ax, drift.binned[feature],
                     fill("{feature}: PSI {psi:.4f} ({status})", feature=key_words(feature), psi=r.psi,
                          status=translate(r.status)),
                     feature_label(feature))
    for ax in list(axes.flat)[len(drifted):]:
        ax.set_visible(False)
    axes.flat[0].legend(loc="upper center", ncol=2)
    fig.tight_layout()
    return fig


def no_score_figure_text() -> str:
    """What the page shows instead of the score figure when there is no champion."""
    return _("No score figure: there is no champion to score with.")


def score_drift_figure(champion: ChampionCheck) -> plt.Figure:
    """The champion's fraud probabilities: reference against current per reference decile."""
    fig, ax = plt.subplots(figsize=(9.0, 4.2))
    _draw_binned(ax, champion.score_binned,
                 fill(_("Champion v{version} scores: PSI {psi:.4f} ({status})"),
                      version=champion.version, psi=champion.score_psi,
                      status=translate(champion.score_status)),
                 _("fraud probability (bins of the reference)"))
    ax.legend(loc="upper center", ncol=2)
    fig.tight_layout()
    return fig


def monitoring_history_figure(log: pd.DataFrame, psi_watch: float = 0.1,
                              psi_alert: float = 0.25) -> plt.Figure:
    """PSI (largest feature, champion's scores) and PR-AUC over the logged runs."""
    runs = np.arange(1, len(log) + 1)
    labelled = "pr_auc_now" in log and log["pr_auc_now"].notna().any()
    fig, axes = plt.subplots(1, 2 if labelled else 1, figsize=(12 if labelled else 8, 4.2),
                             squeeze=False)
    ax = axes[0, 0]
    ax.plot(runs, log["max_feature_psi"], "o-", color=REFERENCE_COLOR,
            label=_("largest feature PSI"))
    if "score_psi" in log and log["score_psi"].notna().any():
        ax.plot(runs, log["score_psi"], "s--", color=CURRENT_COLOR, label=_("champion score PSI"))
    for level, name in ((psi_watch, "watch"), (psi_alert, "alert")):
        ax.axhline(level, color=STATUS_COLORS[name], linestyle=":",
                   label=fill("{name} ({level:g})", name=translate(name), level=level))
    label_axes(ax, _("Drift over the monitoring runs"), _("monitoring run (oldest first)"), "PSI")
    ax.set_ylim(bottom=0)
    ax.legend(loc="best")
    if labelled:
        ax = axes[0, 1]
        for metric, name, color in (("pr_auc", "PR-AUC", CURRENT_COLOR), ("recall", "recall", REFERENCE_COLOR)):
            shown = translate(name)
            ax.plot(runs, log[f"{metric}_now"], "o-", color=color,
                    label=fill(_("{name} now"), name=shown))
            ax.plot(runs, log[f"{metric}_at_training"], "x:", color=color,
                    label=fill(_("{name} at training"), name=shown))
        label_axes(ax, _("Champion's performance on the current purchases"),
                   _("monitoring run (oldest first)"), _("PR-AUC, recall (0-1)"))
        ax.set_ylim(0, 1.05)
        ax.legend(loc="lower left", ncol=2)
    for ax in axes.flat:
        ax.set_xticks(runs)
    fig.tight_layout()
    return fig


def style_drift_table(drift: FeatureDrift):
    """Return the drift table for reading: PSI to 3 decimals, p-values in e-notation, colours."""
    formats = {"reference": "{:.3g}", "current": "{:.3g}", "psi": "{:.3f}",
               "js_distance": "{:.3f}", "statistic": "{:.3g}", "p_value": "{:.2e}"}
    return html_table(drift.table, formats, hide_index=False).map(
        lambda s: f"background-color: {STATUS_COLORS[s]}; color: white", subset=["status"])
