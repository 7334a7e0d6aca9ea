"""Print the size of the planted compromised points and cash-out areas, and the calibration.

    .venv/bin/python bench/bench_compromise.py                 # 1,000,000 rows, seed 42
    .venv/bin/python bench/bench_compromise.py --rows 20000 --seed 7

At default knobs on 1,000,000 rows the signal must be the size an investigation meets: 10 to
30 compromised points, each capturing 20 to 200 cards, at most half of the captured cards
defrauded within the period, and all 28 calibration measures within tolerance. The exit code
is 1 when a run of at least 1,000,000 rows misses one of these.
"""

from __future__ import annotations

import argparse
import sys
import time

import pandas as pd

from cardfraud.simulator.compromise import planted_points
from cardfraud.simulator.realism import realism_report
from cardfraud.simulator.simulate import SIMULATOR_DEFAULTS, simulate_with_captures


def defrauded_since_capture(frame: pd.DataFrame, captured: pd.DataFrame) -> pd.Series:
    """Per captured card: True when it shows the matching fraud after its capture (what a bank sees)."""
    scenario = captured["channel"].map({"onsite": "cloned_card", "online": "card_not_present"})
    fraud = frame.loc[frame["fraud"] == 1, ["card_id", "timestamp", "fraud_scenario"]]
    pairs = captured.assign(scenario=scenario.astype(str)).merge(fraud, on="card_id")
    later = pairs[(pairs["timestamp"] > pairs["captured_at"])
                  & (pairs["fraud_scenario"].astype(str) == pairs["scenario"])]
    return captured["card_id"].isin(later["card_id"])


def print_figures(frame: pd.DataFrame, captured: pd.DataFrame) -> bool:
    """Print the points, captured cards, use and cash-out figures; True when within the targets."""
    points = planted_points(captured)
    points["defrauded_since"] = captured.assign(
        seen=defrauded_since_capture(frame, captured)).groupby("compromise_point_id")["seen"].sum().to_numpy()
    with pd.option_context("display.width", 140):
        print(points.to_string(index=False))
    kinds = points["channel"].value_counts()
    print(f"compromised points: {len(points)} ({kinds.get('onsite', 0)} shops, {kinds.get('online', 0)} online)")
    print(f"cards captured per point: min {points['cards_captured'].min()}, median "
          f"{points['cards_captured'].median():.0f}, max {points['cards_captured'].max()}; "
          f"{len(captured):,} in all")
    used = points["cards_used"].sum() / points["cards_captured"].sum()
    print(f"stolen data used within the period: {used:.1%} of captured cards "
          f"(per point at most {points['share_used'].max():.1%})")
    for channel, scenario in (("onsite", "cloned_card"), ("online", "card_not_present")):
        mine = captured["channel"] == channel
        base = frame.loc[frame["fraud_scenario"] == scenario, "card_id"].nunique() / frame["card_id"].nunique()
        seen = defrauded_since_capture(frame, captured[mine]).mean() if mine.any() else float("nan")
        moved = frame.loc[frame["fraud_scenario"] == scenario, "card_id"].isin(captured.loc[mine, "card_id"]).mean()
        print(f"{scenario}: {base:.1%} of all cards have one; {seen:.1%} of the cards captured {channel} "
              f"have one after their capture; {moved:.1%} of its purchases are on those cards")
    spent = frame[frame["cash_out_area_id"] > 0]
    areas = spent.groupby("cash_out_area_id").agg(frauds=("fraud", "size"), shops=("merchant_id", "nunique"),
                                                  city=("city", "first"))
    cloned = int((frame["fraud_scenario"] == "cloned_card").sum())
    print(f"cash-out areas: {len(areas)}, {len(spent):,} of {cloned:,} cloned-card purchases "
          f"({len(spent) / max(cloned, 1):.1%})")
    print(areas.to_string())
    return (10 <= len(points) <= 30 and points["cards_captured"].between(20, 200).all()
            and used <= 0.5)


def main(argv: list[str] | None = None) -> int:
    """Simulate once at default knobs and print the planted signal and the calibration verdict."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=SIMULATOR_DEFAULTS["rows"])
    parser.add_argument("--seed", type=int, default=SIMULATOR_DEFAULTS["seed"])
    args = parser.parse_args(argv)
    started = time.perf_counter()
    frame, captured = simulate_with_captures(rows=args.rows, seed=args.seed)
    print(f"simulate(rows={args.rows:,}, seed={args.seed}): {time.perf_counter() - started:.2f} s")
    sized = print_figures(frame, captured)
    report = realism_report(frame)
    print(f"calibration: {int(report['within'].sum())} of {len(report)} measures within tolerance")
    ok = sized and bool(report["within"].all())
    if args.rows >= 1_000_000:
        print(f"investigation-sized at 1,000,000 rows and calibrated: {'yes' if ok else 'NO'}")
    return 0 if ok or args.rows < 1_000_000 else 1


if __name__ == "__main__":
    sys.exit(main())
