#!/usr/bin/env python
"""Scale figures of the Spark engine's data-bound work: 10M, 30M, 100M simulated purchases.

For each ``--rows`` it runs, on one Spark session (``--master``, default ``local[2]``):

1. ``python -m cardfraud simulate --rows N --out DIR/`` (the chunked simulator, its own process);
2. read and validate the directory with the load step's rules (``spark_engine.load_extract``);
3. the EDA step's aggregates (``spark_eda``: class balance, continuous summary, flag rates,
   channel x chip x PIN, distance bands, daily activity, correlations);
4. the card-history features with window functions (``spark_history``), written to Parquet;
5. the training sample drawn in Spark (``spark_sampling.training_sample``, every fraud up to
   the cap, time order), a gradient-boosting fit on it, logged to a temporary MLflow store;
6. the whole test period (the last ``--test-days`` days) scored on the executors with
   ``mlflow.pyfunc.spark_udf``, its PR-AUC from per-bin score counts (nothing collected).

It prints seconds per phase, seconds per million rows, and the peak resident memory of the
driver (this python), the JVM (driver and executors in local mode) and the python workers
(sampled every 0.2 s), and writes them to ``--json``. The notebooks and the site are not run
on Spark yet, so the figures are of the data-bound work only.

    .venv/bin/python bench/bench_spark_scale.py --rows 10000000 --json bench/results/spark_10M.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
SCORE_BINS = 10_000  # PR-AUC from score counts in this many equal bins of [0, 1]


class PeakByKind(threading.Thread):
    """Sample this process tree and keep the peak RSS of each kind: driver, jvm, workers, other."""

    def __init__(self, interval: float = 0.2):
        super().__init__(daemon=True)
        self.interval, self.peaks, self.done = interval, {}, threading.Event()

    @staticmethod
    def kind(proc: psutil.Process) -> str:
        """Return which part of the run a process is."""
        if proc.pid == os.getpid():
            return "driver_python"
        line = " ".join(proc.cmdline())
        if "java" in proc.name() or "/java" in line:
            return "jvm"
        if "pyspark" in line or "daemon" in line or "worker" in line:
            return "python_workers"
        return "simulator" if "simulate" in line else "other"

    def run(self) -> None:
        me = psutil.Process()
        while not self.done.is_set():
            totals: dict[str, int] = {}
            for proc in [me, *me.children(recursive=True)]:
                try:
                    totals[self.kind(proc)] = totals.get(self.kind(proc), 0) + proc.memory_info().rss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
            totals["all"] = sum(totals.values())
            for kind, rss in totals.items():
                self.peaks[kind] = max(self.peaks.get(kind, 0), rss)
            time.sleep(self.interval)


def average_precision_from_bins(fraud_counts: np.ndarray, genuine_counts: np.ndarray) -> float:
    """Average precision over thresholds at the bin edges (highest scores first)."""
    tp = np.cumsum(fraud_counts[::-1])
    fp = np.cumsum(genuine_counts[::-1])
    if tp[-1] == 0:
        return float("nan")
    precision = tp / np.maximum(tp + fp, 1)
    recall = tp / tp[-1]
    return float(np.sum(np.diff(np.concatenate([[0.0], recall])) * precision))


def simulate(rows: int, folder: Path, timer: dict) -> None:
    """Write ``rows`` simulated purchases into ``folder`` with the chunked simulator."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "cardfraud", "simulate", "--rows", str(rows),
                    "--out", f"{folder}/"], check=True, stdout=subprocess.DEVNULL)
    timer["simulate"] = round(time.perf_counter() - started, 2)
    print(f"{rows:>11,}  {'simulate (chunked, own process)':<34} {timer['simulate']:8.1f} s",
          flush=True)


def fit_and_log(sample, inputs: list[str], store: Path):
    """Fit gradient boosting on the sample and log it to a temporary store; return its URI."""
    import mlflow
    from sklearn.ensemble import HistGradientBoostingClassifier

    mlflow.set_tracking_uri(f"sqlite:///{store}/mlflow.db")
    model = HistGradientBoostingClassifier(max_leaf_nodes=15, random_state=0)
    model.fit(sample[inputs].astype("float64"), sample["fraud"])
    with mlflow.start_run() as run:
        mlflow.sklearn.log_model(model, name="model", pyfunc_predict_fn="predict_proba",
                                 serialization_format="cloudpickle",
                                 input_example=sample[inputs].head(2).astype("float64"))
    return f"runs:/{run.info.run_id}/model"


def split_at_test_period(features, test_days: int):
    """Return (training period, test period): the test period is the last ``test_days`` days."""
    from pyspark.sql import functions as F

    last = features.agg(F.max("timestamp")).first()[0]
    cut = F.lit(last) - F.expr(f"INTERVAL {test_days} DAYS")
    return features.where(F.col("timestamp") <= cut), features.where(F.col("timestamp") > cut)


