"""Benchmark ``score`` on the pandas and the Spark engine on the same purchases.

Logs a FraudScorer (logistic regression at threshold 0.3, fitted on 20,000 simulated
purchases) into a temporary MLflow store, writes ``--rows`` other purchases as one Parquet
file, then times: the pandas ``score_file`` (``--reasons none``: reasons are not computed on
Spark), the Spark session's start, and ``score_extract`` on Spark twice (the first pays the
executors' start and the model's loading). Prints seconds, rows/s and the largest difference
between the two engines' probabilities.

    .venv/bin/python bench/bench_spark_score.py --rows 200000 --master 'local[2]'
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def simulated_purchases(rows: int, seed: int) -> pd.DataFrame:
    """Purchases with the seven inputs at roughly the public table's shares, and fraud."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "distance_from_home": rng.lognormal(2.3, 1.2, rows),
        "distance_from_last_transaction": rng.lognormal(0, 1.3, rows),
        "ratio_to_median_purchase_price": rng.lognormal(0, 0.9, rows),
        "repeat_retailer": rng.binomial(1, 0.88, rows),
        "used_chip": rng.binomial(1, 0.35, rows),
        "used_pin_number": rng.binomial(1, 0.1, rows),
        "online_order": rng.binomial(1, 0.65, rows),
    })
    risk = (frame.ratio_to_median_purchase_price > 3) & (frame.online_order == 1)
    frame["fraud"] = ((risk & (rng.random(rows) < 0.8)) | (rng.random(rows) < 0.02)).astype(int)
    return frame


def logged_scorer(folder: Path) -> tuple[str, str]:
    """Log a FraudScorer into a new store under ``folder``; return (model URI, store URI)."""
    import mlflow
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from cardfraud.data.schema import FEATURES, model_features
    from cardfraud.serving.registration import scorer_signature
    from cardfraud.serving.scorer import FraudScorer

    train = simulated_purchases(20_000, seed=1)
    classifier = make_pipeline(StandardScaler(), LogisticRegression())
    classifier.fit(model_features(train), train["fraud"])
    uri = f"sqlite:///{folder}/mlflow.db"
    mlflow.set_tracking_uri(uri)
    with mlflow.start_run() as run:
        mlflow.pyfunc.log_model(name="scorer", python_model=FraudScorer(classifier, 0.3),
                                signature=scorer_signature(list(FEATURES)),
                                metadata={"threshold": 0.3})
    return f"runs:/{run.info.run_id}/scorer", uri


def main() -> None:
    """Time both engines on the same file and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    from cardfraud.engines import EngineSettings, pandas_engine
    from cardfraud.engines.spark_session import spark_session

    folder = Path(tempfile.mkdtemp(prefix="cardfraud-bench-spark-"))
    model_uri, store = logged_scorer(folder)
    purchases = folder / "purchases.parquet"
    simulated_purchases(args.rows, seed=2).drop(columns="fraud").to_parquet(purchases)
    started = time.perf_counter()
    pandas_engine.score_extract(purchases, folder / "pandas.parquet", model_uri, store,
                                reasons="none")
    pandas_seconds = time.perf_counter() - started
    settings = EngineSettings("spark", args.master, {"spark.ui.showConsoleProgress": False})
    started = time.perf_counter()
    spark_session(settings).sparkContext.setLogLevel("ERROR")
    session_seconds = time.perf_counter() - started
    from cardfraud.engines import spark_engine

    runs = []
    for attempt in (1, 2):
        started = time.perf_counter()
        spark_engine.score_extract(purchases, folder / f"spark{attempt}", model_uri, store,
                                   settings)
        runs.append(time.perf_counter() - started)
    by_pandas = pd.read_parquet(folder / "pandas.parquet")["probability"].to_numpy()
    by_spark = pd.read_parquet(folder / "spark2")["probability"].to_numpy()
    print(f"{args.rows:,} purchases, Spark master {args.master}")
    print(f"pandas score:         {pandas_seconds:6.1f} s ({args.rows / pandas_seconds:,.0f} rows/s)")
    print(f"Spark session start:  {session_seconds:6.1f} s")
    for attempt, seconds in enumerate(runs, 1):
        print(f"Spark score, run {attempt}:  {seconds:6.1f} s ({args.rows / seconds:,.0f} rows/s)")
    print(f"largest probability difference (both sorted): "
          f"{np.max(np.abs(np.sort(by_pandas) - np.sort(by_spark))):.2e}")


if __name__ == "__main__":
    main()
