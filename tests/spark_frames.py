"""Spark frames for tests: one local[2] session and purchases handed over as a Spark run does.

A Spark run's load step writes the clean purchases as a folder of Parquet with microsecond
timestamps; :func:`as_loaded_spark_frame` gives a pandas frame the same way, so a page function
can be run on both engines over the same purchases and its results compared.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cardfraud.engines import EngineSettings
from cardfraud.engines.spark_session import spark_session

TEST_SETTINGS = EngineSettings("spark", "local[2]", {
    "spark.sql.shuffle.partitions": 4, "spark.ui.enabled": False,
    "spark.sql.session.timeZone": "UTC"})


def local_spark():
    """Return the tests' local[2] Spark session (built once per worker process), quiet:
    its log shows errors only."""
    session = spark_session(TEST_SETTINGS)
    session.sparkContext.setLogLevel("ERROR")
    return session


@pytest.fixture(scope="module", name="spark")
def spark_fixture():
    """The ``spark`` fixture: the tests' local[2] session (import it into a test module)."""
    return local_spark()


def as_loaded_spark_frame(spark, frame: pd.DataFrame, folder: Path, partitions: int = 3):
    """Return ``frame`` as a cached Spark DataFrame read back from Parquet under ``folder``."""
    path = Path(folder) / "transactions.parquet"
    frame.to_parquet(path, index=False, coerce_timestamps="us")
    spark_frame = spark.read.parquet(str(path)).repartition(partitions).cache()
    spark_frame.count()
    return spark_frame
