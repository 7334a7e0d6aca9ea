"""The load step's rules on an extract's values, computed with Spark aggregations.

The same rules, in the same order, and the same one-line messages as
:func:`cardfraud.data.cleaning.validate_transactions` (the message functions are shared): one
aggregation counts every kind of offending value at once; only when a rule is broken are the
first few offending rows fetched (their positions and values), never the whole table.

A row's number is its place in the file (1 = first data row), as in the pandas engine: every
row carries an id (``monotonically_increasing_id``: the partition in its upper bits, the place
in the partition below) and, when a message needs row numbers, the rows of each partition are
counted to turn ids into places.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ..data.checks import (
    DataValidationError,
    OffendingRows,
    bounds_error,
    bounds_problems,
    not_timestamps_error,
    numbers_not_timestamps_error,
    thousands_hint,
)
from ..data.cleaning import (
    FLAG_WORDS,
    NOT_A_NUMBER,
    flag_values_error,
    missing_values_text,
    unread_values_error,
)

ROW_ID = "_cardfraud_row_id"
BAD_LINE = "_cardfraud_bad_line"  # a CSV line Spark could not fit to the header, as written
INTERNAL_COLUMNS = (ROW_ID, BAD_LINE)
_PARTITION_BITS = 33  # monotonically_increasing_id: partition index << 33 | place in partition


def with_row_ids(frame: DataFrame) -> DataFrame:
    """Return the frame with a row id in file order (see the module docstring)."""
    return frame.withColumn(ROW_ID, F.monotonically_increasing_id())


class OffendingRowFinder:
    """Fetch the first rows a condition marks, as 0-based places in the file."""

    def __init__(self, frame: DataFrame):
        self.frame = frame
        self._starts: dict[int, int] | None = None

    def _partition_starts(self) -> dict[int, int]:
        """Return each partition's first place (one small aggregation, counted once)."""
        if self._starts is None:
            partition = F.shiftright(F.col(ROW_ID), _PARTITION_BITS).alias("partition")
            counts = sorted(self.frame.groupBy(partition).count().collect())
            self._starts, total = {}, 0
            for row in counts:
                self._starts[row["partition"]] = total
                total += row["count"]
        return self._starts

    def first(self, marked: Column, value: Column, count: int = 5) -> list[tuple[int, object]]:
        """Return (place, value) of the first ``count`` marked rows, in file order."""
        rows = (self.frame.filter(marked).select(ROW_ID, value.alias("value"))
                .orderBy(ROW_ID).limit(count).collect())
        starts = self._partition_starts()
        mask = (1 << _PARTITION_BITS) - 1
        return [(starts[row[ROW_ID] >> _PARTITION_BITS] + (row[ROW_ID] & mask), row["value"])
                for row in rows]

    def offending(self, marked: Column, value: Column, total: int, count: int = 5):
        """Return (OffendingRows, the first rows' values) for a rule broken ``total`` times."""
        first = self.first(marked, value, count)
        return OffendingRows([place for place, _ in first], total), [v for _, v in first]


def is_text(frame: DataFrame, column: str) -> bool:
    """Say whether a column holds text (every column of a CSV, read as text)."""
    return isinstance(frame.schema[column].dataType, T.StringType)


def is_number(frame: DataFrame, column: str) -> bool:
    """Say whether a column holds numbers (booleans are not numbers here)."""
    return isinstance(frame.schema[column].dataType, T.NumericType)


def text_as_number(frame: DataFrame, column: str, decimal: str) -> Column:
    """The column's values as doubles (text read with the file's decimal mark; else null)."""
    if is_number(frame, column):
        return F.col(column).cast("double")
    text = F.trim(F.col(column).cast("string"))
    if decimal != ".":
        text = F.translate(text, decimal, ".")
    return text.try_cast("double")


def text_as_flag(column: str) -> Column:
    """A flag's words (0/1, 1.0/0.0, true/false, yes/no) as 0.0/1.0; null when not one."""
    words = F.create_map(*[F.lit(v) for pair in FLAG_WORDS.items() for v in pair])
    return words[F.lower(F.trim(F.col(column).cast("string")))].cast("double")


def is_missing(value: Column) -> Column:
    """True where a value is empty (null, or NaN as pandas counts it)."""
    return value.isNull() | F.isnan(value)


def is_missing_raw(frame: DataFrame, column: str) -> Column:
    """True where a column as read is empty (null, or a NaN number)."""
    if isinstance(frame.schema[column].dataType, (T.DoubleType, T.FloatType)):
        return is_missing(F.col(column))
    return F.col(column).isNull()


@dataclass
class Rule:
    """One way a column's values can be wrong: the rows it marks and how it is worded."""

    name: str
    marked: Column
    value: Column  # what the message shows of the first offending row
    error: object  # callable(OffendingRows, first values, counts) -> DataValidationError
    rows_shown: int = 5


def unread_rule(source: str, column: str, what: str, marked: Column, hint=None) -> Rule:
    """The rule refusing values that cannot be read as numbers (``what``) or flags."""
    def error(rows, values, counts):
        return unread_values_error(source, column, what, rows, values[0],
                                   hint or (lambda example: ""))
    return Rule(f"unread {column}", marked, F.col(column), error)


