"""Validate and clean an extract held in Spark, as the load step and ``score`` do in pandas.

:func:`validate_extract` follows :func:`cardfraud.data.cleaning.validate_transactions` step by
step (required columns, numbers, flags, context columns, ranges, 0/1 flags, missing values, one
class only) and :func:`check_purchases_to_score` follows
:func:`cardfraud.serving.scorer.check_purchases`; the rules are in
:mod:`cardfraud.engines.spark_checks`. One aggregation counts everything; the driver gets
counts and, for a broken rule, its first offending rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ..data.checks import VALUE_BOUNDS, require_columns
from ..data.cleaning import (
    MISSING_FAIL_HINT,
    NOT_A_FLAG,
    CleaningReport,
    no_rows_left_error,
    one_class_error,
)
from ..data.schema import (
    CHECKED_CONTEXT,
    CONTEXT_NUMBERS,
    CONTINUOUS_FEATURES,
    FEATURES,
    FLAG_FEATURES,
    REQUIRED_COLUMNS,
    TARGET,
    TIMESTAMP,
)
from .spark_checks import (
    BAD_LINE,
    INTERNAL_COLUMNS,
    OffendingRowFinder,
    Rule,
    bounds_rules,
    count_marked,
    flag_rule,
    is_number,
    is_text,
    missing_rule,
    number_rule,
    ragged_line_rule,
    raise_first_broken,
    text_as_flag,
    text_as_number,
    timestamp_rules,
    unread_rule,
)


@dataclass
class SparkExtract:
    """An extract as Spark read it: the frame (with row ids), the name used in messages, the
    file's decimal mark, and whether it is a CSV (every column read as text)."""

    frame: DataFrame
    source: str
    decimal: str = "."
    from_csv: bool = False
    sep: str = ","


@dataclass
class ScoringChecks:
    """What ``score`` checks before the load step's rules: every input filled (but those the
    model fills itself) and the card-history inputs in their ranges."""

    hint: str
    may_be_unknown: list[str] = field(default_factory=list)
    history_bounds: dict = field(default_factory=dict)


@dataclass
class _Plan:
    """The converted columns, the rules in the pandas engine's order, and extra marks."""

    values: dict = field(default_factory=dict)
    converted: dict = field(default_factory=dict)
    rules: list = field(default_factory=list)
    marks: dict = field(default_factory=dict)
    csv_flags: dict = field(default_factory=dict)  # CSV flag column -> (number, words) readings

    def add(self, *rules: Rule | None) -> None:
        """Append the rules (None: nothing to check)."""
        self.rules += [rule for rule in rules if rule is not None]


def _plan_numbers(extract: SparkExtract, plan: _Plan, columns: list[str], word: str) -> None:
    """Read ``columns`` as numbers: the rule refusing text that is not one, the converted
    values, and (Parquet text only: a CSV's numbers are read as numbers) the conversion."""
    frame = extract.frame
    for column in columns:
        plan.values[column] = text_as_number(frame, column, extract.decimal)
        plan.add(number_rule(frame, extract.source, column, extract.decimal))
        if is_text(frame, column) and not extract.from_csv:
            plan.converted[column] = word


def _plan_flags(extract: SparkExtract, plan: _Plan, columns: list[str]) -> None:
    """Read 0/1 flags: numbers as they are, booleans and words (true/yes/...) converted.

    A CSV column is numbers when every value is one (as pandas reads it), else words; which
    of the two is known once counted, so both are planned.
    """
    frame, source = extract.frame, extract.source
    for column in columns:
        if is_number(frame, column) or isinstance(frame.schema[column].dataType, T.BooleanType):
            plan.values[column] = F.col(column).cast("double")
            if not is_number(frame, column):
                plan.converted[column] = "true/false to 0/1"
            continue
        words = text_as_flag(column)
        plan.add(unread_rule(source, column, NOT_A_FLAG, F.col(column).isNotNull()
                             & words.isNull()))
        if extract.from_csv:
            number = text_as_number(frame, column, extract.decimal)
            plan.marks[f"flag text {column}"] = F.col(column).isNotNull() & number.isNull()
            plan.csv_flags[column] = (number, words)
            # numbers where the column is numbers, words where it is words; a value that is
            # neither is refused (NOT_A_FLAG) before the value is used
            plan.values[column] = F.coalesce(number, words)
        else:
            plan.values[column] = words
            plan.converted[column] = "true/false to 0/1"


