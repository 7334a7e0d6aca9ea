"""Common point of purchase (CPP): merchants where later-defrauded cards were used.

For each card with a fraud, its genuine purchases in the ``lookback_days`` before its first
fraud are its exposures. Per merchant, the cards that used it (one count per card) are compared
with a day-matched expectation: a card's chance that its first fraud falls within
``lookback_days`` after one of its visits, read from the first-fraud times of all cards of the
same activity (purchases per card, in quintiles) over exactly the days it visited. Under no
compromise the merchant's defrauded-card count is a sum of independent Bernoulli draws with
those chances; a one-sided binomial test with their mean chance is conservative for it.
Benjamini-Hochberg q-values over every merchant keep the share of false suspects at ``fdr``.

The window of a suspected point runs from the first to the last visit of a card later
defrauded; the cards that visited it inside the window and show no fraud since are the cards
at risk (the reissue list).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..data.schema import TARGET

SECONDS_PER_DAY = 86400.0
ACTIVITY_STRATA = 5


def _days(timestamps: pd.Series) -> tuple[np.ndarray, pd.Timestamp]:
    """Return times as float days since the first purchase, and that first purchase."""
    origin = timestamps.min()
    return (timestamps - origin).dt.total_seconds().to_numpy() / SECONDS_PER_DAY, origin


def first_fraud_days(card: np.ndarray, days: np.ndarray, fraud: np.ndarray,
                     n_cards: int) -> np.ndarray:
    """Return each card's first fraud (days), ``inf`` for cards never defrauded."""
    first = np.full(n_cards, np.inf)
    np.minimum.at(first, card[fraud], days[fraud])
    return first


def activity_stratum(card: np.ndarray, n_cards: int) -> np.ndarray:
    """Return each card's activity quintile (0-4) by its number of purchases."""
    counts = np.bincount(card, minlength=n_cards)
    ranks = pd.Series(counts).rank(method="first").to_numpy()
    return np.minimum((ranks - 1) * ACTIVITY_STRATA // max(n_cards, 1), ACTIVITY_STRATA - 1
                      ).astype(np.int64)


def _first_fraud_cdf(first: np.ndarray, stratum: np.ndarray, card_stratum: np.ndarray,
                     at: np.ndarray) -> np.ndarray:
    """Return P(a card of the stratum has its first fraud by ``at``), per element."""
    out = np.zeros(len(at))
    for s in range(ACTIVITY_STRATA):
        members = np.sort(first[card_stratum == s])
        rows = stratum == s
        if members.size:
            out[rows] = np.searchsorted(members, at[rows], side="right") / members.size
    return out


def card_merchant_exposures(card, merchant, days, first, card_stratum, lookback_days: float):
    """Return per (card, merchant) pair: observed (0/1) and expected chance of later fraud.

    Visits are the genuine purchases, sorted by pair and time. A pair is observed defrauded when
    one of its visits lies within ``lookback_days`` before the card's first fraud; its expected
    chance is the first-fraud probability mass over the union of ``(visit, visit + lookback]``.
    Returns a dict of per-visit arrays (sorted) and per-pair arrays.
    """
    n_merchants = int(merchant.max()) + 1 if merchant.size else 1
    pair_key = card.astype(np.int64) * n_merchants + merchant
    order = np.lexsort((days, pair_key))
    pair_key, days, card, merchant = pair_key[order], days[order], card[order], merchant[order]
    starts = np.flatnonzero(np.r_[True, pair_key[1:] != pair_key[:-1]])
    next_visit = np.r_[days[1:], np.inf]
    next_visit[starts[1:] - 1] = np.inf
    next_visit[-1:] = np.inf
    stratum = card_stratum[card]
    segment_end = np.minimum(days + lookback_days, next_visit)
    mass = (_first_fraud_cdf(first, stratum, card_stratum, segment_end)
            - _first_fraud_cdf(first, stratum, card_stratum, days))
    hit = (first[card] > days) & (first[card] <= days + lookback_days)
    return {"order": order, "days": days, "card": card, "merchant": merchant, "hit": hit,
            "pair_start": starts, "pair_card": card[starts], "pair_merchant": merchant[starts],
            "pair_observed": np.maximum.reduceat(hit, starts) if starts.size else hit,
            "pair_expected": np.add.reduceat(mass, starts) if starts.size else mass}


