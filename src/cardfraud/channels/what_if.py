"""What mandatory authentication would have met: chip and PIN onsite, PIN online.

A rule needs the inputs it tests (``used_chip``, ``used_pin_number``); on an extract that
lacks one, the rule's row carries no rate, only what is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data.schema import TARGET, unknown_input_text
from ..eda.headlines import purchase_channel, wilson_interval


@dataclass(frozen=True)
class RuleCounts:
    """Purchases and frauds of one channel with and without a rule's authentication."""

    with_purchases: int
    with_frauds: int
    without_purchases: int
    without_frauds: int


def _rule_row(rule: str, channel: str, authenticated: np.ndarray, fraud: np.ndarray,
              all_frauds: int) -> dict:
    """Return the what-if numbers of one mandatory-authentication rule in one channel."""
    without = ~authenticated
    return rule_row(rule, channel, RuleCounts(
        int(authenticated.sum()), int(fraud[authenticated].sum()), int(without.sum()),
        int(fraud[without].sum())), all_frauds)


def rule_row(rule: str, channel: str, counts: RuleCounts, all_frauds: int) -> dict:
    """Return the what-if numbers of one rule in one channel from its counts."""
    frauds = counts.with_frauds + counts.without_frauds
    legitimate = counts.with_purchases + counts.without_purchases - frauds
    rates = {}
    for label, n, f in (("with", counts.with_purchases, counts.with_frauds),
                        ("without", counts.without_purchases, counts.without_frauds)):
        low, high = wilson_interval(f, n)
        rates[f"fraud rate {label}"] = f / n if n else np.nan
        rates[f"95% CI {label}"] = f"{float(low):.2%}–{float(high):.2%}" if n else "–"
    return {"rule": rule, "channel": channel,
            "purchases": counts.with_purchases + counts.without_purchases, **rates,
            "frauds": frauds, "frauds without it": counts.without_frauds,
            "share of channel fraud met": counts.without_frauds / max(frauds, 1),
            "share of all fraud met": counts.without_frauds / max(all_frauds, 1),
            "share of legitimate challenged":
                (counts.without_purchases - counts.without_frauds) / max(legitimate, 1)}


def authentication_what_if(transactions: pd.DataFrame) -> pd.DataFrame:
    """Return fraud rates with vs without authentication and what a mandatory rule would meet.

    Rules: chip and PIN mandatory onsite; PIN (one-time code) mandatory online. "Met" is the
    share of fraud that lacked the authentication and so would have been challenged.
    A rule whose inputs the extract lacks is not evaluated: its row carries no number,
    only ``unknown: the extract has no used_chip`` (never a rate computed from zeros).
    """
    channel = purchase_channel(transactions)
    fraud = transactions[TARGET].to_numpy()
    onsite, online = channel == "onsite", channel == "online"
    all_frauds = int(fraud.sum())
    rows = []
    for rule, where, needs in WHAT_IF_RULES:
        missing = [name for name in needs if name not in transactions]
        mask = onsite if where == "onsite" else online
        if missing:
            rows.append(unknown_rule_row(rule, where, int(mask.sum()), missing))
            continue
        authenticated = np.logical_and.reduce([transactions[n].to_numpy() == 1 for n in needs])
        rows.append(_rule_row(rule, where, authenticated[mask], fraud[mask], all_frauds))
    return what_if_table(rows)


def what_if_table(rows: list[dict]) -> pd.DataFrame:
    """Return the what-if table from one row per rule (rules not evaluated say why)."""
    table = pd.DataFrame(rows)
    if "unknown" in table:
        table["unknown"] = table["unknown"].fillna("")
    return table


WHAT_IF_RULES = [("chip and PIN mandatory", "onsite", ("used_chip", "used_pin_number")),
                 ("PIN mandatory", "online", ("used_pin_number",))]


def unknown_rule_row(rule: str, channel: str, purchases: int, missing: list[str]) -> dict:
    """The what-if row of a rule the extract cannot evaluate: every number is unknown."""
    text = "; ".join(unknown_input_text(name) for name in missing)
    return {"rule": rule, "channel": channel, "purchases": purchases, "unknown": text}