def _plan_context(extract: SparkExtract, plan: _Plan) -> None:
    """Read the context columns the analysis uses: amounts and places, time, city."""
    frame = extract.frame
    _plan_numbers(extract, plan, [c for c in CONTEXT_NUMBERS if c in frame.columns],
                  "text to number")
    if TIMESTAMP in frame.columns:
        plan.values[TIMESTAMP], rules = timestamp_rules(frame, extract.source, TIMESTAMP)
        plan.add(*rules)
        if is_text(frame, TIMESTAMP):
            plan.converted[TIMESTAMP] = "text to date and time"
    if "city" in frame.columns and not is_text(frame, "city"):
        plan.values["city"] = F.col("city").cast("string")
        plan.converted["city"] = "to text"
    elif "city" in frame.columns and extract.from_csv:  # pandas reads all-number names as numbers
        plan.marks["city text"] = F.col("city").isNotNull() & F.col("city").try_cast(
            "double").isNull()


def _plan_scoring(extract: SparkExtract, plan: _Plan, checks: ScoringChecks,
                  inputs: list[str]) -> None:
    """The checks ``score`` makes first: empty inputs, then the card-history inputs."""
    filled = [c for c in inputs if c not in checks.may_be_unknown]
    rule, marks = missing_rule(extract.frame, extract.source, filled, checks.hint, "unscored")
    plan.add(rule)
    plan.marks.update(marks)
    for column, bounds in checks.history_bounds.items():
        value = text_as_number(extract.frame, column, extract.decimal)
        plan.values[column] = value
        plan.add(number_rule(extract.frame, extract.source, column, extract.decimal),
                 *bounds_rules(extract.source, column, value, bounds))


def _resolve_csv_flags(plan: _Plan, counts: dict[str, int]) -> list[Rule]:
    """Return the rules that apply once the CSV flag columns are known to be numbers or words."""
    skipped = set()
    for column in plan.csv_flags:
        if counts[f"flag text {column}"]:  # some value is no number: the column is words
            plan.converted[column] = "true/false to 0/1"
            skipped.add(f"not 0/1 {column}")  # words are 0/1 by construction
        else:
            skipped.add(f"unread {column}")
    if counts.get("city text") == 0:
        plan.converted["city"] = "to text"
    order = CONTINUOUS_FEATURES + FLAG_FEATURES + [TARGET] + CONTEXT_NUMBERS + [TIMESTAMP, "city"]
    plan.converted = {c: plan.converted[c] for c in order if c in plan.converted}
    return [rule for rule in plan.rules if rule.name not in skipped]


def _plan_values(extract: SparkExtract, columns: list[str], labels: list[str],
                 scoring: ScoringChecks | None, inputs: list[str]) -> _Plan:
    """Plan the rules on values in the pandas engine's order: the file's lines, ``score``'s
    own checks, numbers, flags, context columns, ranges, then flags other than 0/1."""
    frame, source = extract.frame, extract.source
    flags = [c for c in FLAG_FEATURES if c in columns] + labels
    plan = _Plan()
    if BAD_LINE in frame.columns:  # pandas refuses such a file when reading it: first
        plan.add(ragged_line_rule(source, extract.sep, len(columns), columns[0]))
    if scoring is not None:
        _plan_scoring(extract, plan, scoring, inputs)
    _plan_numbers(extract, plan, [c for c in CONTINUOUS_FEATURES if c in columns],
                  "text to number")
    _plan_flags(extract, plan, flags)
    _plan_context(extract, plan)
    for column, bounds in VALUE_BOUNDS.items():
        if column in columns:
            plan.add(*bounds_rules(source, column, plan.values[column], bounds))
    plan.add(*[flag_rule(source, column, plan.values[column]) for column in flags])
    return plan


