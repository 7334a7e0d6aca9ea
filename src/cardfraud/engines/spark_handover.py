"""What a Spark run hands from step to step: the load step's folder of Parquet, read back.

A Spark run's load step writes ``artifacts/transactions.parquet`` as a folder (a pandas run: one
file), and records its engine (master, conf) in ``results/load.json``. The steps after it read
the folder back in the session running, or in one built from that record.
"""

from __future__ import annotations

from ..runner.artifacts import load_step_results, transactions_path


def is_spark_run(output_dir=None) -> bool:
    """True when the load step handed on a folder of Parquet (a Spark run), not one file."""
    return transactions_path(output_dir).is_dir()


def handed_on_session(output_dir=None):
    """Return the Spark session of the run (the one running, else the load results' engine)."""
    from . import DEFAULT_MASTER, EngineSettings
    from .spark_session import spark_session

    load = load_step_results("load", output_dir)
    record = load.get("engine") or load.get("data", {}).get("engine") or {}
    return spark_session(EngineSettings("spark", record.get("master") or DEFAULT_MASTER,
                                        dict(record.get("conf") or {})))


def read_handed_on(output_dir=None):
    """Return the load step's folder of Parquet as a Spark DataFrame."""
    return handed_on_session(output_dir).read.parquet(str(transactions_path(output_dir)))
