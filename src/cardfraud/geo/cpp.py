"""Common point of purchase (CPP): merchants where later-defrauded cards were used.

For each card with a fraud, its genuine purchases in the ``lookback_days`` before its first
fraud of the same kind are its exposures: onsite visits before its first onsite fraud (a
skimmed card is cloned and used in shops), online visits before its first online fraud
(leaked card data is used online). Per merchant and window of ``window_days`` (windows start every half window, so a
compromise of that length falls mostly inside one), the cards that used it (one count per
card) are compared with a day-matched expectation: a card's chance that its first fraud falls within
``lookback_days`` after one of its visits, read from the first-fraud times of all cards of the
same activity (purchases per card, in quintiles) over exactly the days it visited. Under no
compromise the merchant's defrauded-card count is a sum of independent Bernoulli draws with
those chances; a one-sided binomial test with their mean chance is conservative for it.
Benjamini-Hochberg q-values over every merchant and window keep the share of false suspects at
``fdr``. A second pass, a heuristic, then drops flagged windows whose excess is explained by
the cards of a stronger suspect (the shops next to a skimmed one): it only removes points from
the Benjamini-Hochberg list, the q-value reported is the first pass's, and what it does to the
false discovery rate is measured by the null runs of ``bench/bench_geo.py``, not proven.

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
    """Return each card's activity quintile (0-4) by its number of genuine purchases.

    Cards with as many purchases share a stratum (ties share their average rank).
    """
    counts = np.bincount(card, minlength=n_cards)
    ranks = pd.Series(counts).rank(method="average").to_numpy()
    return np.minimum((ranks - 1) * ACTIVITY_STRATA // max(n_cards, 1), ACTIVITY_STRATA - 1
                      ).astype(np.int64)


def stratum_first_frauds(first: np.ndarray, card_stratum: np.ndarray) -> list[tuple]:
    """Return per activity stratum its cards' first frauds (sorted) and its number of cards."""
    return [(np.sort(first[card_stratum == s]), int((card_stratum == s).sum()))
            for s in range(ACTIVITY_STRATA)]


