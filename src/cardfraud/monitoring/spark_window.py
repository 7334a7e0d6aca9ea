"""The monitoring window of a Spark run: the same reference and current purchases, as Spark frames.

Mirrors :func:`cardfraud.monitoring.window.load_monitoring_window` on the folder of Parquet a
Spark run's load step hands on. The training rows come from the modeling step's ``split_rule``
(:mod:`cardfraud.engines.spark_split`), not from a per-row ``split.parquet``; the current data is
the latest ``current_days`` days, a current extract (validated on Spark with
:func:`cardfraud.engines.spark_engine.load_extract`) or, without timestamps, the test rows. The
window's description (rows, periods, overlap, labels) is counted in one aggregation and equals
the pandas engine's. When the modeling step's inputs hold card-history features, both sides get
them from :func:`cardfraud.engines.spark_history.card_history_features` (computed on the
executors once, cached for the step, never handed on as a file).
"""

from __future__ import annotations

from ..data.schema import REQUIRED_COLUMNS, TARGET, available_inputs
from ..modeling.history import HISTORY_FEATURES
from ..report.locale_format import fill
from ..report.translate import N_, _
from ..runner.artifacts import load_step_results
from .window import MonitoringWindow, modeling_label_delay

IS_TEST, IN_PERIOD = "__monitoring_test", "__monitoring_current"
SPARK_NOTE = N_("Counted on Spark: the quantile bins, PSI, Jensen-Shannon distance, chi-square "
                "and KS tests and the medians are exact (the KS statistic is the largest gap "
                "over every distinct value of both sides), the numbers a pandas run gives.")


def _days(row, first: str, last: str) -> list[str] | None:
    """[first day, last day] from an aggregated row's min/max timestamps (None when empty)."""
    return None if row[first] is None else [f"{row[first]:%Y-%m-%d}", f"{row[last]:%Y-%m-%d}"]


def _latest_days_cut(transactions, current_days: int):
    """The first moment of the latest ``current_days`` calendar days, as the pandas engine."""
    import pandas as pd
    from pyspark.sql import functions as F

    latest = transactions.agg(F.max(F.col("timestamp").cast("timestamp"))).first()[0]
    return pd.Timestamp(latest).floor("D") - pd.Timedelta(days=int(current_days) - 1)


def _labelled(frame) -> bool:
    """True when the frame has fraud labels on every purchase."""
    from pyspark.sql import functions as F

    return TARGET in frame.columns and frame.where(F.col(TARGET).isNull()).isEmpty()


def spark_monitoring_window(transactions, rule: dict, current_days: int = 14, current=None,
                            current_path: str | None = None) -> MonitoringWindow:
    """Pick the reference (training rows) and the current purchases, as the pandas engine.

    Args:
        transactions: the handed-on purchases (a Spark DataFrame).
        rule: the modeling step's ``split_rule``.
        current: a validated current extract (a Spark DataFrame), or None.
    """
    from pyspark.sql import functions as F

    from ..engines.spark_split import test_period

    has_time = "timestamp" in transactions.columns
    marked = transactions.withColumn(IS_TEST, test_period(transactions, rule))
    source, note, in_period = "test_rows", None, F.col(IS_TEST)
    if current is not None:
        source, note = "file", fill(_("the extract {path}"), path=current_path or _("given"))
        in_period = F.lit(False)
    elif has_time:
        cut = _latest_days_cut(transactions, current_days)
        in_period = F.col("timestamp").cast("timestamp") >= F.lit(cut.to_pydatetime()).cast(
            "timestamp")
        source, note = "latest_days", fill(_("the latest {days} days"), days=int(current_days))
    else:
        note = _("the held-out test rows: the data has no timestamps and no current_path was "
                 "given, so this only shows the noise between two samples of the same extract")
    marked = marked.withColumn(IN_PERIOD, in_period)
    reference = marked.where(~F.col(IS_TEST) & ~F.col(IN_PERIOD)).drop(IS_TEST, IN_PERIOD)
    current = (current if current is not None else
               marked.where(F.col(IN_PERIOD)).drop(IS_TEST, IN_PERIOD))
    description = _describe(marked, current, has_time, source == "latest_days", current_days)
    description.update({"current_source": source, "current_path": current_path, "note": note,
                        "reference_kind": N_("training purchases"), "engine_note": SPARK_NOTE})
    return MonitoringWindow(reference, current, description)


