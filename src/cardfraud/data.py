"""Load, validate, clean and profile transaction extracts with the card_transdata schema.

Every problem with an input file raises :class:`DataValidationError` whose message is one
line naming the file, the column and the offending rows (1 = first data row); the rules on
values and their messages live in :mod:`cardfraud.data_checks`.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .data_checks import (
    VALUE_BOUNDS,
    DataValidationError,
    check_bounds,
    check_unique_column_names,
    rows_text,
    thousands_hint,
    to_text,
    to_timestamps,
)

CONTINUOUS_FEATURES = [
    "distance_from_home",
    "distance_from_last_transaction",
    "ratio_to_median_purchase_price",
]
FLAG_FEATURES = ["repeat_retailer", "used_chip", "used_pin_number", "online_order"]
FEATURES = CONTINUOUS_FEATURES + FLAG_FEATURES
TARGET = "fraud"
REQUIRED_COLUMNS = FEATURES + [TARGET]
COORDINATES = ["purchase_lat", "purchase_lon", "home_lat", "home_lon"]
# optional columns the analysis uses when an extract has them: checked like the required ones
CONTEXT_NUMBERS = ["amount", *COORDINATES]
CONTEXT_COLUMNS = ["timestamp", *CONTEXT_NUMBERS, "city"]

PARQUET_SUFFIXES = {".parquet", ".pq"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"}
_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
_FLAG_WORDS = {"true": 1, "false": 0, "yes": 1, "no": 0, "1": 1, "0": 0, "1.0": 1, "0.0": 0}


@dataclass
class CleaningReport:
    """What validation and cleaning found and did, for the data-quality table."""

    source: str
    rows_read: int = 0
    rows_kept: int = 0
    missing_by_column: dict = field(default_factory=dict)
    rows_with_missing: int = 0
    missing_rows_dropped: int = 0
    duplicate_rows: int = 0
    duplicate_rows_dropped: int = 0
    extra_columns: list = field(default_factory=list)
    converted_columns: dict = field(default_factory=dict)


def file_fingerprint(path: str | os.PathLike) -> str:
    """Return ``sha256:<hex>`` of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}"


def _check_readable(path: Path) -> None:
    """Raise a clear error when ``path`` is missing, a directory, unreadable or empty."""
    if not path.exists():
        raise DataValidationError(f"{path}: file not found")
    if path.is_dir():
        raise DataValidationError(f"{path}: is a directory, not a CSV or Parquet file")
    try:
        with open(path, "rb") as handle:
            first = handle.read(1)
    except PermissionError as exc:
        raise DataValidationError(f"{path}: cannot be read ({exc.strerror})") from None
    if not first:
        raise DataValidationError(f"{path}: file is empty (0 bytes)")


def _open_text(path: Path):
    """Open a CSV as text, decompressing ``.gz``, ``.bz2``, ``.xz`` and one-file ``.zip``."""
    suffix = path.suffix.lower()
    if suffix in _OPENERS:
        return _OPENERS[suffix](path, "rt", encoding="utf-8-sig", errors="replace")
    if suffix == ".zip":
        archive = zipfile.ZipFile(path)
        return io.TextIOWrapper(archive.open(archive.namelist()[0]), encoding="utf-8-sig",
                                errors="replace")
    return open(path, encoding="utf-8-sig", errors="replace")


def sniff_csv_format(path: Path, sep: str | None, decimal: str | None) -> tuple[str, str]:
    """Guess the separator from the header line and the decimal mark from the separator.

    Spanish-language spreadsheets export ``;`` separated files with decimal commas.
    Compressed CSVs are guessed from their decompressed header.
    """
    if sep is None:
        with _open_text(path) as handle:
            header = handle.readline()
        counts = {s: header.count(s) for s in (",", ";", "\t", "|")}
        sep = max(counts, key=counts.get) if max(counts.values()) > 0 else ","
    if decimal is None:
        decimal = "," if sep == ";" else "."
    return sep, decimal


