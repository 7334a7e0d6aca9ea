"""Bootstrap intervals: exact point estimates, seeded, narrowing with data, coverage, clusters."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from cardfraud.modeling.bootstrap import (
    bootstrap_candidates,
    bootstrap_intervals,
    interval_text,
    intervals_sentence,
)


def scored(rows: int, seed: int = 0, ties: bool = False):
    """Purchases with 10 % fraud and informative scores (rounded to 2 digits with ``ties``)."""
    rng = np.random.default_rng(seed)
    fraud = (rng.random(rows) < 0.1).astype(int)
    scores = np.clip(0.3 * rng.standard_normal(rows) + 0.4 * fraud + 0.3, 0, 1)
    return fraud, np.round(scores, 2) if ties else scores


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("by_card", [False, True])
def test_the_point_estimates_are_the_test_pr_auc_and_recall(ties, by_card):
    fraud, scores = scored(3000, ties=ties)
    cards = np.arange(3000) // 3 if by_card else None
    found = bootstrap_intervals(fraud, scores, cards, threshold=0.5, resamples=50)
    assert found["average_precision"]["estimate"] == pytest.approx(
        average_precision_score(fraud, scores), abs=1e-6)
    assert found["recall"]["estimate"] == pytest.approx(
        ((scores >= 0.5) & (fraud == 1)).sum() / fraud.sum())
    for interval in found.values():
        assert interval["low"] <= interval["estimate"] <= interval["high"]


def test_a_seed_gives_the_same_interval_and_another_seed_another():
    fraud, scores = scored(2000)
    cards = np.arange(2000) % 400
    first = bootstrap_intervals(fraud, scores, cards, 0.5, resamples=200, seed=3)
    assert first == bootstrap_intervals(fraud, scores, cards, 0.5, resamples=200, seed=3)
    assert first != bootstrap_intervals(fraud, scores, cards, 0.5, resamples=200, seed=4)


@pytest.mark.parametrize("by_card", [False, True])
def test_the_interval_narrows_with_more_purchases(by_card):
    widths = []
    for rows in (2000, 20000):
        fraud, scores = scored(rows, seed=1)
        cards = np.arange(rows) // 2 if by_card else None
        found = bootstrap_intervals(fraud, scores, cards, 0.5, resamples=300, seed=0)
        widths.append(found["average_precision"]["high"] - found["average_precision"]["low"])
    assert widths[1] < 0.5 * widths[0]  # about 1/sqrt(10) as wide


def test_the_recall_interval_covers_the_true_recall_about_95_times_in_100():
    true_recall, covered = 0.6, 0
    for seed in range(100):
        rng = np.random.default_rng(seed)
        fraud = np.r_[np.ones(200, int), np.zeros(800, int)]
        scores = np.where(fraud == 1, np.where(rng.random(1000) < true_recall, 0.9, 0.1),
                          rng.random(1000) * 0.6)
        found = bootstrap_intervals(fraud, scores, None, 0.5, resamples=300, seed=seed)
        covered += found["recall"]["low"] <= true_recall <= found["recall"]["high"]
    assert 88 <= covered <= 100


def test_drawing_cards_widens_the_interval_when_frauds_come_in_bursts():
    rng = np.random.default_rng(5)
    cards = np.repeat(np.arange(300), 10)  # 300 cards of 10 purchases
    defrauded = rng.random(300) < 0.3
    caught_card = rng.random(300) < 0.5  # a card's burst is caught whole or missed whole
    fraud = (defrauded[cards] & (rng.random(3000) < 0.6)).astype(int)
    scores = np.where(fraud == 1, np.where(caught_card[cards], 0.9, 0.2), rng.random(3000) * 0.5)
    by_card = bootstrap_intervals(fraud, scores, cards, 0.5, resamples=400)["recall"]
    one_by_one = bootstrap_intervals(fraud, scores, None, 0.5, resamples=400)["recall"]
    assert by_card["high"] - by_card["low"] > 1.8 * (one_by_one["high"] - one_by_one["low"])


def test_every_candidate_is_drawn_with_the_same_cards_and_the_page_says_it():
    fraud, scores = scored(1000)
    cards = np.arange(1000) % 100
    found = bootstrap_candidates(fraud, {"a": scores, "b": scores}, {"a": 0.5, "b": 0.5}, cards,
                                 resamples=100)
    assert found["a"] == found["b"]
    assert interval_text({"estimate": 0.9123, "low": 0.9051, "high": 0.9189}) == \
        "PR-AUC 0.912 (95 % CI 0.905-0.919)"
    sentence = intervals_sentence({"chosen_model": "a", "candidates": found, "unit": "cards",
                                   "resamples": 100, "clusters": 100})
    assert sentence.startswith("a: PR-AUC ") and "100 cards" in sentence


def test_test_purchases_without_a_card_are_drawn_as_their_own_cards():
    """An extract where some purchases have an empty card_id (the history is then left out)
    still gets its intervals: each such purchase is a card of its own."""
    import pandas as pd

    from cardfraud.modeling.bootstrap import cluster_codes

    frame = pd.DataFrame({"card_id": [1, 2, None, 1, None, 3]})
    codes = cluster_codes(frame, np.arange(6))
    assert codes.min() >= 0
    assert codes[0] == codes[3] and len(set(codes)) == 5
    fraud, scores = scored(600)
    cards = np.where(np.arange(600) % 7 == 0, np.nan, np.arange(600) // 3)
    clusters = cluster_codes(pd.DataFrame({"card_id": cards}), np.arange(600))
    found = bootstrap_intervals(fraud, scores, clusters, threshold=0.5, resamples=50)
    assert found["average_precision"]["estimate"] == pytest.approx(
        average_precision_score(fraud, scores), abs=1e-6)
