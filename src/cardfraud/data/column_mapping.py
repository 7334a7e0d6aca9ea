"""The bank's own column headers mapped to the names the analysis reads (``load.columns``).

The core system exports ``NUM_TARJETA`` or ``FECHA_HORA`` where the analysis reads ``card_id``
and ``timestamp``: ``load.columns`` maps each canonical name (a model input, ``fraud`` or a
context column of :mod:`cardfraud.data.schema`, or a raw extract's ``entry_mode``,
``verification``, ``channel``, ``category``, ``home_city`` or ``home_postal_code``) to the header that holds it, for example
``{card_id: NUM_TARJETA, timestamp: FECHA_HORA, merchant_id: COD_COMERCIO}``. A mapping naming
a header the file lacks, two names mapped to one header, or a mapped header whose new name the
file already has, is refused with one line naming the file and the header.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from .checks import DataValidationError
from .schema import CONTEXT_COLUMNS, HOME_COORDINATES, RAW_COLUMNS, REQUIRED_COLUMNS

MAPPABLE_COLUMNS = [*REQUIRED_COLUMNS, *CONTEXT_COLUMNS, *HOME_COORDINATES, *RAW_COLUMNS]
_FOUND_SHOWN = 12


def shared_headers(columns: dict) -> str | None:
    """Return the sentence naming a header two names are mapped to, or None when there is none."""
    counts = Counter(str(header).strip() for header in columns.values())
    repeated = [header for header, count in counts.items() if count > 1]
    if not repeated:
        return None
    names = [name for name, header in columns.items() if str(header).strip() == repeated[0]]
    return (f"load.columns maps {' and '.join(names)} to the same header {repeated[0]!r}; each "
            f"header holds one column, so map it once")


def check_column_mapping(columns: dict, headers: list[str], source: str) -> None:
    """Raise unless every mapped header is in ``headers`` once and no new name clashes.

    Args:
        columns: canonical name -> the file's header (``load.columns``).
        headers: the file's column names (surrounding spaces stripped).
        source: the file name used in messages.
    """
    unknown = [name for name in columns if name not in MAPPABLE_COLUMNS]
    if unknown:
        raise DataValidationError(
            f"{source}: load.columns maps {unknown[0]!r}, which is not a column the analysis "
            f"reads (names: {', '.join(MAPPABLE_COLUMNS)})")
    shared = shared_headers(columns)
    if shared:
        raise DataValidationError(f"{source}: {shared}")
    present = set(headers)
    for name, header in columns.items():
        header = str(header).strip()
        if header not in present:
            found = ", ".join(headers[:_FOUND_SHOWN]) + (", ..." if len(headers) > _FOUND_SHOWN else "")
            raise DataValidationError(
                f"{source}: load.columns maps {name} to the header {header!r}, which the file "
                f"lacks (found: {found})")
    renamed = {str(header).strip() for header in columns.values()}
    for name in columns:
        if name in present and name not in renamed:
            raise DataValidationError(
                f"{source}: load.columns maps {name} to {str(columns[name]).strip()!r}, but the "
                f"file also has a column {name!r}; remove one of them or map that one too")


def apply_column_mapping(frame, columns: dict | None, source: str):
    """Return ``frame`` with the bank's headers renamed to the canonical names (checked first)."""
    if not columns:
        return frame
    check_column_mapping(columns, [str(c) for c in frame.columns], source)
    renamed = frame.rename(columns={str(header).strip(): name for name, header in columns.items()})
    renamed.attrs.update(frame.attrs)
    return renamed


def read_headers(path: str | os.PathLike, sep: str | None = None) -> list[str] | None:
    """Return a CSV's or Parquet file's column names without reading its rows; None if unreadable.

    Lets run_all refuse a wrong ``load.columns`` before any notebook starts; a file that cannot
    be read is left to the load step, which names the problem.
    """
    from .files import PARQUET_SUFFIXES, read_header_line

    path = Path(path)
    try:
        if path.suffix.lower() in PARQUET_SUFFIXES:
            import pyarrow.parquet as pq

            return [str(name).strip() for name in pq.read_schema(path).names]
        return read_header_line(path, sep)
    except Exception:  # any unreadable file: the load step reports it with its own message
        return None


def check_mapping_before_run(load: dict) -> None:
    """Raise DataValidationError when ``load.columns`` does not fit ``load.path``'s headers."""
    columns, path = load.get("columns") or {}, load.get("path")
    if not columns or not path:
        return
    headers = read_headers(path, load.get("sep"))
    if headers is not None:
        check_column_mapping(columns, headers, str(path))


def mapping_argument(pairs: list[str], parser) -> dict:
    """Return ``{name: header}`` from ``--column name=header`` arguments (exit 2 when malformed)."""
    columns = {}
    for pair in pairs:
        name, _, header = pair.partition("=")
        if not name.strip() or not header.strip():
            parser.error(f"--column {pair!r}: write NAME=HEADER, e.g. card_id=NUM_TARJETA")
        columns[name.strip()] = header.strip()
    return columns