def _refuse_spreadsheets(path: Path) -> None:
    """Raise when the file is an Excel (or LibreOffice) workbook, whatever its suffix."""
    with open(path, "rb") as handle:
        magic = handle.read(8)
    is_workbook = path.suffix.lower() in EXCEL_SUFFIXES or magic.startswith(b"\xd0\xcf\x11\xe0")
    if magic.startswith(b"PK\x03\x04") and path.suffix.lower() != ".zip":
        try:
            with zipfile.ZipFile(path) as archive:
                is_workbook = is_workbook or any(n.startswith(("xl/", "content.xml"))
                                                 for n in archive.namelist())
        except zipfile.BadZipFile:
            pass
    if is_workbook:
        raise DataValidationError(
            f"{path}: is a spreadsheet workbook (Excel), which is not read; save the sheet as "
            f"CSV (UTF-8) and give that file")


def _read_csv(path: Path, sep: str, decimal: str, thousands: str | None) -> pd.DataFrame:
    """Read a CSV, refusing duplicated column names (which pandas would rename ``x.1``)."""
    options = {"sep": sep, "encoding": "utf-8-sig", "compression": "infer"}
    frame = pd.read_csv(path, decimal=decimal, thousands=thousands, **options)
    header = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False, **options)
    check_unique_column_names(list(header.iloc[0]), str(path))
    return frame


def read_transactions(
    path: str | os.PathLike, sep: str | None = None, decimal: str | None = None,
    thousands: str | None = None,
) -> pd.DataFrame:
    """Read a CSV (UTF-8, with or without BOM, optionally compressed) or Parquet extract.

    Args:
        path: the file to read.
        sep: CSV separator; guessed from the header line when None.
        decimal: CSV decimal mark; ``,`` for ``;`` separated files when None, else ``.``.
        thousands: CSV thousands separator (e.g. ``.`` in ``1.234,5``); None when there is none.
    """
    path = Path(path)
    _check_readable(path)
    if path.suffix.lower() in PARQUET_SUFFIXES:
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for damaged files
            raise DataValidationError(
                f"{path}: not a readable Parquet file ({type(exc).__name__}: {str(exc).splitlines()[0]})"
            ) from None
    else:
        _refuse_spreadsheets(path)
        try:
            sep, decimal = sniff_csv_format(path, sep, decimal)
            if thousands is not None and thousands == decimal:
                raise DataValidationError(
                    f"{path}: the thousands separator and the decimal mark are both {decimal!r}")
            frame = _read_csv(path, sep, decimal, thousands)
        except pd.errors.EmptyDataError:
            raise DataValidationError(f"{path}: file has no header and no rows") from None
        except UnicodeDecodeError as exc:
            raise DataValidationError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        except pd.errors.ParserError as exc:
            raise DataValidationError(f"{path}: not a valid CSV file ({str(exc).strip()})") from None
        except (OSError, EOFError, lzma.LZMAError, zipfile.BadZipFile) as exc:
            compressed = path.suffix.lower() in {*_OPENERS, ".zip"}
            kind = f"{path.suffix} compressed file" if compressed else "file"
            raise DataValidationError(f"{path}: not a readable {kind} ({exc})") from None
    check_unique_column_names(list(frame.columns), str(path))
    frame.columns = [str(c).strip() for c in frame.columns]
    frame.attrs["decimal"] = decimal or "."  # for numbers a bad value left as text
    if len(frame) == 0:
        raise DataValidationError(f"{path}: has a header but no data rows")
    return frame


def _to_flag(series: pd.Series, source: str) -> tuple[pd.Series, bool]:
    """Convert 0/1, 0.0/1.0, true/false or yes/no to numbers; return (values, converted)."""
    if pd.api.types.is_bool_dtype(series):
        return series.astype("float64"), True
    if pd.api.types.is_numeric_dtype(series):
        return series.astype("float64"), False
    words = series.astype("string").str.strip().str.lower()
    mapped = words.map(_FLAG_WORDS).astype("float64")
    bad = words.notna() & mapped.isna()
    if bad.any():
        positions = np.flatnonzero(bad.to_numpy())
        example = series.iloc[positions[0]]
        raise DataValidationError(
            f"{source}: column '{series.name}' has values that are not 0/1 or true/false at "
            f"{rows_text(positions)} (e.g. {example!r})"
        )
    return mapped, True


