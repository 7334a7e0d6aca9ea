"""Figures of the modeling step: PR/ROC curves, confusion matrices, cost curve, calibration,
permutation importance. Each function returns a matplotlib figure; the notebook saves and
shows it with :func:`cardfraud.report.figures.show_figure`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter
from sklearn.calibration import calibration_curve
from sklearn.metrics import precision_recall_curve, roc_curve

from ..report.figures import (
    FRAUD_COLOR,
    LEGITIMATE_COLOR,
    add_note,
    feature_label,
    label_axes,
    percent_axis,
)
from ..report.locale_format import fill, format_date, format_value
from ..report.markup import figure_text
from ..report.table_language import model_label
from ..report.translate import _, current_language, translate
from .metrics import TestEvaluation

CANDIDATE_COLORS = {"logistic_regression": "#4C72B0", "decision_tree": "#DD8452",
                    "hist_gradient_boosting": "#C8423B", "random_forest": "#55A868"}


def plot_pr_roc(test: TestEvaluation, best: str):
    """Return precision-recall and ROC curves of every candidate on the test set."""
    fig, (pr_ax, roc_ax) = plt.subplots(1, 2, figsize=(11, 4.6))
    for candidate, scores in test.scores.items():
        width = 2.6 if candidate == best else 1.3
        color = CANDIDATE_COLORS.get(candidate)
        precision, recall, _cuts = precision_recall_curve(test.fraud, scores)
        row = test.comparison.loc[candidate]
        pr_ax.plot(recall, precision, lw=width, color=color,
                   label=fill("{candidate} (PR-AUC {auc:.3f})", candidate=model_label(candidate),
                              auc=row["average_precision"]))
        false_alarm, caught, _cuts = roc_curve(test.fraud, scores)
        roc_ax.plot(false_alarm, caught, lw=width, color=color,
                    label=fill("{candidate} (ROC-AUC {auc:.3f})", candidate=model_label(candidate),
                               auc=row["roc_auc"]))
    base = float(np.mean(test.fraud))
    pr_ax.axhline(base, color="grey", ls=":", lw=1,
                  label=fill(_("fraud rate {rate:.2%} (no skill)"), rate=base))
    roc_ax.plot([0, 1], [0, 1], color="grey", ls=":", lw=1, label=_("no skill"))
    label_axes(pr_ax, _("Precision-recall on the test set"), _("recall (share of frauds caught)"),
               _("precision (share of alerts that are fraud)"))
    label_axes(roc_ax, _("ROC on the test set"),
               _("false-alarm rate (legitimate purchases flagged)"),
               _("recall (share of frauds caught)"))
    for ax in (pr_ax, roc_ax):
        percent_axis(ax, "x")
        percent_axis(ax, "y")
        ax.legend(loc="lower left" if ax is pr_ax else "lower right")
    add_note(fig, fill(_("Test set: {rows:,} transactions, never used in selection. Thick line: "
                         "the chosen model ({best})."), rows=len(test.fraud), best=model_label(best)))
    return fig


def plot_confusion_matrices(test: TestEvaluation):
    """Return each candidate's test confusion matrix at its own cost-minimising threshold."""
    names = list(test.comparison.index)
    fig, axes = plt.subplots(1, len(names), figsize=(3.3 * len(names), 3.4), squeeze=False)
    for ax, candidate in zip(axes[0], names, strict=True):
        row = test.comparison.loc[candidate]
        counts = np.array([[row["tn"], row["fp"]], [row["fn"], row["tp"]]], dtype=float)
        shares = counts / counts.sum(axis=1, keepdims=True)
        ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
        for (i, j), count in np.ndenumerate(counts):
            ax.text(j, i, f"{count:,.0f}\n{shares[i, j]:.1%}", ha="center", va="center",
                    color="white" if shares[i, j] > 0.6 else "black", fontsize=9)
        ax.set_xticks([0, 1], [_("not flagged"), _("alert")])
        ax.set_yticks([0, 1], [translate("legitimate"), translate("fraud")])
        ax.grid(False)
        ax.set_title(fill(_("{candidate}\nthreshold {threshold:.3f}"), candidate=model_label(candidate),
                          threshold=row["threshold"]), fontsize=10)
    fig.suptitle(_("Confusion matrices on the test set"), fontweight="bold")
    add_note(fig, _("Counts and share of each true class; each model at the threshold of least "
                    "expected cost on its validation scores."))
    fig.tight_layout()
    return fig


