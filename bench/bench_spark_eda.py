"""Time the EDA step's aggregates on Spark (local[2]) against pandas, on the same purchases.

Simulates ``--rows`` purchases (not timed), writes them as Parquet into a temporary dir, then
times each aggregate twice: the pandas function on the frame in memory, and its Spark mirror
(:mod:`cardfraud.engines.spark_eda`) on the Parquet read by Spark (cached after one count, so
both engines start from data in memory). Seconds per aggregate and the totals are printed.

    .venv/bin/python bench/bench_spark_eda.py                  # 1,000,000 rows, local[2]
    .venv/bin/python bench/bench_spark_eda.py --rows 200000 --master 'local[*]'
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from timing import PhaseTimer

from cardfraud.data.schema import CONTINUOUS_FEATURES, FEATURES, TARGET
from cardfraud.eda import authentication, correlations, headlines, where_when
from cardfraud.engines import EngineSettings
from cardfraud.engines.spark_session import spark_session

BANDS_KM = [0, 5, 25, 100, 500]
PAIR = ("distance_from_home", "ratio_to_median_purchase_price")


def aggregates(eda, where_when_module, authentication_module, correlations_module, frame):
    """Return (name, call) for each EDA aggregate, taken from the modules of one engine."""
    return [
        ("class balance", lambda: eda.class_balance(frame)),
        ("continuous summary", lambda: eda.continuous_summary(frame)),
        ("log histograms (3 features)",
         lambda: [eda.log_histograms(frame, f) for f in CONTINUOUS_FEATURES]),
        ("flag fraud rates", lambda: eda.flag_fraud_rates(frame)),
        ("channel x chip x PIN", lambda: authentication_module.fraud_rate_by_channel_chip_pin(frame)),
        ("distance bands", lambda: where_when_module.distance_band_fraud_rates(frame, BANDS_KM)),
        ("daily activity", lambda: where_when_module.daily_activity(frame)),
        ("feature correlations", lambda: correlations_module.feature_correlations(frame)),
        ("pair fraud rates", lambda: correlations_module.pair_fraud_rates(frame, *PAIR)),
    ]


def run(timer: PhaseTimer, engine: str, calls) -> float:
    """Time each call under ``engine: name`` and return the engine's total seconds."""
    for name, call in calls:
        with timer(f"{engine}: {name}"):
            call()
    return sum(s for n, s in timer.seconds.items() if n.startswith(f"{engine}:"))


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print seconds per aggregate and per engine."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="simulated rows")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args(argv)
    from cardfraud.engines import spark_eda
    from cardfraud.simulator.simulate import simulate

    frame = simulate(rows=args.rows, seed=args.seed)[FEATURES + [TARGET, "timestamp"]]
    timer = PhaseTimer(width=44)
    print(f"{len(frame):,} rows; seconds per aggregate:")
    pandas_total = run(timer, "pandas", aggregates(headlines, where_when, authentication,
                                                   correlations, frame))
    spark = spark_session(EngineSettings("spark", args.master, {
        "spark.sql.shuffle.partitions": 4, "spark.ui.enabled": False}))
    with tempfile.TemporaryDirectory(prefix="bench_spark_eda_") as tmp:
        path = Path(tmp) / "transactions.parquet"
        frame.to_parquet(path, index=False, coerce_timestamps="us")
        with timer("spark read and cache (not in total)"):
            transactions = spark.read.parquet(str(path)).cache()
            transactions.count()
        spark_total = run(timer, "spark", aggregates(spark_eda, spark_eda, spark_eda, spark_eda,
                                                     transactions))
        transactions.unpersist()
    spark.stop()
    print(f"{'pandas total':<44} {pandas_total:7.3f} s")
    print(f"{'spark total (' + args.master + ', read excluded)':<44} {spark_total:7.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
