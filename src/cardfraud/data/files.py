"""Read an extract from disk: CSV (plain or compressed, separator guessed) or Parquet.

Refuses what cannot be read with one line naming the file: missing, empty, unreadable,
a folder, a damaged Parquet or compressed file, a spreadsheet workbook, duplicated column
names. Validation of the values is :func:`cardfraud.data.cleaning.validate_transactions`.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import os
import zipfile
from pathlib import Path

import pandas as pd

from .checks import DataValidationError, check_unique_column_names

PARQUET_SUFFIXES = {".parquet", ".pq"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"}
_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}


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


def read_header_line(path: Path, sep: str | None = None) -> list[str]:
    """Return a CSV's column names (surrounding spaces stripped) without reading its rows."""
    sep, _ = sniff_csv_format(path, sep, None)
    header = pd.read_csv(path, sep=sep, nrows=0, encoding="utf-8-sig", compression="infer")
    return [str(name).strip() for name in header.columns]


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