def _describe(marked, current, has_time: bool, latest_days: bool, current_days: int) -> dict:
    """Count the window: rows of each side, training rows left out, periods and labels."""
    from pyspark.sql import functions as F

    train, now = ~F.col(IS_TEST), F.col(IN_PERIOD)
    stamp = F.col("timestamp").cast("timestamp") if has_time else F.lit(None).cast("timestamp")
    reference_stamp = F.when(train & ~now, stamp)
    row = marked.agg(
        F.count(F.when(train & ~now, 1)).alias("reference"),
        F.count(F.when(train & now, 1)).alias("overlap"),
        F.count(F.when(now != F.col(IS_TEST), 1)).alias("differ"),
        F.min(reference_stamp).alias("ref_first"), F.max(reference_stamp).alias("ref_last")).first()
    current_rows = current.count()
    if current_rows == 0:
        raise ValueError("monitoring: no current purchases to compare: the data has no timestamps "
                         "and no test rows; give a current extract (current_path / --current)")
    if row["reference"] == 0:
        raise ValueError(f"monitoring: current_days={current_days} covers every training day, "
                         f"so no reference is left; lower current_days")
    period = None
    if "timestamp" in current.columns:
        found = current.agg(F.min(F.col("timestamp").cast("timestamp")).alias("first"),
                            F.max(F.col("timestamp").cast("timestamp")).alias("last")).first()
        period = _days(found, "first", "last")
    return {"current_rows": current_rows, "reference_rows": int(row["reference"]),
            "overlap_excluded_rows": int(row["overlap"]),
            "current_is_test_set": bool(latest_days and row["differ"] == 0),
            "current_period": period,
            "reference_period": _days(row, "ref_first", "ref_last") if has_time else None,
            "current_has_labels": _labelled(current)}


def with_model_history(frame, inputs: list[str], label_delay_days: float):
    """Return ``frame`` with the card-history features among ``inputs`` (none: as it is)."""
    from ..engines.spark_history import card_history_features

    wanted = [c for c in inputs if c in HISTORY_FEATURES]
    if not wanted:
        return frame
    return card_history_features(frame, label_delay_days)


def load_spark_monitoring_window(output_dir=None, current_days: int = 14,
                                 current_path: str | None = None) -> MonitoringWindow:
    """Read a Spark run's purchases, the modeling split rule and the current extract if any.

    The current extract is validated on Spark with the load step's rules (fraud labels
    optional); the load step's ``load.columns`` header mapping is not applied on Spark.
    """
    from ..engines.spark_handover import read_handed_on
    from ..engines.spark_split import split_rule_of

    try:
        modeling = load_step_results("modeling", output_dir)
    except FileNotFoundError:
        raise FileNotFoundError("results/modeling.json not found: run the 'modeling' step first "
                                "(python run_all.py --only modeling)") from None
    rule = split_rule_of(modeling)
    transactions = read_handed_on(output_dir)
    inputs = list(modeling.get("model_inputs") or [])
    history = any(c in HISTORY_FEATURES for c in inputs)
    delay = modeling_label_delay(output_dir)
    kept = [c for c in transactions.columns if c in [*REQUIRED_COLUMNS, "timestamp"]]
    current = None
    if current_path:
        from ..engines.spark_engine import load_extract

        current = load_extract(current_path, require_target=False,
                               required_inputs=available_inputs(transactions))[0]
    if history:  # computed over every purchase, then split
        transactions = with_model_history(transactions, inputs, delay)
        kept += [c for c in transactions.columns if c in HISTORY_FEATURES]
    from pyspark import StorageLevel

    transactions = transactions.select(*kept)
    # cached with history: the reference and current purchases the champion scores both come
    # from it (one pass of windows)
    cached = transactions.persist(StorageLevel.MEMORY_AND_DISK) if history else None
    try:
        window = spark_monitoring_window(transactions, rule, current_days, current,
                                         current_path)
    except BaseException:
        if cached is not None:
            cached.unpersist()
        raise
    window.cached = cached
    if history:
        window.description["label_delay_days"] = delay
    return window