def plot_cost_curve(curve: pd.DataFrame, threshold: float, recall_threshold: float,
                    target_recall: float, candidate: str, rows: int, currency: str = "COP"):
    """Return expected cost per 1,000 transactions and recall against the alert threshold."""
    fig, ax = plt.subplots(figsize=(9, 4.8))
    shown = curve[curve["threshold"] <= 1.0]
    cost = 1000 * shown["expected_cost"] / rows / 1e6
    ax.plot(shown["threshold"], cost, color=FRAUD_COLOR, lw=2,
            label=_("expected cost per 1,000 transactions"))
    ax.axvline(threshold, color="black", lw=1.2,
               label=fill(_("least cost: {threshold:.3f}"), threshold=threshold))
    ax.axvline(recall_threshold, color="grey", ls="--", lw=1.2,
               label=fill(_("recall {recall:.0%}: {threshold:.3f}"), recall=target_recall,
                          threshold=recall_threshold))
    label_axes(ax, fill(_("Expected cost by alert threshold ({candidate}, validation data)"),
                        candidate=model_label(candidate)),
               _("alert threshold (fraud probability at or above which a purchase is reviewed)"),
               figure_text(fill(_("expected cost per 1,000 transactions (million {currency})"),
                                currency=currency)))
    ax.set_ylim(0, 1.4 * float(cost.max()))  # head room for the legend
    recall_ax = ax.twinx()
    recall_ax.plot(shown["threshold"], shown["recall"], color=LEGITIMATE_COLOR, lw=1.2,
                   alpha=0.8, label=_("recall (right axis)"))
    recall_ax.set_ylabel(_("recall (share of frauds caught)"))
    recall_ax.set_ylim(0, 1.4)
    recall_ax.set_yticks(np.linspace(0, 1, 6))
    percent_axis(recall_ax, "y")
    recall_ax.grid(False)
    handles = ax.get_legend_handles_labels()[0] + recall_ax.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="upper center", ncol=2)
    add_note(fig, fill(_("Out-of-fold scores of cross-validation ({rows:,} validation "
                         "transactions); cost = missed frauds + reviews."), rows=rows))
    return fig


def plot_calibration(test: TestEvaluation, candidate: str, bins: int = 10):
    """Return the calibration curve of a candidate: predicted P(fraud) against observed rate."""
    scores = test.scores[candidate]
    observed, predicted = calibration_curve(test.fraud, scores, n_bins=bins, strategy="uniform")
    fig, ax = plt.subplots(figsize=(6.2, 5))
    ax.plot([0, 1], [0, 1], color="grey", ls=":", lw=1, label=_("perfectly calibrated"))
    ax.plot(predicted, observed, marker="o", color=FRAUD_COLOR, lw=2, label=model_label(candidate))
    label_axes(ax, _("Calibration on the test set"), _("predicted fraud probability (bin mean)"),
               _("observed fraud rate in the bin"))
    percent_axis(ax, "x")
    percent_axis(ax, "y")
    ax.legend(loc="upper left")
    add_note(fig, fill(_("{bins} equal-width bins of predicted probability (empty bins left out), "
                         "{rows:,} test transactions."), bins=bins, rows=len(scores)))
    return fig


def plot_permutation_importance(table: pd.DataFrame, candidate: str, rows: int):
    """Return the drop in test PR-AUC when each input is shuffled (bars with spread)."""
    ordered = table.iloc[::-1]
    fig, ax = plt.subplots(figsize=(8.5, 4.2))
    ax.barh([feature_label(f) for f in ordered["feature"]], ordered["pr_auc_drop"],
            xerr=ordered["pr_auc_drop_std"], color=FRAUD_COLOR, alpha=0.85)
    label_axes(ax, fill(_("What the model relies on ({candidate})"), candidate=model_label(candidate)),
               _("drop in PR-AUC when shuffled"), "")
    add_note(fig, fill(_("Permutation importance on {rows:,} test transactions (stratified "
                         "sample), 3 shuffles per input; bars show mean and standard deviation."),
                       rows=rows))
    return fig


def plot_backtest(windows: pd.DataFrame, summary: pd.DataFrame, candidate: str,
                  label_delay_days: int):
    """Return PR-AUC and recall at the alert budget per weekly window, with their means."""
    fig, ax = plt.subplots(figsize=(9, 4.6))
    weeks = [format_date(start).rsplit(" de ", 1)[0] if current_language() != "en"
             else f"{start:%b %d}" for start in windows["test_start"]]
    positions = np.arange(len(windows))
    for measure, label, color in (("average_precision", "PR-AUC", FRAUD_COLOR),
                                  ("recall_at_budget", _("recall at the alert budget"),
                                   LEGITIMATE_COLOR)):
        ax.plot(positions, windows[measure], marker="o", lw=2, color=color, label=label)
        mean = summary.loc[measure, "mean"]
        ax.axhline(mean, color=color, ls="--", lw=1, label=fill(_("{label}: mean {mean:.3f}"), label=label, mean=mean))
    held_out = np.flatnonzero(windows["period"].to_numpy() == "held-out test")
    if len(held_out):
        ax.axvspan(held_out.min() - 0.4, held_out.max() + 0.4, color="grey", alpha=0.12,
                   label=_("held-out test period"))
    ax.set_xticks(positions, weeks)
    ax.set_ylim(0, 1.05)
    language = current_language()  # ticks are written when drawn: keep the figure's language
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: format_value(v, ".1f", language)))
    label_axes(ax, fill(_("Weekly backtest of {candidate}"), candidate=model_label(candidate)),
               _("test week (first day)"), _("PR-AUC / recall (0 to 1)"))
    ax.legend(loc="center", fontsize=8, ncol=2)  # the middle of the axis stays free
    add_note(fig, fill(_("Each week's model is fitted on the purchases before it, {days} days "
                         "of unknown labels left out; dashed lines: means over the windows."),
                       days=label_delay_days))
    return fig