def score_test_period(test, model_uri: str, inputs: list[str]) -> dict:
    """Score the test period on the executors; PR-AUC from binned score counts."""
    import mlflow
    from pyspark.sql import functions as F

    features = test
    udf = mlflow.pyfunc.spark_udf(features.sparkSession, model_uri, env_manager="local",
                                  result_type="array<double>")
    scored = test.withColumn("probability", udf(F.struct(*[F.col(c).cast("double").alias(c) for c in inputs]))[1])
    bins = F.least(F.floor(F.col("probability") * SCORE_BINS), F.lit(SCORE_BINS - 1)).cast("int")
    counts = scored.groupBy(bins.alias("bin"), "fraud").count().toPandas()
    fraud = np.zeros(SCORE_BINS)
    genuine = np.zeros(SCORE_BINS)
    for row in counts.itertuples():
        (fraud if row.fraud == 1 else genuine)[int(row.bin)] += row.count
    return {"test_rows": int(fraud.sum() + genuine.sum()), "test_frauds": int(fraud.sum()),
            "test_pr_auc_binned": round(average_precision_from_bins(fraud, genuine), 4)}


def run(rows: int, master: str, driver_memory: str, sample_rows: int, test_days: int) -> dict:
    """Run every phase at ``rows``; return seconds per phase, peaks and the model's figures."""
    from cardfraud.engines import EngineSettings, spark_eda, spark_engine
    from cardfraud.engines.spark_history import card_history_features
    from cardfraud.engines.spark_sampling import training_sample
    from cardfraud.engines.spark_session import spark_session
    from cardfraud.modeling.history import HISTORY_FEATURES

    seconds: dict[str, float] = {}
    peaks = PeakByKind()
    peaks.start()
    with tempfile.TemporaryDirectory(prefix="bench_spark_scale_", dir=os.environ.get("TMPDIR")) as tmp:
        tmp = Path(tmp)
        simulate(rows, tmp / "purchases", seconds)
        settings = EngineSettings("spark", master, {
            "spark.driver.memory": driver_memory, "spark.ui.enabled": False, "spark.ui.showConsoleProgress": False,
            "spark.sql.shuffle.partitions": 64, "spark.local.dir": str(tmp / "spark-local")})

        def phase(name, call):
            started = time.perf_counter()
            value = call()
            seconds[name] = round(time.perf_counter() - started, 2)
            print(f"{rows:>11,}  {name:<34} {seconds[name]:8.1f} s", flush=True)
            return value

        spark = phase("spark session", lambda: spark_session(settings))
        spark.sparkContext.setLogLevel("ERROR")
        clean, _ = phase("read and validate", lambda: spark_engine.load_extract(tmp / "purchases", settings))
        phase("EDA aggregates", lambda: [
            spark_eda.class_balance(clean), spark_eda.continuous_summary(clean),
            spark_eda.flag_fraud_rates(clean), spark_eda.fraud_rate_by_channel_chip_pin(clean),
            spark_eda.distance_band_fraud_rates(clean, [0, 2, 5, 10, 25, 50, 100, 250]),
            spark_eda.daily_activity(clean), spark_eda.feature_correlations(clean)])
        phase("card-history features (written)", lambda: card_history_features(clean).write
              .parquet(str(tmp / "features")))
        features = spark.read.parquet(str(tmp / "features"))
        inputs = [c for c in ("distance_from_home", "distance_from_last_transaction",
                              "ratio_to_median_purchase_price", "repeat_retailer", "used_chip",
                              "used_pin_number", "online_order", *HISTORY_FEATURES)
                  if c in features.columns]
        training, test = split_at_test_period(features.select(*inputs, "fraud", "timestamp"),
                                              test_days)
        sample = phase("training sample (training period)",
                       lambda: training_sample(training, sample_rows))
        model_uri = phase("fit and log", lambda: fit_and_log(sample.frame, inputs, tmp))
        figures = phase("score test period (spark_udf)",
                        lambda: score_test_period(test, model_uri, inputs))
        spark.stop()
    peaks.done.set()
    peaks.join()
    total = sum(seconds.values())
    return {"rows": rows, "master": master, "seconds": seconds, "total_seconds": round(total, 1),
            "seconds_per_million": round(total / (rows / 1e6), 2),
            "peak_rss_gb": {k: round(v / 1e9, 2) for k, v in peaks.peaks.items()},
            "training_sample_rows": len(sample.frame), **figures}


def main(argv: list[str] | None = None) -> int:
    """Run the scale benchmark for each size and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000_000])
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="8g")
    parser.add_argument("--train-sample-rows", type=int, default=250_000)
    parser.add_argument("--test-days", type=int, default=14)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    results = []
    for rows in args.rows:
        figures = run(rows, args.master, args.driver_memory, args.train_sample_rows, args.test_days)
        print(json.dumps(figures, indent=2), flush=True)
        results.append(figures)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
