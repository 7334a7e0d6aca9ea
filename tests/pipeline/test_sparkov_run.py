"""End to end: a Sparkov-style synthetic dataset (card number, date-time, merchant, category,
amount, home and merchant coordinates, fraud flag; online from categories ending in ``_net``;
no chip, no PIN) runs through every step with load.columns and load.codes, and the chip and PIN
analyses say they are unknown."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import run_all

from cardfraud.runner.steps import discover_steps

pytestmark = pytest.mark.slow

CATEGORIES = ["grocery_pos", "gas_transport", "shopping_pos", "shopping_net", "misc_net",
              "grocery_net", "entertainment", "food_dining"]
COLUMNS = ("{card_id: cc_num, timestamp: trans_date_trans_time, merchant_id: merchant, "
           "amount: amt, latitude: merch_lat, longitude: merch_long, home_latitude: lat, "
           "home_longitude: long, fraud: is_fraud}")


def sparkov_extract(rows: int = 6000, cards: int = 150, seed: int = 5) -> pd.DataFrame:
    """A Sparkov-shaped file: each card's purchases in time order; fraud online, far, large."""
    rng = np.random.default_rng(seed)
    card = rng.integers(0, cards, rows)
    numbers = 4_000_000_000_000_000 + np.arange(cards) * 7919
    seconds = np.sort(rng.uniform(0, 60 * 86400, rows))
    home_lat, home_long = rng.uniform(3.5, 7.0, cards), rng.uniform(-76.5, -73.0, cards)
    category = rng.choice(CATEGORIES, rows)
    online = pd.Series(category).str.endswith("_net").to_numpy()
    far = rng.random(rows) < 0.15
    merch_lat = home_lat[card] + rng.normal(0, 0.02, rows) + far * rng.uniform(1, 2, rows)
    merch_long = home_long[card] + rng.normal(0, 0.02, rows) + far * rng.uniform(1, 2, rows)
    amount = np.round(rng.lognormal(3.5, 0.8, rows), 2)
    risk = 0.005 + 0.05 * online + 0.15 * far + 0.2 * (amount > 120)
    fraud = (rng.random(rows) < risk).astype(int)
    amount = np.where(fraud == 1, amount * 3, amount).round(2)
    start = pd.Timestamp("2024-03-01")
    return pd.DataFrame({
        "trans_date_trans_time": (start + pd.to_timedelta(seconds, unit="s")).strftime(
            "%Y-%m-%d %H:%M:%S"),
        "cc_num": numbers[card], "merchant": [f"fraud_Shop {m}" for m in
                                               rng.integers(0, 300, rows)],
        "category": category, "amt": amount, "lat": home_lat[card].round(4),
        "long": home_long[card].round(4), "merch_lat": merch_lat.round(6),
        "merch_long": merch_long.round(6), "is_fraud": fraud})


@pytest.fixture(scope="module")
def sparkov_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sparkov")
    extract = folder / "fraudTrain.csv"
    sparkov_extract().to_csv(extract, index=True, index_label="")  # Sparkov's unnamed index
    out = folder / "out"
    done = run_all("--set", f"load.path={extract}", "--set", f"load.columns={COLUMNS}",
                   "--set", "load.codes={online_category_suffix: _net}",
                   "--set", f"common.tracking_uri=sqlite:///{folder}/mlflow.db",
                   "--output", str(out), "--no-render")
    return out, done


def test_sparkov_runs_every_step_without_chip_and_pin(sparkov_run):
    out, done = sparkov_run
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    record = json.loads((out / "run.json").read_text())
    assert [s["status"] for s in record["steps"]] == ["ok"] * len(discover_steps())
    assert record["data"]["source"] == "raw"
    assert record["load"]["inputs_unknown"] == ["used_chip", "used_pin_number"]
    base = ["distance_from_home", "distance_from_last_transaction",
            "ratio_to_median_purchase_price", "repeat_retailer", "online_order"]
    assert record["modeling"]["feature_sets"]["base"] == base  # cards and times: history too
    assert record["modeling"]["model_inputs"][:5] == base
    assert "purchases_last_24h" in record["modeling"]["feature_sets"]["base+history"]
    assert record["eda"]["fraud_rate_with_chip"] is None
    assert record["eda"]["fraud_rate_by_channel"]["online"] > \
        record["eda"]["fraud_rate_by_channel"]["onsite"]


@pytest.mark.parametrize("notebook", ["02_eda", "04_channel_simulation", "08_summary"])
def test_sparkov_pages_say_chip_and_pin_are_unknown(sparkov_run, notebook):
    page = next(sparkov_run[0].glob(f"**/{notebook}.ipynb")).read_text(encoding="utf-8")
    assert "unknown: the extract has no used_pin_number" in page
    assert "With PIN" not in page and "would have met" not in page
