"""Card precision@k per day against hand-computed answers: one day, ties, several days."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cardfraud.modeling.card_precision import (
    card_precision_at_k,
    card_precision_note,
    cards_reviewed_per_day,
    why_no_card_precision,
)


def test_one_day_takes_each_cards_highest_score_and_the_top_k_cards():
    # card A: 0.9 (legit) and 0.2 (fraud) -> max 0.9, defrauded; B: 0.8 legit; C: 0.7 fraud;
    # D: 0.1 fraud (not in the top 3)
    cards = ["A", "A", "B", "C", "D"]
    scores = [0.9, 0.2, 0.8, 0.7, 0.1]
    fraud = [0, 1, 0, 1, 1]
    assert card_precision_at_k(fraud, scores, cards, ["d1"] * 5, k=3) == pytest.approx(2 / 3)
    assert card_precision_at_k(fraud, scores, cards, ["d1"] * 5, k=1) == 1.0
    assert card_precision_at_k(fraud, scores, cards, ["d1"] * 5, k=2) == 0.5


def test_cards_tied_at_the_kth_score_share_the_places_left():
    # k=2: A (0.9, fraud) is in; B, C, D tie at 0.5 for the 1 place left, one of them fraud
    cards, scores, fraud = ["A", "B", "C", "D"], [0.9, 0.5, 0.5, 0.5], [1, 1, 0, 0]
    assert card_precision_at_k(fraud, scores, cards, [0] * 4, k=2) == pytest.approx(
        (1 + 1 / 3) / 2)
    shuffled = [3, 1, 0, 2]  # the answer does not depend on the order of the rows
    assert card_precision_at_k(np.take(fraud, shuffled), np.take(scores, shuffled),
                               np.take(cards, shuffled), [0] * 4, k=2) == pytest.approx(2 / 3)


def test_the_measure_is_the_mean_over_days_and_a_small_day_reviews_all_its_cards():
    days = ["d1"] * 4 + ["d2"] * 3 + ["d3"]
    cards = ["A", "B", "C", "D", "A", "B", "C", "E"]
    scores = [0.9, 0.8, 0.1, 0.2, 0.3, 0.95, 0.9, 0.4]
    fraud = [1, 1, 0, 0, 0, 0, 1, 0]
    # k=2: d1 -> A, B both fraud (1.0); d2 -> B, C, one fraud (0.5); d3 -> only E (0.0)
    assert card_precision_at_k(fraud, scores, cards, days, k=2) == pytest.approx(0.5)


def test_k_comes_from_the_alert_budget_and_the_purchases_a_day():
    stamps = pd.date_range("2024-01-01", periods=1000, freq="144min")  # 10 a day, 100 days
    frame = pd.DataFrame({"timestamp": stamps, "card_id": 1, "fraud": 0})
    assert cards_reviewed_per_day(frame, 0.25) == 2  # round(0.25 * 10) = 2 (2.5 rounds to 2)
    assert cards_reviewed_per_day(frame, 0.01) == 1  # at least one card
    assert "k = 2 cards" in card_precision_note(frame, 2, 0.25)


def test_without_card_ids_or_timestamps_the_page_says_why():
    assert why_no_card_precision(pd.DataFrame({"card_id": [1]})) == (
        "Card precision@k is not measured: the extract has no timestamp column (it ranks each "
        "day's cards).")
    assert "no card_id and no timestamp" in card_precision_note(pd.DataFrame({"x": [1]}),
                                                                 None, 0.01)
    assert why_no_card_precision(pd.DataFrame({"card_id": [1], "timestamp": [1]})) is None