def _first_fraud_cdf(members: list[tuple], stratum: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Return P(a card of the stratum has its first fraud by ``at``), per element.

    ``members`` is :func:`stratum_first_frauds`'s list; cards never defrauded (``inf``) may be
    left out of its sorted times, they count through the stratum's size.
    """
    out = np.zeros(len(at))
    for s, (times, size) in enumerate(members):
        rows = stratum == s
        if size:
            out[rows] = np.searchsorted(times, at[rows], side="right") / size
    return out


def card_unit_exposures(card, unit, days, first, card_stratum, lookback_days: float,
                        members: list[tuple] | None = None) -> dict:
    """Return per (card, unit) pair: observed (0/1) and expected chance of later fraud.

    A unit is a merchant in a window. Visits are sorted by pair and time. A pair is observed
    defrauded when one of its visits lies within ``lookback_days`` before the card's first
    fraud; its expected chance is the first-fraud probability mass over the union of
    ``(visit, visit + lookback]`` (the card's activity stratum's first-fraud times, ``members``:
    by default those of every card in ``first``).
    """
    if not unit.size:
        empty = np.zeros(0, dtype=np.int64)
        return {"days": np.zeros(0), "card": empty, "unit": empty, "hit": np.zeros(0, bool),
                "pair_unit": empty, "pair_card": empty, "pair_observed": np.zeros(0, bool),
                "pair_expected": np.zeros(0)}
    if members is None:
        members = stratum_first_frauds(first, card_stratum)
    n_units = int(unit.max()) + 1
    pair_key = card.astype(np.int64) * n_units + unit
    order = np.lexsort((days, pair_key))
    pair_key, days, card, unit = pair_key[order], days[order], card[order], unit[order]
    starts = np.flatnonzero(np.r_[True, pair_key[1:] != pair_key[:-1]])
    next_visit = np.r_[days[1:], np.inf]
    next_visit[starts[1:] - 1] = np.inf
    stratum = card_stratum[card]
    segment_end = np.minimum(days + lookback_days, next_visit)
    mass = (_first_fraud_cdf(members, stratum, segment_end)
            - _first_fraud_cdf(members, stratum, days))
    hit = (first[card] > days) & (first[card] <= days + lookback_days)
    return {"days": days, "card": card, "unit": unit, "hit": hit, "pair_unit": unit[starts],
            "pair_card": card[starts],
            "pair_observed": np.maximum.reduceat(hit, starts),
            "pair_expected": np.add.reduceat(mass, starts)}


def window_units(merchant: np.ndarray, days: np.ndarray, window_days: float):
    """Return (row index, unit) placing each visit in its two overlapping windows.

    Unit ``(merchant * 2 + shift) * blocks + block``: windows of ``window_days`` starting at 0
    (shift 0) and half a window earlier (shift 1).
    """
    blocks = int(np.ceil((days.max() if days.size else 0) / window_days)) + 2
    rows = np.r_[np.arange(len(days)), np.arange(len(days))]
    shift = np.r_[np.zeros(len(days), np.int64), np.ones(len(days), np.int64)]
    block = np.floor((days[rows] + shift * window_days / 2) / window_days).astype(np.int64)
    return rows, (merchant[rows].astype(np.int64) * 2 + shift) * blocks + block, blocks


def unit_tests(exposures: dict, blocks: int, min_defrauded: int = 1,
               fdr: float = 1.0) -> pd.DataFrame:
    """Return per testable unit: merchant, cards, later-defrauded, expected, p, q.

    A unit is testable when it could be flagged whatever its outcome: at least
    ``min_defrauded`` visiting cards, and a p-value below ``fdr`` reachable (all its cards
    defrauded). The choice uses only the visits and the expectation, never the frauds seen, so
    the q-values over the testable units still control the false discovery rate (Gilbert 2005).
    """
    unit = exposures["pair_unit"]
    size = int(unit.max()) + 1 if unit.size else 0
    cards = np.bincount(unit, minlength=size)
    observed = np.bincount(unit, weights=exposures["pair_observed"], minlength=size)
    expected = np.bincount(unit, weights=exposures["pair_expected"], minlength=size)
    return tests_of_units(np.arange(size), cards, observed, expected, blocks, min_defrauded, fdr)


def tests_of_units(units: np.ndarray, cards: np.ndarray, observed: np.ndarray,
                   expected: np.ndarray, blocks: int, min_defrauded: int = 1,
                   fdr: float = 1.0) -> pd.DataFrame:
    """Return :func:`unit_tests`'s table from per-unit cards, later-defrauded and expected.

    ``units`` (ascending) name the units the arrays describe; the Spark engine sums them on
    the executors and calls this with the units that have visits.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        chance = np.clip(expected / cards, 1e-12, 1 - 1e-12)
        reachable = cards * np.log(chance) < np.log(fdr) if fdr < 1 else cards > 0
    used = np.flatnonzero((cards >= max(min_defrauded, 1)) & reachable)
    chance = chance[used]
    p_values = np.clip(stats.binom.sf(observed[used] - 1, cards[used], chance), 0.0, 1.0)
    q_values = stats.false_discovery_control(p_values) if used.size else p_values
    return pd.DataFrame({"unit": units[used], "merchant": units[used] // (2 * blocks),
                         "cards": cards[used],
                         "cards_defrauded": observed[used].astype(np.int64),
                         "expected_defrauded": expected[used], "p_value": p_values,
                         "q_value": q_values})


def first_pass_flags(tests: pd.DataFrame, min_defrauded: int,
                     fdr: float) -> tuple[pd.DataFrame, float]:
    """Return the units Benjamini-Hochberg flags (with ``min_defrauded`` cards) and its cutoff."""
    rejected = tests["q_value"] <= fdr
    cutoff = float(tests.loc[rejected, "p_value"].max()) if rejected.any() else 0.0
    return tests[rejected & (tests["cards_defrauded"] >= min_defrauded)], cutoff


def best_tests(tests: pd.DataFrame) -> pd.DataFrame:
    """Return each merchant's most significant window, merchants in code order."""
    best = tests.sort_values("p_value", kind="stable").drop_duplicates("merchant")
    return best.sort_values("merchant").reset_index(drop=True)


def explain_away(flagged: pd.DataFrame, exposures: dict, blocks: int, cutoff: float,
                 min_defrauded: int, fdr: float = 0.05) -> pd.DataFrame:
    """Keep the flagged units that stay significant once stronger suspects' cards are set aside.

    Cards shopping at a skimmed shop also shop at its neighbours in the same days. From the
    most significant unit down, each unit is retested without the later-defrauded cards of
    other merchants' units that stayed below ``cutoff`` (the first pass's Benjamini-Hochberg
    threshold). The units kept are those whose retested p-values pass Benjamini-Hochberg at
    ``fdr`` among the flagged ones, with ``min_defrauded`` cards left.
    """
    in_flagged = np.isin(exposures["pair_unit"], flagged["unit"].to_numpy())
    pairs = pd.DataFrame({key: exposures[f"pair_{key}"][in_flagged]
                          for key in ("unit", "card", "observed", "expected")})
    by_unit = dict(tuple(pairs.groupby("unit")))
    explained: dict[int, set] = {}  # merchant -> later-defrauded cards of its strong units
    units, p_values, left = [], [], []
    for row in flagged.sort_values("p_value", kind="stable").itertuples(index=False):
        others = set().union(*(c for m, c in explained.items() if m != row.merchant))
        unit_pairs = by_unit[row.unit]
        unit_pairs = unit_pairs[~unit_pairs["card"].isin(others)]
        cards, observed = len(unit_pairs), int(unit_pairs["observed"].sum())
        chance = np.clip(unit_pairs["expected"].sum() / max(cards, 1), 1e-12, 1 - 1e-12)
        p_value = float(stats.binom.sf(observed - 1, cards, chance)) if cards else 1.0
        units.append(row.unit)
        p_values.append(p_value)
        left.append(observed)
        if p_value <= cutoff:
            defrauded = unit_pairs.loc[unit_pairs["observed"] > 0, "card"]
            explained.setdefault(row.merchant, set()).update(defrauded.tolist())
    if not units:
        return flagged
    q_values = stats.false_discovery_control(np.asarray(p_values))
    kept = [u for u, q, n in zip(units, q_values, left, strict=True)
            if q <= fdr and n >= min_defrauded]
    return flagged[flagged["unit"].isin(kept)]


def purchase_kinds(purchases: pd.DataFrame) -> list[np.ndarray]:
    """Return the row masks of each kind of exposure: onsite and online (one kind without).

    A skimmed card is cloned and used in shops; leaked online data is used online. Each kind
    of visit is matched with the first fraud of the same kind. An online purchase paid with a
    wallet token (``used_chip`` online) exposes no card number, so it is no exposure; its
    frauds still count as the card's online frauds.
    """
    if "online_order" not in purchases.columns:
        return [np.ones(len(purchases), dtype=bool)]
    online = purchases["online_order"].to_numpy() == 1
    return [~online, online]


def exposing(purchases: pd.DataFrame) -> np.ndarray:
    """Return True for purchases that could expose the card's data (not a wallet token)."""
    if {"online_order", "used_chip"} <= set(purchases.columns):
        return ~((purchases["online_order"].to_numpy() == 1)
                 & (purchases["used_chip"].to_numpy() == 1))
    return np.ones(len(purchases), dtype=bool)


def _windows(exposures: dict, flagged_units: np.ndarray, blocks: int) -> pd.DataFrame:
    """Return each suspect's window: first and last visit of a later-defrauded card."""
    rows = exposures["hit"] & np.isin(exposures["unit"], flagged_units)
    frame = pd.DataFrame({"merchant": exposures["unit"][rows] // (2 * blocks),
                          "days": exposures["days"][rows]})
    return frame.groupby("merchant")["days"].agg(window_start="min", window_end="max")


def _cards_in_windows(card, merchant, days, windows: pd.DataFrame,
                      last_fraud: np.ndarray) -> pd.DataFrame:
    """Return each (card, suspect) visited inside the window, with whether it is at risk."""
    rows = np.flatnonzero(np.isin(merchant, windows.index.to_numpy()))
    start = windows["window_start"].reindex(merchant[rows]).to_numpy()
    end = windows["window_end"].reindex(merchant[rows]).to_numpy()
    rows = rows[(days[rows] >= start) & (days[rows] <= end)]
    visits = pd.DataFrame({"card": card[rows], "merchant": merchant[rows], "days": days[rows]})
    pairs = visits.groupby(["merchant", "card"])["days"].agg(first_visit="min",
                                                             last_visit="max").reset_index()
    # at risk: no fraud since the first visit in the window
    pairs["at_risk"] = ~(last_fraud[pairs["card"].to_numpy()] > pairs["first_visit"].to_numpy())
    return pairs


def common_points_of_purchase(purchases: pd.DataFrame, lookback_days: float = 30.0,
                              fdr: float = 0.05, min_defrauded: int = 3,
                              window_days: float = 30.0) -> dict:
    """Return the CPP analysis: per-merchant tests, the suspects and the cards at risk.

    Returns:
        ``tests`` (each merchant's most significant window), ``suspects`` (merchant codes with
        a window of q-value at most ``fdr`` and at least ``min_defrauded`` later-defrauded
        cards), ``windows``, ``visits`` (cards that visited a suspect inside its window, with
        ``at_risk``), ``merchant_ids``, ``card_ids`` (code -> id), ``origin`` (day 0).
    """
    # a purchase with no card or no merchant (a raw extract may leave them empty) points nowhere
    purchases = purchases[purchases["card_id"].notna() & purchases["merchant_id"].notna()]
    card, card_ids = pd.factorize(purchases["card_id"], sort=True)
    merchant, merchant_ids = pd.factorize(purchases["merchant_id"], sort=True)
    days, origin = _days(purchases["timestamp"])
    fraud = purchases[TARGET].to_numpy() == 1
    last_fraud = np.full(len(card_ids), -np.inf)
    np.maximum.at(last_fraud, card[fraud], days[fraud])
    strata = activity_stratum(card[~fraud], len(card_ids))
    genuine = ~fraud & exposing(purchases)
    rows, unit, blocks = window_units(merchant[genuine], days[genuine], window_days)
    kinds = [kind[genuine][rows] for kind in purchase_kinds(purchases)]
    parts = []
    for kind_rows, kind in zip(kinds, purchase_kinds(purchases), strict=True):
        first = first_fraud_days(card[kind], days[kind], fraud[kind], len(card_ids))
        chosen = rows[kind_rows]
        parts.append(card_unit_exposures(card[genuine][chosen], unit[kind_rows],
                                         days[genuine][chosen], first, strata, lookback_days))
    exposures = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    tests = unit_tests(exposures, blocks, min_defrauded, fdr)
    flagged, cutoff = first_pass_flags(tests, min_defrauded, fdr)
    flagged = explain_away(flagged, exposures, blocks, cutoff, min_defrauded, fdr)
    suspects = np.unique(flagged["merchant"].to_numpy())
    windows = _windows(exposures, flagged["unit"].to_numpy(), blocks)
    visits = _cards_in_windows(card[genuine], merchant[genuine], days[genuine], windows,
                               last_fraud)
    return {"tests": best_tests(tests), "suspects": suspects,
            "windows": windows, "visits": visits, "merchant_ids": np.asarray(merchant_ids),
            "card_ids": np.asarray(card_ids), "origin": origin, "lookback_days": lookback_days,
            "fdr": fdr}
