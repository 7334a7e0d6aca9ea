"""Load, validate, clean and profile transaction extracts with the card_transdata schema.

Every problem with an input file raises :class:`DataValidationError` whose message is one
line naming the file, the column and the offending rows (1 = first data row). Files are read
by :mod:`cardfraud.data.files`; the rules on values and their messages live in
:mod:`cardfraud.data.checks`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..report.translate import N_
from .checks import (
    VALUE_BOUNDS,
    DataValidationError,
    check_bounds,
    check_unique_column_names,
    require_columns,
    rows_text,
    thousands_hint,
    to_text,
    to_timestamps,
)
from .column_mapping import apply_column_mapping
from .files import read_transactions
from .schema import (
    CHECKED_CONTEXT,
    CONTEXT_NUMBERS,
    CONTINUOUS_FEATURES,
    FEATURES,
    FLAG_FEATURES,
    REQUIRED_COLUMNS,
    TARGET,
    available_inputs,
    compact_dtypes,
)

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
    required_columns: str = "all 8"  # what the required-columns check found (raw: other ones)


def _to_flag(series: pd.Series, source: str) -> tuple[pd.Series, bool]:
    """Convert 0/1, 0.0/1.0, true/false or yes/no to numbers; return (values, converted)."""
    if pd.api.types.is_bool_dtype(series):
        return series.astype("float64"), True
    if pd.api.types.is_numeric_dtype(series):
        return series.astype("float64"), False
    words = series.astype("string").str.strip().str.lower()
    mapped = words.map(_FLAG_WORDS).astype("float64")
    _refuse_unread(series, words.notna() & mapped.isna(), source, NOT_A_FLAG)
    return mapped, True


def _refuse_unread(series: pd.Series, bad: pd.Series, source: str, what: str,
                   hint=lambda example: "") -> None:
    """Raise naming the rows of ``series`` that ``bad`` marks, with the first as example."""
    if bad.any():
        positions = np.flatnonzero(bad.to_numpy())
        raise unread_values_error(source, str(series.name), what, positions,
                                  series.iloc[positions[0]], hint)


NOT_A_FLAG = "values that are not 0/1 or true/false"
NOT_A_NUMBER = "non-numeric values"
FLAG_WORDS = _FLAG_WORDS  # the words a flag column may hold, and what each means


def unread_values_error(source: str, column: str, what: str, positions, example,
                        hint=lambda example: "") -> DataValidationError:
    """The one-line error for values that cannot be read (not numbers, not flags)."""
    return DataValidationError(f"{source}: column '{column}' has {what} at "
                               f"{rows_text(positions)} (e.g. {example!r}){hint(example)}")


def to_number(series: pd.Series, source: str, decimal: str = ".") -> tuple[pd.Series, bool]:
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
    _refuse_unread(series, series.notna() & numbers.isna(), source, NOT_A_NUMBER,
                   thousands_hint)
    return numbers.astype("float64"), True


CHANNEL_INPUT = "online_order"  # the one input no analysis can do without


def no_channel_error(source: str) -> DataValidationError:
    """The refusal of an extract that cannot say which purchases were online."""
    return DataValidationError(
        f"{source}: no {CHANNEL_INPUT} (online or onsite) can be had from the file, and every "
        f"analysis splits purchases by channel: give the channel column (load.columns, "
        f"load.codes) or a category with load.codes.online_category_suffix")


def _check_columns(frame: pd.DataFrame, source: str, required: list[str]) -> None:
    """Raise naming every required column the file lacks."""
    require_columns(frame, required, source, lead="missing required")


def _required_inputs(frame: pd.DataFrame, source: str, allow_missing: bool,
                     required: list[str] | None) -> list[str]:
    """Return the inputs the extract must carry; raise when it may lack some but has none, or
    lacks the channel (``online_order``), which splits every analysis into onsite and online."""
    if required is not None:
        return list(required)
    if not allow_missing:
        return list(FEATURES)
    present = available_inputs(frame)
    if present and CHANNEL_INPUT not in present:
        raise no_channel_error(source)
    if not present:
        raise DataValidationError(
            f"{source}: none of the seven model inputs ({', '.join(FEATURES)}) is in the file "
            f"(found: {', '.join(map(str, frame.columns[:12]))}); a raw extract derives them "
            f"with load.source=raw")
    return present


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
            raise flag_values_error(source, column, values.iloc[positions[:50]], positions)


def flag_values_error(source: str, column: str, first_values, positions) -> DataValidationError:
    """The one-line error for flags other than 0/1 (``first_values``: the first 50 offenders)."""
    shown = sorted({f"{v:g}" for v in first_values})
    return DataValidationError(
        f"{source}: column '{column}' must be 0 or 1 but has {', '.join(shown)} at "
        f"{rows_text(positions)}")


def validate_transactions(
    frame: pd.DataFrame,
    source: str,
    on_missing: str = "drop",
    duplicates: str = "keep",
    require_target: bool = True,
    allow_missing_inputs: bool = False,
    required_inputs: list[str] | None = None,
) -> tuple[pd.DataFrame, CleaningReport]:
    """Validate and clean an extract; return the clean frame and what was found.

    Args:
        frame: the raw table as read.
        source: the file name used in messages.
        on_missing: ``drop`` rows with missing required values (counted) or ``fail``.
        duplicates: ``keep`` or ``drop`` fully duplicated rows (counted either way).
        require_target: False for new transactions to score, which have no fraud label.
        allow_missing_inputs: True (``load.allow_missing_inputs``) accepts an extract that
            lacks some of the seven inputs: they stay absent (unknown), never filled in.
        required_inputs: the inputs the file must carry (a model's own inputs, for scoring);
            None = all seven (or, with ``allow_missing_inputs``, at least one).
    """
    if on_missing not in {"drop", "fail"}:
        raise ValueError(f"on_missing must be 'drop' or 'fail', not {on_missing!r}")
    if duplicates not in {"keep", "drop"}:
        raise ValueError(f"duplicates must be 'keep' or 'drop', not {duplicates!r}")
    check_unique_column_names(list(frame.columns), source)
    inputs = _required_inputs(frame, source, allow_missing_inputs, required_inputs)
    _check_columns(frame, source, inputs + ([TARGET] if require_target else []))
    report = CleaningReport(source=source, rows_read=len(frame))
    decimal = frame.attrs.get("decimal", ".")
    report.extra_columns = [c for c in frame.columns if c not in REQUIRED_COLUMNS]
    frame = frame.copy()
    flags = [c for c in FLAG_FEATURES + [TARGET] if c in frame.columns]
    for column in [c for c in CONTINUOUS_FEATURES if c in frame.columns]:
        frame[column], converted = to_number(frame[column], source, decimal)
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
    used = REQUIRED_COLUMNS + (CHECKED_CONTEXT if require_target else [])
    present = [c for c in used if c in frame.columns]
    frame, report = _handle_missing(frame, report, present, on_missing)
    report.duplicate_rows = int(frame.duplicated(subset=present).sum())
    if duplicates == "drop" and report.duplicate_rows:
        frame = frame.drop_duplicates(subset=present)
        report.duplicate_rows_dropped = report.duplicate_rows
    if len(frame) == 0:
        raise no_rows_left_error(source)
    if require_target:
        _check_two_classes(frame, source)
    frame = compact_dtypes(frame.reset_index(drop=True))
    report.rows_kept = len(frame)
    return frame, report


def no_rows_left_error(source: str) -> DataValidationError:
    """The one-line error for an extract whose every row had missing values."""
    return DataValidationError(f"{source}: no rows left after dropping rows with missing values")


MISSING_FAIL_HINT = " (load.on_missing is 'fail'; set it to 'drop' to drop such rows)"


def _convert_context_columns(frame: pd.DataFrame, source: str, report: CleaningReport) -> None:
    """Convert the optional columns the analysis uses (amount, coordinates, timestamp, city)."""
    converted = {}
    for column in [c for c in CONTEXT_NUMBERS if c in frame.columns]:
        frame[column], converted[column] = to_number(frame[column], source,
                                                      frame.attrs.get("decimal", "."))
    if "timestamp" in frame.columns:
        frame["timestamp"], converted["timestamp"] = to_timestamps(frame["timestamp"], source)
    if "city" in frame.columns:
        frame["city"], converted["city"] = to_text(frame["city"])
    words = {"timestamp": N_("text to date and time"), "city": N_("to text")}
    report.converted_columns.update({c: words.get(c, N_("text to number"))
                                     for c, done in converted.items() if done})


def missing_values_error(frame: pd.DataFrame, columns: list[str], source: str,
                         hint: str) -> DataValidationError | None:
    """Return the error naming the columns and rows with missing values, or None if none."""
    missing = frame[columns].isna()
    rows = missing.any(axis=1).to_numpy()
    if not rows.any():
        return None
    return missing_values_text(source, [c for c in columns if missing[c].any()],
                               np.flatnonzero(rows), hint)


def missing_values_text(source: str, columns: list[str], positions,
                        hint: str) -> DataValidationError:
    """The one-line error naming the ``columns`` with missing values and the rows."""
    return DataValidationError(
        f"{source}: missing values in column(s) {', '.join(columns)} at {rows_text(positions)}"
        f"{hint}")


def _handle_missing(frame, report, present, on_missing):
    """Count rows with missing required values; drop them or raise per ``on_missing``."""
    missing = frame[present].isna()
    report.missing_by_column = {c: int(n) for c, n in missing.sum().items() if n}
    any_missing = missing.any(axis=1).to_numpy()
    report.rows_with_missing = int(any_missing.sum())
    if report.rows_with_missing and on_missing == "fail":
        raise missing_values_error(
            frame, present, report.source, MISSING_FAIL_HINT)
    if report.rows_with_missing:
        frame = frame.loc[~any_missing]
        report.missing_rows_dropped = report.rows_with_missing
    return frame, report


def _check_two_classes(frame: pd.DataFrame, source: str) -> None:
    """Raise when the fraud column holds only one class (nothing to learn or compare)."""
    classes = frame[TARGET].unique()
    if len(classes) < 2:
        raise one_class_error(source, classes[0], len(frame))


def one_class_error(source: str, label_value, rows: int) -> DataValidationError:
    """The one-line error for a fraud column with one class only."""
    label = "fraud (1)" if label_value == 1 else "legitimate (0)"
    return DataValidationError(
        f"{source}: column 'fraud' has one class only: all {rows} rows are {label}; "
        f"the analysis needs both fraudulent and legitimate purchases")


def load_file(
    path: str | os.PathLike,
    sep: str | None = None,
    decimal: str | None = None,
    on_missing: str = "drop",
    duplicates: str = "keep",
    require_target: bool = True,
    thousands: str | None = None,
    columns: dict | None = None,
    allow_missing_inputs: bool = False,
    required_inputs: list[str] | None = None,
) -> tuple[pd.DataFrame, CleaningReport]:
    """Read and validate one extract; the one entry point for files (load step and scoring).

    ``columns`` maps canonical names to the file's own headers (``load.columns``).
    """
    raw = apply_column_mapping(read_transactions(path, sep=sep, decimal=decimal,
                                                 thousands=thousands), columns, str(path))
    return validate_transactions(
        raw, str(path), on_missing=on_missing, duplicates=duplicates,
        require_target=require_target, allow_missing_inputs=allow_missing_inputs,
        required_inputs=required_inputs,
    )
