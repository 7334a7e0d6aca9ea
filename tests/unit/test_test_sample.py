"""The test sample's arithmetic (no Spark): the counts at a threshold give the measures that
the pandas functions compute from every row, and the cap decides when a sample is drawn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cardfraud.modeling.metrics import classification_metrics
from cardfraud.modeling.spark_test_sample import (
    counted_metrics,
    sampled_share,
    scaled_cards_reviewed,
    with_whole_period_counts,
)


def counts_of(fraud, score, threshold, amount=None) -> dict:
    """What threshold_counts counts on Spark, counted with numpy."""
    flagged = score >= threshold
    found = {"rows": len(fraud), "frauds": int(fraud.sum()), "flagged": int(flagged.sum()),
             "tp": int((flagged & (fraud == 1)).sum())}
    if amount is not None:
        found["missed_amount"] = float(amount[(fraud == 1) & ~flagged].sum())
    return found


@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.7, 1.01])
def test_counted_measures_equal_the_ones_from_every_row(threshold):
    rng = np.random.default_rng(5)
    fraud = (rng.random(5000) < 0.08).astype(int)
    score = np.clip(0.5 * fraud + 0.6 * rng.random(5000), 0, 1)
    amount = rng.gamma(2.0, 50_000.0, 5000)
    got = counted_metrics(counts_of(fraud, score, threshold, amount), 14, 300_000.0, 10_000.0)
    expected = classification_metrics(fraud, score, threshold)
    for name in ("accuracy", "precision", "recall", "f1", "tn", "fp", "fn", "tp"):
        assert got[name] == pytest.approx(expected[name], abs=1e-12), name
    flagged = int((score >= threshold).sum())
    missed = amount[(fraud == 1) & (score < threshold)].sum()
    assert got["alerts_per_day"] == pytest.approx(flagged / 14)
    assert got["expected_cost_per_1000"] == round(1000 * (missed + flagged * 10_000.0) / 5000)


def test_without_amounts_a_missed_fraud_costs_the_parameter():
    fraud, score = np.array([1, 1, 0, 0]), np.array([0.9, 0.1, 0.8, 0.2])
    got = counted_metrics(counts_of(fraud, score, 0.5), None, 300_000.0, 10_000.0)
    assert got["fn"] == 1 and got["fp"] == 1 and got["alerts_per_day"] is None
    assert got["expected_cost_per_1000"] == round(1000 * (300_000.0 + 2 * 10_000.0) / 4)


def test_the_cap_decides_the_sample():
    assert sampled_share(2_000_000, 2_000_000) is None
    assert sampled_share(4_000_000, 2_000_000) == 0.5
    assert sampled_share(15_600_000, None) == pytest.approx(2_000_000 / 15_600_000)
    with pytest.raises(ValueError, match="test_sample_rows must be at least 2, not 1"):
        sampled_share(10, 1)
    assert scaled_cards_reviewed(300, 0.1) == 30 and scaled_cards_reviewed(3, 0.01) == 1
    assert scaled_cards_reviewed(300, None) == 300 and scaled_cards_reviewed(None, 0.5) is None


def test_only_the_counted_columns_are_replaced():
    table = pd.DataFrame({"average_precision": [0.9, 0.8], "tp": [10, 20], "recall": [0.5, 0.6]},
                         index=["a", "b"])
    measures = dict.fromkeys(["accuracy", "precision", "f1", "tn", "fp", "fn",
                              "alerts_per_day", "expected_cost_per_1000"], 0)
    got = with_whole_period_counts(table, {"a": {**measures, "tp": 99, "recall": 0.25}})
    assert got.loc["a", "tp"] == 99 and got.loc["a", "recall"] == 0.25
    assert got.loc["b", "tp"] == 20 and list(got["average_precision"]) == [0.9, 0.8]
    assert table.loc["a", "tp"] == 10  # the sample's table is left as it was
