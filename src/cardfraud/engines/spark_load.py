"""The load step on Spark: simulate or read an extract, validate it on the executors, hand it on.

A Spark run's load step writes ``artifacts/transactions.parquet`` as a folder of Parquet files
written by the executors (microsecond timestamps), and records the engine in its results, so
every later step (and a notebook opened by hand) reads the same purchases back as a Spark
DataFrame (:func:`read_handed_on`). Only counts, statistics and a few rows reach the driver.

The simulated source is the chunked simulator (:mod:`cardfraud.simulator.chunked`), which
writes any number of purchases in bounded memory. Its purchases differ from those of the pandas
engine's simulator for the same seed (the chunked one draws block by block); to compare the
engines on the same purchases, load the same file or folder (``load.path``) in both.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from ..data.checks import DataValidationError
from ..data.schema import CONTINUOUS_FEATURES, REQUIRED_COLUMNS, TARGET
from ..runner.atomic_write import temporary_path
from . import EngineSettings
from .spark_session import spark_session

SIMULATED_FOLDER = "simulated_purchases"  # the chunked simulator's output, beside the artifact
PARTITION_OF_SIMULATION = "purchase_date"  # the simulator's partition column, not a purchase's
# the load options the Spark engine reads; any other one set is refused, naming it
NOT_ON_SPARK = {"thousands": None, "columns": {}, "coordinates_path": None,
                "allow_missing_inputs": False, "cardholders_path": None,
                "cardholder_columns": {}, "cities_path": None, "codes": {}}
PROFILE_QUANTILES = (0.1, 0.5, 0.9, 0.99)


def refuse_options_not_on_spark(options: dict) -> None:
    """Raise DataValidationError naming the first load option set that Spark does not read."""
    for name, default in NOT_ON_SPARK.items():
        if options.get(name, default) not in (default, None, {}, False):
            raise DataValidationError(
                f"load.{name} is set, but the Spark engine does not read it yet; map the columns "
                f"and join coordinates before the extract reaches Spark, or use "
                f"common.engine: pandas")


def folder_fingerprint(folder: Path) -> str:
    """Return ``sha256:<hex>`` of a folder's Parquet files: their relative names and bytes."""
    from .spark_engine import parquet_files

    digest = hashlib.sha256()
    for path in parquet_files(folder):
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return f"sha256:{digest.hexdigest()}"


def simulate_for_spark(simulator: dict, output_dir) -> tuple[Path, dict]:
    """Run the chunked simulator into the output dir's artifacts; return the folder and ``data``.

    The fingerprint names the chunked simulator, so it never equals the pandas engine's for
    the same parameters (the purchases differ).
    """
    from ..data.load_step import simulator_fingerprint
    from ..runner.artifacts import artifacts_dir
    from ..simulator.chunked import simulate_to_directory

    params = dict(simulator or {})
    folder = artifacts_dir(output_dir) / SIMULATED_FOLDER
    try:
        simulate_to_directory(folder, overwrite=True, **params)
    except ValueError as exc:
        raise DataValidationError(f"load.simulator: {exc}") from None
    return folder, {"source": "simulated", "simulator": params, "generator": "chunked",
                    "fingerprint": simulator_fingerprint({**params, "generator": "chunked"})}


def load_on_spark(settings: EngineSettings, source: str = "simulated", path: str | None = None,
                  sep: str | None = None, decimal: str | None = None, on_missing: str = "drop",
                  duplicates: str = "keep", simulator: dict | None = None, output_dir=None,
                  **options):
    """Load the purchases on Spark; return (clean Spark frame, CleaningReport, ``data``).

    The arguments are the load step's (:func:`cardfraud.data.load_step.load_transactions`);
    ``options`` the ones Spark does not read, refused when set.
    """
    from ..data.cleaning import CleaningReport
    from .spark_engine import load_extract

    refuse_options_not_on_spark(options)
    if duplicates not in {"keep", "drop"}:
        raise ValueError(f"duplicates must be 'keep' or 'drop', not {duplicates!r}")
    if source == "raw":
        raise DataValidationError("load.source is 'raw', but the Spark engine reads the seven "
                                  "inputs only; derive them with common.engine: pandas")
    if path:
        frame, report = load_extract(path, settings, sep=sep, decimal=decimal,
                                     on_missing=on_missing)
        where = Path(path)
        data = {"source": "file", "path": str(where.resolve()), "columns": {},
                "fingerprint": folder_fingerprint(where) if where.is_dir()
                else _file_fingerprint(where)}
    elif source == "simulated":
        folder, data = simulate_for_spark(simulator, output_dir)
        frame, report = load_extract(folder, settings, on_missing=on_missing)
        frame = frame.drop(PARTITION_OF_SIMULATION)
        report = CleaningReport(source="simulator", rows_read=report.rows_read,
                                rows_kept=report.rows_kept,
                                extra_columns=[c for c in frame.columns
                                               if c not in REQUIRED_COLUMNS])
    else:
        raise DataValidationError(
            f"load.source is {source!r} and no load.path is given: set load.path=FILE "
            f"(CSV or Parquet, or a folder of Parquet) or load.source=simulated")
    if duplicates == "drop" and report.duplicate_rows:
        frame = frame.dropDuplicates()
        report.duplicate_rows_dropped = report.duplicate_rows
        report.rows_kept -= report.duplicate_rows
    data["rows"] = report.rows_kept
    data["engine"] = engine_record(settings)
    return frame, report, data


