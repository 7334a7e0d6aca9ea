"""The Spark engine: extracts read, validated and scored on Spark's executors.

The same functions as :mod:`cardfraud.engines.pandas_engine`, with the same messages; an
extract may also be a directory of (Hive-partitioned) Parquet files, e.g. one folder a day.
Nothing collects the data to the driver: it gets counts and, for a message, a few rows.
Reasons (SHAP values) are not computed on Spark: the pandas engine gives them.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from ..data.checks import DataValidationError, check_unique_column_names
from ..data.files import (
    PARQUET_SUFFIXES,
    _check_readable,
    _open_text,
    _refuse_spreadsheets,
    sniff_csv_format,
)
from . import EngineSettings
from .spark_session import spark_session

NAME = "spark"
CSV_COMPRESSIONS = {".gz", ".bz2"}  # what Spark decompresses itself


def _pandas_missing_words() -> list[str]:
    """The texts pandas reads as empty (``NA``, ``null``, ``nan``, ...): the same cells are
    empty on both engines."""
    from pandas._libs.parsers import STR_NA_VALUES

    return sorted(STR_NA_VALUES)


def csv_header(path: Path, sep: str) -> list[str]:
    """Return a CSV's column names as written (the first line, without a byte-order mark)."""
    with _open_text(path) as handle:
        return next(csv.reader(handle, delimiter=sep), [])


def parquet_files(folder: Path) -> list[Path]:
    """Return the Parquet files under ``folder`` that Spark reads (not hidden, not ``_``)."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower()
                  in PARQUET_SUFFIXES and not any(part.startswith((".", "_"))
                                                  for part in p.relative_to(folder).parts))


def partition_columns(folder: Path) -> list[str]:
    """Return the Hive partition columns of a folder of Parquet (``day=2024-05-01/...``)."""
    names, level = [], folder
    while True:
        subfolders = sorted(p for p in level.iterdir() if p.is_dir() and "=" in p.name
                            and not p.name.startswith((".", "_")))
        if not subfolders:
            return names
        names.append(subfolders[0].name.split("=", 1)[0])
        level = subfolders[0]


def _spark_failure(path: Path, what: str, exc: Exception) -> DataValidationError:
    """The one-line refusal of a file or folder Spark cannot read."""
    text = (str(getattr(exc, "getMessage", lambda: exc)()) or type(exc).__name__)
    return DataValidationError(f"{path}: not a readable {what} ({text.strip().splitlines()[0]})")


def nanosecond_times(path: Path) -> list[str]:
    """Return the columns a Parquet file (a folder: its first file) stores as nanosecond
    timestamps, as pandas writes them; Spark reads those as numbers of nanoseconds."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    first = parquet_files(path)[0] if path.is_dir() else path
    try:
        schema = pq.read_schema(first)
    except (pa.ArrowException, OSError):
        return []  # Spark says what is wrong with the file
    return [f.name for f in schema if pa.types.is_timestamp(f.type) and f.type.unit == "ns"]


def _read_parquet(spark, path: Path, what: str):
    """Read a Parquet file or folder; refuse one Spark cannot read, naming it.

    Nanosecond times (pandas') become Spark times at the microsecond, in UTC wall time.
    """
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException
    from pyspark.sql import functions as F

    stamps = nanosecond_times(path)
    if stamps:
        spark.conf.set("spark.sql.legacy.parquet.nanosAsLong", "true")
    try:
        frame = spark.read.parquet(str(path))
    except (PySparkException, Py4JJavaError) as exc:
        raise _spark_failure(path, what, exc) from None
    finally:
        spark.conf.unset("spark.sql.legacy.parquet.nanosAsLong")
    for column in stamps:
        micros = F.timestamp_micros(F.floor(F.col(column) / 1000).cast("long"))
        frame = frame.withColumn(column, micros.cast("timestamp_ntz"))
    return frame


def _read_folder(spark, path: Path):
    """Read a folder of (partitioned) Parquet files, refusing one that holds none."""
    if not parquet_files(path):
        raise DataValidationError(f"{path}: is a folder without Parquet files (.parquet); a "
                                  f"folder of extracts is read as Parquet, e.g. one file a day")
    return _read_parquet(spark, path, "folder of Parquet files")