def number_rule(frame: DataFrame, source: str, column: str, decimal: str) -> Rule | None:
    """The rule refusing text that is not a number in ``column`` (None when it holds numbers)."""
    if is_number(frame, column):
        return None
    marked = F.col(column).isNotNull() & text_as_number(frame, column, decimal).isNull()
    return unread_rule(source, column, NOT_A_NUMBER, marked, thousands_hint)


def bounds_rules(source: str, column: str, value: Column, bounds) -> list[Rule]:
    """The rules refusing infinite values, values below and values above ``bounds``."""
    finite = ~F.isnan(value)  # Spark orders NaN above every number: keep it out of "above"
    marks = [value.isin(float("inf"), float("-inf")), finite & (value < bounds.low),
             finite & (value > bounds.high)]

    def error_for(what, why):
        return lambda rows, values, counts: bounds_error(source, column, what, why, rows,
                                                 float(values[0]))
    return [Rule(f"{what} {column}", marked, value, error_for(what, why))
            for marked, (what, why) in zip(marks, bounds_problems(bounds), strict=True)]


def flag_rule(source: str, column: str, value: Column) -> Rule:
    """The rule refusing flags other than 0/1 (the message shows the first 50 offenders)."""
    marked = value.isNotNull() & ~F.isnan(value) & ~value.isin(0.0, 1.0)
    return Rule(f"not 0/1 {column}", marked, value,
                lambda rows, values, counts: flag_values_error(source, column, values, rows), 50)


def timestamp_rules(frame: DataFrame, source: str, column: str) -> tuple[Column, list[Rule]]:
    """Return the column as timestamps and the rules refusing what is not a date and time."""
    kind = frame.schema[column].dataType
    if isinstance(kind, (T.TimestampType, T.TimestampNTZType, T.DateType)):
        return F.col(column).cast("timestamp"), []
    if isinstance(kind, (T.NumericType, T.BooleanType)):
        rule = Rule(f"numbers {column}", F.col(column).isNotNull(), F.col(column),
                    lambda rows, values, counts: numbers_not_timestamps_error(source, column, values[0]),
                    1)
        return F.col(column).cast("timestamp"), [rule]
    stamps = F.try_to_timestamp(F.trim(F.col(column)))
    rule = Rule(f"not dates {column}", F.col(column).isNotNull() & stamps.isNull(), F.col(column),
                lambda rows, values, counts: not_timestamps_error(source, column, rows, values[0]))
    return stamps, [rule]


def count_marked(frame: DataFrame, marks: dict[str, Column]) -> dict[str, int]:
    """Count the rows each condition marks, all in one aggregation (plus ``rows``)."""
    sums = [F.sum(F.when(mark, 1).otherwise(0)).alias(f"c{i}") for i, mark in
            enumerate(marks.values())]
    row = frame.agg(F.count(F.lit(1)).alias("rows"), *sums).collect()[0]
    counts = {name: int(row[f"c{i}"] or 0) for i, name in enumerate(marks)}
    counts["rows"] = int(row["rows"])
    return counts


def raise_first_broken(finder: OffendingRowFinder, rules: list[Rule],
                       counts: dict[str, int]) -> None:
    """Raise the message of the first rule (in the pandas engine's order) that rows break."""
    for rule in rules:
        total = counts.get(rule.name, 0)
        if total:
            rows, values = finder.offending(rule.marked, rule.value, total, rule.rows_shown)
            raise rule.error(rows, values, counts)


def ragged_line_rule(source: str, sep: str, fields: int, column: str) -> Rule:
    """The rule refusing a CSV line with more fields than the header, worded as pandas' CSV
    reader words it (a line with fewer fields gets empty values, as in pandas).

    ``column``: any column of the file, which the query reads besides the line itself.
    """
    seen = F.size(F.split(F.col(BAD_LINE), re.escape(sep)))  # quoted separators aside

    def error(rows, values, counts):
        return DataValidationError(
            f"{source}: not a valid CSV file (Error tokenizing data. C error: Expected {fields} "
            f"fields in line {rows.first[0] + 2}, saw {values[0]['seen']})")
    return Rule("ragged line", F.col(BAD_LINE).isNotNull() & (seen > fields),
                F.struct(seen.alias("seen"), F.col(column).alias("first")), error, 1)


def missing_rule(frame: DataFrame, source: str, columns: list[str], hint: str,
                 name: str = "missing") -> tuple[Rule, dict[str, Column]]:
    """The rule refusing rows with empty values in ``columns``, and the per-column marks its
    message needs (which columns have them); the marks are counted with the rules."""
    by_column = {f"{name} {c}": is_missing_raw(frame, c) for c in columns}
    any_missing = F.lit(False)
    for mark in by_column.values():
        any_missing = any_missing | mark

    def error(rows, values, counts):
        lacking = [c for c in columns if counts.get(f"{name} {c}", 0)]
        return missing_values_text(source, lacking, rows, hint)
    return Rule(name, any_missing, F.lit(None), error), by_column
