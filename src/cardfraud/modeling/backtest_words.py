"""The weekly backtest in words: what it did and how to read it, in the page's language."""

from __future__ import annotations

import pandas as pd

from ..report.locale_format import fill
from ..report.table_language import model_label
from ..report.translate import _


def backtest_note(windows: pd.DataFrame, settings: dict, short: str = "") -> str:
    """Return what the backtest did and how to read it, in words."""
    held_out = int(windows["period"].isin(["held-out test", "both"]).sum())
    mean, std = windows["average_precision"].mean(), windows["average_precision"].std(ddof=1)
    spread = fill(" ± {std:.3f}", std=std) if pd.notna(std) else ""
    cap = settings["train_rows_cap"]
    return " ".join(filter(None, [
        fill(_("{windows} weekly windows: each is scored by {candidate} (its chosen settings, "
               "resampling {resampling}) refitted on the purchases before it, leaving a "
               "{delay}-day gap whose fraud labels are not known yet"), windows=len(windows),
             candidate=model_label(settings["candidate"]), resampling=settings["resampling"],
             delay=settings["label_delay_days"])
        + (fill(_(", on at most {cap:,} training purchases (every fraud kept up to half of "
                  "them)"), cap=cap) if cap else "") + ".",
        fill(_("PR-AUC per window {mean:.3f}{spread} (mean ± standard deviation)."), mean=mean,
             spread=spread),
        (_("The last window lies in the held-out test period; the others lie in the training "
           "period, where cross-validation chose the settings, so they may be slightly "
           "optimistic.") if held_out == 1 else
         fill(_("The last {windows} windows lie in the held-out test period; the others lie in "
                "the training period, where cross-validation chose the settings, so they may be "
                "slightly optimistic."), windows=held_out))
        if held_out else "", short]))


def no_backtest_figure_text(note: str) -> str:
    """Say why the page shows no backtest figure (the backtest's own note), in the page's language."""
    return fill(_("No backtest figure: {note}"), note=note)