def _read_csv(spark, path: Path, sep: str | None, decimal: str | None):
    """Read a CSV with every column as text (the checks read numbers as pandas does)."""
    from pyspark.sql import types as T

    from .spark_checks import BAD_LINE

    if path.suffix.lower() in {".xz", ".zip"}:
        raise DataValidationError(f"{path}: Spark reads CSV files plain, .gz or .bz2; "
                                  f"decompress the {path.suffix} file or use the pandas engine")
    _refuse_spreadsheets(path)
    try:
        sep, decimal = sniff_csv_format(path, sep, decimal)
        header = csv_header(path, sep)
    except UnicodeDecodeError as exc:
        raise DataValidationError(f"{path}: not UTF-8 text ({exc.reason} at byte "
                                  f"{exc.start})") from None
    except (OSError, EOFError) as exc:
        raise DataValidationError(f"{path}: not a readable file ({exc})") from None
    if not header:
        raise DataValidationError(f"{path}: file has no header and no rows")
    check_unique_column_names(header, str(path))
    schema = T.StructType([T.StructField(name.strip(), T.StringType())
                           for name in [*header, BAD_LINE]])
    frame = spark.read.csv(str(path), schema=schema, header=True, sep=sep, encoding="UTF-8",
                           enforceSchema=True, mode="PERMISSIVE",
                           columnNameOfCorruptRecord=BAD_LINE)
    names = [name.strip() for name in header]
    frame = frame.replace(_pandas_missing_words(), None, subset=names)  # as pandas reads them
    return frame, decimal, sep


def read_spark_extract(path: str | os.PathLike, settings: EngineSettings | None = None,
                       sep: str | None = None, decimal: str | None = None):
    """Read an extract into a :class:`cardfraud.engines.spark_validation.SparkExtract`.

    Raises:
        DataValidationError: missing, empty or unreadable, naming the file or folder.
    """
    path = Path(path)
    spark = spark_session(settings)  # first: says what to install when PySpark is missing
    from .spark_checks import with_row_ids
    from .spark_validation import SparkExtract

    if path.is_dir():
        frame, decimal, from_csv = _read_folder(spark, path), ".", False
    else:
        _check_readable(path)
        if path.suffix.lower() in PARQUET_SUFFIXES:
            frame, decimal, from_csv = _read_parquet(spark, path, "Parquet file"), ".", False
        else:
            (frame, decimal, sep), from_csv = _read_csv(spark, path, sep, decimal), True
    check_unique_column_names(list(frame.columns), str(path))
    if frame.isEmpty():
        raise DataValidationError(f"{path}: has a header but no data rows" if from_csv else
                                  f"{path}: has no data rows")
    return SparkExtract(with_row_ids(frame), str(path), decimal or ".", from_csv, sep or ",")


def read_extract(path: str | os.PathLike, settings: EngineSettings | None = None,
                 sep: str | None = None, decimal: str | None = None):
    """Read a CSV or Parquet file, or a folder of (partitioned) Parquet, into a Spark frame."""
    from .spark_checks import INTERNAL_COLUMNS

    return read_spark_extract(path, settings, sep, decimal).frame.drop(*INTERNAL_COLUMNS)


def load_extract(path: str | os.PathLike, settings: EngineSettings | None = None,
                 sep: str | None = None, decimal: str | None = None, on_missing: str = "drop",
                 require_target: bool = True, required_inputs: list[str] | None = None):
    """Read and validate an extract with the load step's rules and messages; return (clean
    Spark frame, CleaningReport)."""
    from .spark_validation import validate_extract

    extract = read_spark_extract(path, settings, sep, decimal)
    return validate_extract(extract, on_missing=on_missing, require_target=require_target,
                            required_inputs=required_inputs)


def score_extract(input_path: str | os.PathLike, output_path: str | os.PathLike,
                  model_uri: str, tracking_uri: str | None = None,
                  settings: EngineSettings | None = None, **options) -> dict:
    """Validate and score an extract on the executors into a folder of Parquet files
    (:func:`cardfraud.engines.spark_scoring.score_on_spark`)."""
    from .spark_scoring import score_on_spark

    return score_on_spark(input_path, output_path, model_uri, tracking_uri, settings, **options)