def _to_number(series: pd.Series, source: str, decimal: str = ".") -> tuple[pd.Series, bool]:
    """Convert a column to float; raise naming the rows whose text is not a number.

    ``decimal`` is the file's decimal mark: one bad value leaves a whole CSV column as text,
    and the good values in it are still read with the file's mark.
    """
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return series.astype("float64"), False
    text = series.astype("string").str.strip()
    if decimal != ".":
        text = text.str.replace(decimal, ".", regex=False)
    numbers = pd.to_numeric(text, errors="coerce")
    bad = series.notna() & numbers.isna()
    if bad.any():
        positions = np.flatnonzero(bad.to_numpy())
        example = series.iloc[positions[0]]
        raise DataValidationError(
            f"{source}: column '{series.name}' has non-numeric values at {rows_text(positions)} "
            f"(e.g. {example!r}){thousands_hint(example)}"
        )
    return numbers.astype("float64"), True


def _check_columns(frame: pd.DataFrame, source: str, required: list[str]) -> None:
    """Raise naming every required column the file lacks."""
    missing = [c for c in required if c not in frame.columns]
    if missing:
        found = ", ".join(map(str, frame.columns[:12]))
        raise DataValidationError(
            f"{source}: missing required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} (found: {found})"
        )


def _check_values(frame: pd.DataFrame, source: str, flags: list[str]) -> None:
    """Raise on infinite or out-of-range numbers (data_checks.VALUE_BOUNDS) and flags not 0/1."""
    for column, bounds in VALUE_BOUNDS.items():
        if column in frame.columns:
            check_bounds(frame[column], source, bounds)
    for column in flags:
        values = frame[column]
        outside = (values.notna() & ~values.isin([0.0, 1.0])).to_numpy()
        if outside.any():
            positions = np.flatnonzero(outside)
            shown = sorted({f"{v:g}" for v in values.iloc[positions[:50]]})
            raise DataValidationError(
                f"{source}: column '{column}' must be 0 or 1 but has {', '.join(shown)} at "
                f"{rows_text(positions)}"
            )


def validate_transactions(
    frame: pd.DataFrame,
    source: str,
    on_missing: str = "drop",
    duplicates: str = "keep",
    require_target: bool = True,
) -> tuple[pd.DataFrame, CleaningReport]:
    """Validate and clean an extract; return the clean frame and what was found.

    Args:
        frame: the raw table as read.
        source: the file name used in messages.
        on_missing: ``drop`` rows with missing required values (counted) or ``fail``.
        duplicates: ``keep`` or ``drop`` fully duplicated rows (counted either way).
        require_target: False for new transactions to score, which have no fraud label.
    """
    if on_missing not in {"drop", "fail"}:
        raise ValueError(f"on_missing must be 'drop' or 'fail', not {on_missing!r}")
    if duplicates not in {"keep", "drop"}:
        raise ValueError(f"duplicates must be 'keep' or 'drop', not {duplicates!r}")
    required = REQUIRED_COLUMNS if require_target else FEATURES
    check_unique_column_names(list(frame.columns), source)
    _check_columns(frame, source, required)
    report = CleaningReport(source=source, rows_read=len(frame))
    decimal = frame.attrs.get("decimal", ".")
    report.extra_columns = [c for c in frame.columns if c not in REQUIRED_COLUMNS]
    frame = frame.copy()
    flags = [c for c in FLAG_FEATURES + [TARGET] if c in frame.columns]
    for column in CONTINUOUS_FEATURES:
        frame[column], converted = _to_number(frame[column], source, decimal)
        if converted:
            report.converted_columns[column] = "text to number"
    for column in flags:
        frame[column], converted = _to_flag(frame[column], source)
        if converted:
            report.converted_columns[column] = "true/false to 0/1"
    _convert_context_columns(frame, source, report)
    _check_values(frame, source, flags)
    # The analysis data also needs the context it uses (amounts for costs, times for the
    # split); new purchases to score need only the model inputs.
    used = REQUIRED_COLUMNS + (CONTEXT_COLUMNS[:-1] if require_target else [])
    present = [c for c in used if c in frame.columns]
    frame, report = _handle_missing(frame, report, present, on_missing)
    report.duplicate_rows = int(frame.duplicated(subset=present).sum())
    if duplicates == "drop" and report.duplicate_rows:
        frame = frame.drop_duplicates(subset=present)
        report.duplicate_rows_dropped = report.duplicate_rows
    if len(frame) == 0:
        raise DataValidationError(f"{source}: no rows left after dropping rows with missing values")
    if require_target:
        _check_two_classes(frame, source)
    frame = compact_dtypes(frame.reset_index(drop=True))
    report.rows_kept = len(frame)
    return frame, report