def _file_fingerprint(path: Path) -> str:
    """The pandas load step's fingerprint of one file."""
    from ..data.files import file_fingerprint

    return file_fingerprint(path)


def engine_record(settings: EngineSettings) -> dict:
    """What the load results say of the engine, so later steps open the same session."""
    return {"name": settings.name, "master": settings.master, "conf": dict(settings.conf)}


def spark_data_profile(frame, report, data: dict) -> dict:
    """Return the data profile of :func:`cardfraud.data.load_step.data_profile`, computed on
    Spark in one pass; the percentiles come from ``approxQuantile`` (relative rank error
    :data:`cardfraud.engines.spark_eda.QUANTILE_RELATIVE_ERROR`)."""
    from dataclasses import asdict

    from pyspark.sql import functions as F

    from ..data.context import context_columns_report
    from ..data.schema import inputs_record
    from .spark_eda import QUANTILE_RELATIVE_ERROR, known_values

    continuous = [c for c in CONTINUOUS_FEATURES if c in frame.columns]
    flags = [c for c in REQUIRED_COLUMNS[3:] if c in frame.columns]  # as pandas: flags, fraud
    known = known_values(frame, continuous)
    sums = [F.count(F.lit(1)).alias("rows"), F.sum(F.col(TARGET).cast("long")).alias("frauds")]
    sums += [F.avg(F.col(c).cast("double")).alias(f"share {c}") for c in flags]
    for c in continuous:
        sums += [F.count(c).alias(f"count {c}"), F.avg(c).alias(f"mean {c}"),
                 F.stddev_samp(c).alias(f"std {c}"), F.min(c).alias(f"min {c}"),
                 F.max(c).alias(f"max {c}")]
    totals = known.agg(*sums).first().asDict()
    quantiles = known.approxQuantile(continuous, list(PROFILE_QUANTILES),
                                     QUANTILE_RELATIVE_ERROR) if continuous else []
    stats = {}
    for c, values in zip(continuous, quantiles, strict=True):
        stats[c] = {"count": float(totals[f"count {c}"]), "mean": totals[f"mean {c}"],
                    "std": totals[f"std {c}"], "min": totals[f"min {c}"],
                    **{f"{q:.0%}": v for q, v in zip(PROFILE_QUANTILES, values, strict=True)},
                    "max": totals[f"max {c}"]}
        stats[c] = {k: round(float(v), 4) if v is not None else None
                    for k, v in stats[c].items()}
    rows, frauds = int(totals["rows"]), int(totals["frauds"] or 0)
    return {
        **inputs_record(frame.columns),
        "data": data,
        "rows": rows,
        "columns": dict(frame.dtypes),
        "extra_columns": list(report.extra_columns),
        "cleaning": asdict(report),
        "class_balance": {"legitimate": rows - frauds, "fraud": frauds,
                          "fraud_rate": frauds / rows},
        "flag_shares": {c: float(totals[f"share {c}"]) for c in flags},
        "summary_statistics": stats,
        "context_columns": context_columns_report(frame.columns),
    }


def write_handed_on(frame, target: Path) -> Path:
    """Write the clean purchases as a folder of Parquet into a temporary folder beside
    ``target``, then rename it into place: never a half-written artifact."""
    from .spark_scoring import replace_with

    target.parent.mkdir(parents=True, exist_ok=True)
    folder = temporary_path(target)
    try:
        frame.write.parquet(str(folder))
        replace_with(folder, target)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return target


def remove_simulated_purchases(output_dir) -> None:
    """Delete the chunked simulator's folder once the clean purchases are written."""
    from ..runner.artifacts import artifacts_dir

    shutil.rmtree(artifacts_dir(output_dir) / SIMULATED_FOLDER, ignore_errors=True)


def is_handed_on_by_spark(path: Path) -> bool:
    """Return True when the load step's artifact is a folder (a Spark run's)."""
    return Path(path).is_dir()


def read_handed_on(path: Path, engine: dict | None):
    """Return the Spark run's clean purchases as a Spark DataFrame, in the session the load
    step's results name (the active one when a run's steps share a kernel)."""
    engine = engine or {}
    settings = EngineSettings("spark", engine.get("master") or "local[*]",
                              dict(engine.get("conf") or {}))
    spark = spark_session(settings)
    return spark.read.parquet(os.fspath(path))


def sample_of_purchases(frame, rows: int = 8, seed: int = 0):
    """Return a few purchases (a pandas frame) to show on the page."""
    from .spark_sampling import sample_rows

    return sample_rows(frame, rows, seed=seed)
