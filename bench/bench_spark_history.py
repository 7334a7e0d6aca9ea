"""Time the card-history features on Spark (window functions) against pandas, same purchases.

Simulates ``--rows`` purchases (not timed), writes them to Parquet in a temporary directory
(not timed) so Spark reads a file as in a run, then times: pandas' ``card_history_features``
on the frame in memory, and Spark's on ``--master`` (default ``local[2]``) from the Parquet to
a Parquet written back (the whole job: nothing collected to the driver). Prints the seconds and
seconds per million purchases of each.

    .venv/bin/python bench/bench_spark_history.py                  # 1,000,000 purchases
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from timing import PhaseTimer

from cardfraud.engines import EngineSettings
from cardfraud.engines.spark_history import card_history_features as spark_features
from cardfraud.engines.spark_session import spark_session
from cardfraud.modeling.history import card_history_features as pandas_features

INPUTS = ["transaction_id", "card_id", "timestamp", "merchant_id", "amount", "latitude",
          "longitude", "fraud"]
timed = PhaseTimer(width=44)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print seconds per engine."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args(argv)
    from cardfraud.simulator.simulate import simulate

    purchases = simulate(rows=args.rows, seed=args.seed)[INPUTS].sample(
        frac=1.0, random_state=args.seed)
    print(f"{len(purchases):,} purchases, {purchases['card_id'].nunique():,} cards, "
          f"{purchases['merchant_id'].nunique():,} merchants")
    with timed("pandas card_history_features"):
        pandas_features(purchases)
    spark = spark_session(EngineSettings("spark", args.master, {
        "spark.ui.enabled": False, "spark.sql.session.timeZone": "UTC",
        "spark.driver.memory": "4g", "spark.ui.showConsoleProgress": False, "spark.sql.shuffle.partitions": 8}))
    spark.sparkContext.setLogLevel("ERROR")
    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder, "purchases.parquet"), Path(folder, "features.parquet")
        purchases.to_parquet(source, index=False, coerce_timestamps="us")  # Spark: µs
        spark.read.parquet(str(source)).count()  # start the JVM's work once, not timed
        with timed(f"spark card_history_features ({args.master})"):
            spark_features(spark.read.parquet(str(source))).write.parquet(str(target))
        print(f"spark output rows: {spark.read.parquet(str(target)).count():,}")
    spark.stop()
    millions = len(purchases) / 1e6
    for name, seconds in timed.seconds.items():
        print(f"{name:<44} {seconds / millions:7.3f} s per million purchases")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