def _convert_context_columns(frame: pd.DataFrame, source: str, report: CleaningReport) -> None:
    """Convert the optional columns the analysis uses (amount, coordinates, timestamp, city)."""
    converted = {}
    for column in [c for c in CONTEXT_NUMBERS if c in frame.columns]:
        frame[column], converted[column] = _to_number(frame[column], source,
                                                      frame.attrs.get("decimal", "."))
    if "timestamp" in frame.columns:
        frame["timestamp"], converted["timestamp"] = to_timestamps(frame["timestamp"], source)
    if "city" in frame.columns:
        frame["city"], converted["city"] = to_text(frame["city"])
    words = {"timestamp": "text to date and time", "city": "to text"}
    report.converted_columns.update({c: words.get(c, "text to number")
                                     for c, done in converted.items() if done})


def missing_values_error(frame: pd.DataFrame, columns: list[str], source: str,
                         hint: str) -> DataValidationError | None:
    """Return the error naming the columns and rows with missing values, or None if none."""
    missing = frame[columns].isna()
    rows = missing.any(axis=1).to_numpy()
    if not rows.any():
        return None
    named = ", ".join(c for c in columns if missing[c].any())
    return DataValidationError(
        f"{source}: missing values in column(s) {named} at {rows_text(np.flatnonzero(rows))}{hint}"
    )


def _handle_missing(frame, report, present, on_missing):
    """Count rows with missing required values; drop them or raise per ``on_missing``."""
    missing = frame[present].isna()
    report.missing_by_column = {c: int(n) for c, n in missing.sum().items() if n}
    any_missing = missing.any(axis=1).to_numpy()
    report.rows_with_missing = int(any_missing.sum())
    if report.rows_with_missing and on_missing == "fail":
        raise missing_values_error(
            frame, present, report.source,
            " (load.on_missing is 'fail'; set it to 'drop' to drop such rows)")
    if report.rows_with_missing:
        frame = frame.loc[~any_missing]
        report.missing_rows_dropped = report.rows_with_missing
    return frame, report


def _check_two_classes(frame: pd.DataFrame, source: str) -> None:
    """Raise when the fraud column holds only one class (nothing to learn or compare)."""
    classes = frame[TARGET].unique()
    if len(classes) < 2:
        label = "fraud (1)" if classes[0] == 1 else "legitimate (0)"
        raise DataValidationError(
            f"{source}: column 'fraud' has one class only: all {len(frame)} rows are {label}; "
            f"the analysis needs both fraudulent and legitimate purchases"
        )


def compact_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    """Store flags as int8 and repeated text as categories; keep distances as float64."""
    for column in FLAG_FEATURES + [TARGET]:
        if column in frame.columns:
            frame[column] = frame[column].astype("int8")
    for column in frame.columns:
        if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
            if frame[column].nunique(dropna=True) <= max(50, len(frame) // 20):
                frame[column] = frame[column].astype("category")
    return frame


def model_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Return the seven model inputs as float64, the schema the registered model expects."""
    return frame[FEATURES].astype("float64")


def load_file(
    path: str | os.PathLike,
    sep: str | None = None,
    decimal: str | None = None,
    on_missing: str = "drop",
    duplicates: str = "keep",
    require_target: bool = True,
    thousands: str | None = None,
) -> tuple[pd.DataFrame, CleaningReport]:
    """Read and validate one extract; the one entry point for files (load step and scoring)."""
    raw = read_transactions(path, sep=sep, decimal=decimal, thousands=thousands)
    return validate_transactions(
        raw, str(path), on_missing=on_missing, duplicates=duplicates, require_target=require_target
    )
