"""Time the georeferencing step at 1,000,000 rows and measure how well it finds what is planted.

Prints, on simulated purchases at default knobs (``--rows``, ``--seed``):
- seconds per phase of the step's one call, ``run_georeferencing``, as the notebook makes it
  (read the parquet, then its phases: boundaries, analyse, the three maps saved as PNG,
  exports, results) and the step's extra peak memory (resident memory sampled every 20 ms,
  above the level before the step);
- detection: the share of planted compromised points the CPP list flags, the share of flagged
  points that are planted, and for each planted cash-out area the share of its frauds inside
  hot-spot cells (found when at least half);
- the FDR null check: ``--seeds`` runs with no planted point or area (their knobs at 0), how
  many flag any suspected point and how many flag any hot spot.

    .venv/bin/python bench/bench_geo.py                  # 1M rows, 10 null seeds
    .venv/bin/python bench/bench_geo.py --rows 200000 --seeds 3
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import threading
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import psutil  # noqa: E402
from timing import PhaseTimer  # noqa: E402

from cardfraud.geo import step  # noqa: E402
from cardfraud.geo.hot_spots import card_present, cell_of_purchases, cell_table  # noqa: E402
from cardfraud.geo.page import run_georeferencing  # noqa: E402
from cardfraud.runner.config import read_params  # noqa: E402
from cardfraud.simulator.simulate import simulate  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parents[1]  # the project dir: bench/ lies in it
NO_PLANTS = {"compromised_shops": 0, "compromised_online": 0, "cash_out_areas": 0}
ANALYSIS_KEYS = ("fdr", "hot_spot_cell_km", "hot_spot_min_purchases", "cpp_lookback_days",
                 "cpp_min_defrauded", "hot_spot_channel", "hot_spot_min_frauds")


class PeakMemory:
    """Sample this process's resident memory in a thread; ``extra_mb`` above the start."""

    def __init__(self, every: float = 0.02):
        self.every, self.process = every, psutil.Process()
        self.start_mb = self.peak_mb = self.process.memory_info().rss / 2**20
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, self.process.memory_info().rss / 2**20)
            time.sleep(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *_):
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, self.process.memory_info().rss / 2**20)

    @property
    def extra_mb(self) -> float:
        """Peak resident memory above the level at the start, in MB."""
        return self.peak_mb - self.start_mb


def time_the_step(path: Path, params: dict, out: Path) -> dict:
    """Run the step's one call as the notebook does, timed phase by phase; print memory."""
    timed = PhaseTimer(width=38)
    with PeakMemory() as memory:
        with timed("read transactions"):
            transactions = pd.read_parquet(path)
        page = run_georeferencing(transactions, out, **params, phase=timed)
    timed.print_total()
    print(f"extra peak memory of the step {memory.extra_mb:,.0f} MB "
          f"(budget 1,024 MB; before the step {memory.start_mb:,.0f} MB)")
    return {"analysis": page.analysis, "transactions": transactions, "country": page.boundaries}


def cash_out_found(transactions: pd.DataFrame, country, params: dict) -> dict[int, float]:
    """Return, per planted cash-out area, the share of its frauds inside hot-spot cells."""
    lon = transactions["longitude"].to_numpy(float)
    lat = transactions["latitude"].to_numpy(float)
    rows = card_present(transactions, params["hot_spot_channel"])
    cells = cell_table(transactions[rows], np.zeros(int(rows.sum()), np.int16), country,
                       params["hot_spot_cell_km"], params["hot_spot_min_purchases"])
    hot = cells[(cells["q_value"] <= params["fdr"])
                & (cells["frauds"] >= params["hot_spot_min_frauds"])]
    _, cell = np.unique(cell_of_purchases(lon[rows], lat[rows], country,
                                          params["hot_spot_cell_km"]), return_inverse=True)
    flagged = np.isin(cell, hot["cell"].to_numpy())
    area = transactions["cash_out_area_id"].to_numpy()[rows]
    return {int(a): float(flagged[area == a].mean()) for a in np.unique(area[area > 0])}


def print_detection(run: dict, params: dict) -> None:
    """Print CPP recall and precision against the planted points, and the cash-out areas."""
    transactions, points = run["transactions"], run["analysis"]["suspected_points"]
    planted = set(np.unique(transactions["compromise_point_id"].to_numpy()).tolist()) - {0}
    flagged = set(points["merchant_id"].tolist())
    found = planted & flagged
    print(f"CPP: {len(planted)} planted points, {len(flagged)} flagged, {len(found)} of them "
          f"planted -> found {len(found) / max(len(planted), 1):.0%} of the planted "
          f"(target >= 90 %), {len(found) / max(len(flagged), 1):.0%} of the flagged are planted "
          f"(target >= 80 %)")
    shares = cash_out_found(transactions, run["country"], params)
    inside = sum(share >= 0.5 for share in shares.values())
    print(f"hot spots: {len(run['analysis']['hot_spots']):,} cells; planted cash-out areas "
          f"inside them: {inside} of {len(shares)} (share of each area's frauds in hot-spot "
          f"cells: {', '.join(f'{a}: {s:.0%}' for a, s in shares.items())})")
    print(f"cards at risk: {run['analysis']['cards_at_risk']['card_id'].nunique():,}")


def null_check(rows: int, seeds: int, params: dict, country) -> None:
    """Print how many of ``seeds`` runs without planted points or areas flag anything."""
    cpp_runs, spot_runs = [], []
    for seed in range(1, seeds + 1):
        transactions = simulate(rows=rows, seed=seed, **NO_PLANTS)
        analysis = step.analyse(transactions, country, **{k: params[k] for k in ANALYSIS_KEYS})
        cpp_runs.append(len(analysis["suspected_points"]))
        spot_runs.append(len(analysis["hot_spots"]))
        print(f"  null seed {seed}: {cpp_runs[-1]} suspected points, {spot_runs[-1]} hot spots",
              flush=True)
    print(f"FDR null check ({seeds} seeds, no planted point or area): "
          f"{sum(n > 0 for n in cpp_runs)} runs flag a suspected point, "
          f"{sum(n > 0 for n in spot_runs)} runs flag a hot spot (target: at most 1)")


def main() -> None:
    """Parse the arguments, time the step, print detection and the null check."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--seeds", type=int, default=10, help="null-check runs (0: skip)")
    parser.add_argument("--params", default=str(PROJECT_ROOT / "params" / "default.yaml"))
    args = parser.parse_args()
    params = read_params(args.params)["geo"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "transactions.parquet"
        simulate(rows=args.rows, seed=args.seed).to_parquet(path)
        gc.collect()
        print(f"georeferencing step on {args.rows:,} simulated purchases (seed {args.seed})")
        run = time_the_step(path, params, Path(tmp) / "out")
    print_detection(run, params)
    if args.seeds:
        null_check(args.rows, args.seeds, params, run["country"])


if __name__ == "__main__":
    main()
