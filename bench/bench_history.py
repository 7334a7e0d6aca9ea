"""Time the card-history features (issue 15) on simulated purchases, feature group by group.

Simulates ``--rows`` purchases (not timed), shuffles them (the function must not rely on the
file's order), then times each group of features through the module's own helpers, the whole
``card_history_features`` and ``history_features_for`` of the last day's purchases given the
rest; prints seconds per group and the peak resident memory of this process.
Target: 1,000,000 purchases in at most 15 s.

    .venv/bin/python bench/bench_history.py                  # 1,000,000 purchases
"""

from __future__ import annotations

import argparse
import resource

import pandas as pd
from timing import PhaseTimer

from cardfraud.modeling import history
from cardfraud.modeling.history_windows import SortedWindows, group_codes, timestamp_nanoseconds

timed = PhaseTimer(width=44)


def time_groups(purchases: pd.DataFrame) -> None:
    """Time each feature group on its own (the steps card_history_features chains)."""
    with timed("sort by card and time"):
        times = timestamp_nanoseconds(purchases["timestamp"])
        cards = SortedWindows(group_codes(purchases["card_id"]), times)
    with timed("purchases in the last 1 h / 24 h / 7 d"):
        history._card_counts(cards)
    with timed("amount to the card's 7 d / 30 d mean"):
        history._amount_ratios(cards, purchases["amount"].to_numpy(dtype="float64"))
    with timed("minutes since the previous purchase"):
        history._minutes_since_previous(cards)
    with timed("speed from the previous purchase"):
        history._speed_from_previous(cards, purchases["latitude"].to_numpy(dtype="float64"),
                                     purchases["longitude"].to_numpy(dtype="float64"))
    with timed("hour of day"):
        pd.to_datetime(purchases["timestamp"]).dt.hour.to_numpy()
    merchants = group_codes(purchases["merchant_id"])
    with timed("first purchase at the merchant"):
        history._first_at_merchant(cards, merchants, times)
    with timed("merchant fraud rate (30 d, 7 d delay)"):
        history._merchant_fraud_rate(merchants, times, purchases["fraud"], 7.0)
    timed.print_total()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print seconds per feature group and the peak memory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    from cardfraud.simulator.simulate import simulate

    purchases = simulate(rows=args.rows, seed=args.seed).sample(frac=1.0, random_state=args.seed)
    print(f"{len(purchases):,} purchases, {purchases['card_id'].nunique():,} cards, "
          f"{purchases['merchant_id'].nunique():,} merchants")
    time_groups(purchases)
    with timed("card_history_features (all ten, one call)"):
        features = history.card_history_features(purchases)
    last_day = purchases["timestamp"] > purchases["timestamp"].max() - pd.Timedelta(days=1)
    with timed(f"history_features_for ({last_day.sum():,} new)"):
        history.history_features_for(purchases[last_day].drop(columns="fraud"),
                                     purchases[~last_day])
    print(f"features: {features.shape[1]} columns, NaN: {int(features.isna().sum().sum())}")
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
    print(f"peak resident memory of this process: {peak_gb:.2f} GB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
