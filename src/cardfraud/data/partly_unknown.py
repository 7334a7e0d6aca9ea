"""Inputs unknown on some purchases (a card with no home in the cardholder file).

The data keeps such values empty (NaN); the pages use the known values and say how many
purchases have the input unknown, never filling them in.
"""

from __future__ import annotations

import pandas as pd

from .schema import FEATURES

WHY = {"distance_from_home": "cards with no home",
       "distance_from_last_transaction": "first purchase of a card with no home"}


def unknown_counts(frame: pd.DataFrame, columns: list[str] | None = None) -> dict[str, int]:
    """Return, per input unknown on some purchases, how many purchases have it empty."""
    columns = [c for c in (FEATURES if columns is None else columns) if c in frame]
    counts = frame[columns].isna().sum()
    return {name: int(n) for name, n in counts.items() if n}


def unknown_note(counts: dict[str, int]) -> str:
    """One sentence: each input unknown on N purchases (and why), left out of what is shown."""
    if not counts:
        return ""
    parts = [f"{name} unknown on {n:,} purchases" + (f" ({WHY[name]})" if name in WHY else "")
             for name, n in counts.items()]
    return "; ".join(parts) + ": those purchases are left out where the input is used."