def validate_extract(extract: SparkExtract, on_missing: str = "drop", require_target: bool = True,
                     required_inputs: list[str] | None = None,
                     scoring: ScoringChecks | None = None,
                     count_duplicates: bool = True) -> tuple[DataFrame, CleaningReport]:
    """Validate and clean an extract in Spark; return the clean frame and what was found.

    The same arguments, rules and messages as
    :func:`cardfraud.data.cleaning.validate_transactions`; ``scoring``: the checks ``score``
    makes first (the fraud label is then neither required nor checked).
    """
    if on_missing not in {"drop", "fail"}:
        raise ValueError(f"on_missing must be 'drop' or 'fail', not {on_missing!r}")
    frame, source = extract.frame, extract.source
    columns = [c for c in frame.columns if c not in INTERNAL_COLUMNS]
    inputs = list(FEATURES if required_inputs is None else required_inputs)
    require_columns(SimpleNamespace(columns=columns), inputs + [TARGET] * require_target, source,
                    lead="missing required")
    report = CleaningReport(source=source, extra_columns=[c for c in columns
                                                          if c not in REQUIRED_COLUMNS])
    labels = [TARGET] if TARGET in columns and scoring is None else []
    plan = _plan_values(extract, columns, labels, scoring, inputs)
    if scoring is not None and TARGET in columns:  # kept, not checked: read as numbers
        plan.values[TARGET] = text_as_number(frame, TARGET, extract.decimal)
    used = REQUIRED_COLUMNS + (CHECKED_CONTEXT if require_target else [])
    present = [c for c in used if c in columns and (c != TARGET or labels)
               and c not in (scoring.may_be_unknown if scoring else ())]
    missing, by_column = missing_rule(frame, source, present, MISSING_FAIL_HINT)
    plan.marks.update(by_column)
    plan.marks["rows with missing"] = missing.marked
    if on_missing == "fail":
        plan.add(missing)
    if require_target:
        plan.marks["kept fraud"] = ~missing.marked & (plan.values[TARGET] == 1)
    counts = count_marked(frame, {**{r.name: r.marked for r in plan.rules}, **plan.marks})
    raise_first_broken(OffendingRowFinder(frame), _resolve_csv_flags(plan, counts), counts)
    return _clean_frame(extract, plan, counts, report, present, require_target,
                        count_duplicates, missing.marked)


def _clean_frame(extract: SparkExtract, plan: _Plan, counts: dict, report: CleaningReport,
                 present: list[str], require_target: bool, count_duplicates: bool,
                 missing: Column) -> tuple[DataFrame, CleaningReport]:
    """Drop the rows with missing values, check what is left, and fill in the report."""
    source, frame = extract.source, extract.frame
    report.rows_read = counts["rows"]
    report.missing_by_column = {c: counts[f"missing {c}"] for c in present
                                if counts[f"missing {c}"]}
    report.rows_with_missing = report.missing_rows_dropped = counts["rows with missing"]
    kept = report.rows_read - report.rows_with_missing
    if kept == 0:
        raise no_rows_left_error(source)
    if require_target and counts["kept fraud"] in (0, kept):
        raise one_class_error(source, 1 if counts["kept fraud"] else 0, kept)
    if report.rows_with_missing:
        frame = frame.filter(~missing)
    gaps = {c for c in plan.values if c not in present}  # unknown inputs may stay empty
    clean = frame.select(*[_stored(c, plan.values.get(c), c in gaps)
                           for c in frame.columns if c not in INTERNAL_COLUMNS])
    if count_duplicates:
        report.duplicate_rows = kept - clean.select(*present).distinct().count()
    report.converted_columns = dict(plan.converted)
    report.rows_kept = kept
    return clean, report


def _stored(column: str, value: Column | None, may_be_empty: bool) -> Column:
    """A column as the clean table stores it: flags as small integers (unless some may be
    empty), numbers as doubles, the rest as read."""
    if value is None:
        return F.col(column)
    if column in FLAG_FEATURES + [TARGET] and not may_be_empty:
        return value.cast("tinyint").alias(column)
    return value.alias(column)


def check_purchases_to_score(extract: SparkExtract, inputs: list[str]) -> DataFrame:
    """Validate purchases to score as :func:`cardfraud.serving.scorer.check_purchases` does;
    return the clean frame (the fraud label, when there, is kept as read and not checked).

    Raises:
        DataValidationError: a lacking input, an empty one (every purchase needs a score), or
            any value the load step refuses; the message names file, column and rows.
    """
    from ..modeling.history import HISTORY_BOUNDS
    from ..serving.scorer import every_input_hint, lacking_inputs_error

    lacking = [c for c in inputs if c not in extract.frame.columns]
    if lacking:
        raise lacking_inputs_error(extract.source, lacking, inputs)
    checks = ScoringChecks(every_input_hint(inputs), [],
                           {c: HISTORY_BOUNDS[c] for c in inputs if c in HISTORY_BOUNDS})
    clean, _ = validate_extract(extract, on_missing="fail", require_target=False,
                                required_inputs=inputs, scoring=checks, count_duplicates=False)
    return clean
