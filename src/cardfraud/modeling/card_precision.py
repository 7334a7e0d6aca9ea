"""Card precision@k per day: of the k cards the review team can check each day, how many were
really defrauded (the Fraud Detection Handbook's operational measure).

Each day, every card gets its highest fraud probability of that day; the k highest-scored cards
are reviewed; the day's card precision is the share of them with at least one fraud that day;
the measure is the mean over days. k is the team's daily capacity in cards, derived from the
alert budget: ``k = max(1, round(alert_budget x mean purchases per day))`` over the whole
extract, the same review volume the transaction-level budget gives on an average day.
Cards tied at the k-th score share the remaining places (each counts with the share of places
left), so the answer never depends on the order of the rows. A day with fewer than k cards
reviews them all and divides by their number. Unlike the Handbook, cards found defrauded on one
day are not taken out of the next days' ranking (a card is checked again when it scores high).
Needs ``card_id`` and ``timestamp``; without them the measure is absent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.schema import CARD_ID, TARGET
from ..report.locale_format import fill
from ..report.translate import _

K_RULE = "k = round(alert_budget x mean purchases per day), at least 1"


def has_cards_and_days(frame: pd.DataFrame) -> bool:
    """Whether the extract has what card precision@k needs: card ids and timestamps."""
    return CARD_ID in frame.columns and "timestamp" in frame.columns


def why_no_card_precision(frame: pd.DataFrame) -> str | None:
    """Return why card precision@k cannot be measured on this extract, or None when it can."""
    missing = [name for name in (CARD_ID, "timestamp") if name not in frame.columns]
    if not missing:
        return None
    return fill(_("Card precision@k is not measured: the extract has no {columns} column (it "
                  "ranks each day's cards)."), columns=_(" and no ").join(missing))


def cards_reviewed_per_day(frame: pd.DataFrame, alert_budget: float) -> int:
    """Return k, the cards the team can review a day: alert_budget x mean purchases a day."""
    days = pd.to_datetime(frame["timestamp"]).dt.floor("D").nunique()
    return max(1, int(round(float(alert_budget) * len(frame) / max(int(days), 1))))


def card_precision_at_k(fraud, scores, cards, days, k: int) -> float:
    """Return the mean over days of the share of the day's k top-scored cards with a fraud.

    Args:
        fraud: 0/1 per purchase.
        scores: the model's fraud probability per purchase.
        cards: the card of each purchase.
        days: the calendar day of each purchase.
        k: cards reviewed a day (at least 1).
    """
    if int(k) < 1:
        raise ValueError(f"modeling: card precision needs k >= 1, not {k}")
    purchases = pd.DataFrame({"day": np.asarray(days), "card": np.asarray(cards),
                              "score": np.asarray(scores, dtype=float),
                              "fraud": np.asarray(fraud).astype(int)})
    if purchases.empty:
        return float("nan")
    card_days = purchases.groupby(["day", "card"], sort=False).agg(
        score=("score", "max"), fraud=("fraud", "max"))
    card_days = card_days.reset_index().sort_values(["day", "score"], ascending=[True, False],
                                                    kind="stable")
    score, fraud = card_days["score"].to_numpy(), card_days["fraud"].to_numpy()
    starts, cards_a_day = np.unique(card_days["day"].to_numpy(), return_index=True,
                                    return_counts=True)[1:]
    reviewed = np.minimum(cards_a_day, int(k))
    kth_score = np.repeat(score[starts + reviewed - 1], cards_a_day)
    above, tied = score > kth_score, score == kth_score
    per_day = {name: np.add.reduceat(values.astype(float), starts) for name, values in
               {"above": above, "tied": tied, "fraud_above": above * fraud,
                "fraud_tied": tied * fraud}.items()}
    share_of_tied = (reviewed - per_day["above"]) / per_day["tied"]  # places left for the tie
    caught = per_day["fraud_above"] + share_of_tied * per_day["fraud_tied"]
    return float(np.mean(caught / reviewed))


def card_precision_of_rows(frame: pd.DataFrame, rows, scores, k: int | None) -> float | None:
    """Return card precision@k of some purchases of ``frame`` (positions ``rows``) scored
    ``scores``; None when the extract lacks card ids or timestamps (``k`` None)."""
    if k is None or not has_cards_and_days(frame):
        return None
    part = frame.iloc[rows]
    return card_precision_at_k(part[TARGET].to_numpy(), scores, part[CARD_ID].to_numpy(),
                               pd.to_datetime(part["timestamp"]).dt.floor("D").to_numpy(), k)


def card_precision_note(frame: pd.DataFrame, k: int | None, alert_budget: float,
                        purchases: int | None = None, days: int | None = None) -> str:
    """Say how k was derived and what card precision@k measures (or why it is absent).

    ``purchases`` and ``days`` (the extract's purchases and calendar days) are counted from
    ``frame`` when not given (a Spark run gives them, counted on the executors).
    """
    if k is None:
        return why_no_card_precision(frame) or _("Card precision@k is not measured.")
    if days is None:
        days = pd.to_datetime(frame["timestamp"]).dt.floor("D").nunique()
    purchases = len(frame) if purchases is None else purchases
    return fill(_("Card precision@k: each day the review team checks the k = {k:,} cards with "
                  "the highest fraud probability that day; the column card_precision_at_k is the "
                  "share of them with a fraud that day, averaged over the test days. k = "
                  "round(alert_budget {budget:g} % x {per_day:,.0f} purchases a day on average "
                  "over the {days} days of the data), the same number of reviews as the "
                  "transaction-level budget on an average day."),
                k=k, budget=100 * alert_budget, per_day=purchases / max(days, 1), days=days)