def merchant_tests(exposures: dict, n_merchants: int) -> pd.DataFrame:
    """Return per merchant: visiting cards, later-defrauded cards, expected, p-value, q-value."""
    pair_merchant = exposures["pair_merchant"]
    cards = np.bincount(pair_merchant, minlength=n_merchants)
    observed = np.bincount(pair_merchant, weights=exposures["pair_observed"],
                           minlength=n_merchants).astype(np.int64)
    expected = np.bincount(pair_merchant, weights=exposures["pair_expected"],
                           minlength=n_merchants)
    used = np.flatnonzero(cards > 0)
    chance = np.clip(expected[used] / cards[used], 1e-12, 1 - 1e-12)
    p_values = np.clip(stats.binom.sf(observed[used] - 1, cards[used], chance), 0.0, 1.0)
    q_values = stats.false_discovery_control(p_values) if used.size else p_values
    return pd.DataFrame({"merchant": used, "cards": cards[used], "cards_defrauded": observed[used],
                         "expected_defrauded": expected[used], "p_value": p_values,
                         "q_value": q_values})


def _windows(exposures: dict, suspects: np.ndarray) -> pd.DataFrame:
    """Return the window (first and last visit of a later-defrauded card) of each suspect."""
    hit_rows = exposures["hit"] & np.isin(exposures["merchant"], suspects)
    frame = pd.DataFrame({"merchant": exposures["merchant"][hit_rows],
                          "days": exposures["days"][hit_rows]})
    return frame.groupby("merchant")["days"].agg(window_start="min", window_end="max")


def _cards_in_windows(exposures: dict, windows: pd.DataFrame,
                      last_fraud: np.ndarray) -> pd.DataFrame:
    """Return each (card, suspect) visit in the window, with whether the card is at risk."""
    merchant, days = exposures["merchant"], exposures["days"]
    rows = np.flatnonzero(np.isin(merchant, windows.index.to_numpy()))
    start = windows["window_start"].reindex(merchant[rows]).to_numpy()
    end = windows["window_end"].reindex(merchant[rows]).to_numpy()
    rows = rows[(days[rows] >= start) & (days[rows] <= end)]
    visits = pd.DataFrame({"card": exposures["card"][rows], "merchant": merchant[rows],
                           "days": days[rows]})
    pairs = visits.groupby(["merchant", "card"])["days"].agg(first_visit="min",
                                                             last_visit="max").reset_index()
    card = pairs["card"].to_numpy()
    # defrauded since the visit: a fraud after it (the later-defrauded cards are among these)
    pairs["at_risk"] = ~(last_fraud[card] > pairs["first_visit"].to_numpy())
    return pairs


def common_points_of_purchase(purchases: pd.DataFrame, lookback_days: float = 30.0,
                              fdr: float = 0.05, min_defrauded: int = 3) -> dict:
    """Return the CPP analysis: per-merchant tests, the suspects and the cards at risk.

    Returns:
        ``tests`` (every merchant), ``suspects`` (merchant codes flagged: q-value at most
        ``fdr`` and at least ``min_defrauded`` later-defrauded cards), ``windows``,
        ``visits`` (cards that visited a suspect inside its window, with ``at_risk``),
        ``merchant_ids``, ``card_ids`` (code -> id) and ``origin`` (the time of day 0).
    """
    card, card_ids = pd.factorize(purchases["card_id"], sort=True)
    merchant, merchant_ids = pd.factorize(purchases["merchant_id"], sort=True)
    days, origin = _days(purchases["timestamp"])
    fraud = purchases[TARGET].to_numpy() == 1
    first = first_fraud_days(card, days, fraud, len(card_ids))
    last_fraud = np.full(len(card_ids), -np.inf)
    np.maximum.at(last_fraud, card[fraud], days[fraud])
    genuine = ~fraud
    exposures = card_merchant_exposures(card[genuine], merchant[genuine], days[genuine], first,
                                        activity_stratum(card, len(card_ids)), lookback_days)
    tests = merchant_tests(exposures, len(merchant_ids))
    flagged = (tests["q_value"] <= fdr) & (tests["cards_defrauded"] >= min_defrauded)
    suspects = tests.loc[flagged, "merchant"].to_numpy()
    windows = _windows(exposures, suspects)
    visits = _cards_in_windows(exposures, windows, last_fraud)
    return {"tests": tests, "suspects": suspects, "windows": windows, "visits": visits,
            "merchant_ids": np.asarray(merchant_ids), "card_ids": np.asarray(card_ids),
            "origin": origin, "lookback_days": lookback_days, "fdr": fdr}
