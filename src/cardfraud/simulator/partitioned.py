"""A directory of Parquet files partitioned by purchase date, written whole or not at all.

Used by the chunked simulator (:mod:`.chunked`). Layout (Hive partitioning, which pandas,
pyarrow and Spark read as one dataset)::

    DIR/purchase_date=2024-01-01/part-00000.parquet   # chunk 0's purchases of that date
    DIR/purchase_date=2024-01-01/part-00001.parquet   # chunk 1's
    ...
    DIR/_captured_cards.parquet                        # ground truth; dataset readers skip "_" files

The files go into a hidden sibling ``.DIR.cardfraud-<pid>-<8 hex>.tmp`` (the naming of
:mod:`cardfraud.runner.atomic_write`), renamed onto ``DIR`` when everything is written; on any
error it is removed and ``DIR`` keeps what it had.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..runner.atomic_write import temporary_path

PARTITION_COLUMN = "purchase_date"
CAPTURED_CARDS_FILE = "_captured_cards.parquet"


class DirectoryWriter:
    """Write Parquet files into a temporary directory; ``with`` renames it onto the target on success."""

    def __init__(self, target, overwrite: bool = False):
        """Check the target now (ValueError when it is a file, or a non-empty dir without ``overwrite``)."""
        self.target = Path(target)
        if self.target.exists() and not self.target.is_dir():
            raise ValueError(f"simulator: {self.target} exists and is not a directory")
        if self.target.is_dir() and any(self.target.iterdir()) and not overwrite:
            raise ValueError(f"simulator: {self.target} exists and is not empty; give --overwrite to replace it")
        self.files = 0
        self.tmp: Path | None = None

    def __enter__(self) -> DirectoryWriter:
        """Create the hidden temporary directory beside the target."""
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = temporary_path(self.target)
        self.tmp.mkdir()
        return self

    def __exit__(self, kind, error, traceback) -> None:
        """On success put the temporary directory in the target's place; on error remove it."""
        if kind is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        old = None
        if self.target.exists():
            old = temporary_path(self.target)
            os.replace(self.target, old)
        os.replace(self.tmp, self.target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def write_chunk(self, purchases: pd.DataFrame, chunk: int) -> None:
        """Write one chunk's purchases: one file per purchase date, ``part-<chunk>.parquet``."""
        day = purchases["timestamp"].to_numpy().astype("datetime64[D]")
        order = np.argsort(day, kind="stable")
        table = pa.Table.from_pandas(purchases, preserve_index=False).take(order)
        dates, starts = np.unique(day[order], return_index=True)
        ends = np.append(starts[1:], len(order))
        for date, start, end in zip(dates, starts, ends, strict=True):
            folder = self.tmp / f"{PARTITION_COLUMN}={date}"
            folder.mkdir(exist_ok=True)
            self._write(table.slice(start, end - start), folder / f"part-{chunk:05d}.parquet")

    def write_table(self, frame: pd.DataFrame, name: str) -> None:
        """Write a frame as one Parquet file at the top of the directory."""
        self._write(pa.Table.from_pandas(frame, preserve_index=False), self.tmp / name)

    def _write(self, table: pa.Table, path: Path) -> None:
        """One Parquet file with timestamps in microseconds (Spark reads no nanoseconds)."""
        pq.write_table(table, path, coerce_timestamps="us")
        self.files += 1
