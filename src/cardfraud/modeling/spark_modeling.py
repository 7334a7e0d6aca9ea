"""The modeling step on a Spark run: the same page from a Spark DataFrame of the purchases.

:func:`run_modeling_on_spark` is what :func:`cardfraud.modeling.page.run_modeling` calls when
it is handed a Spark DataFrame. Nothing collects the whole data to the driver:

- the card-history features are computed on the executors
  (:func:`cardfraud.engines.spark_history.card_history_features`, equal to pandas' to 1e-9);
- the split is a rule, a Spark column: with timestamps the test period starts at the same cut
  pandas computes (:mod:`cardfraud.modeling.holdout`: the latest ``test_days`` days, else the
  latest ``test_share``), found from aggregates; without timestamps (or with
  ``split: stratified``) a purchase is in the test set when
  ``pmod(xxhash64(<its columns in the artifact's order>, seed), 1_000_000) < test_share * 1e6``
  (:func:`hash_test_column`), which keeps the fraud rate only on average;
- the models are chosen, thresholded and refitted on a **training sample** drawn in Spark
  (:func:`cardfraud.engines.spark_sampling.training_sample`): every fraud of the training
  period while they fill at most half of ``train_sample_rows``, the rest legitimate purchases
  at random, in time order. When the training period holds at most ``train_sample_rows``
  purchases the sample is the whole training period in pandas' order, so the same models are
  fitted on the same rows as in a pandas run;
- the whole test period is scored on the executors with ``mlflow.pyfunc.spark_udf`` of each
  candidate's logged model (so the runs are logged before the test, their test metrics and
  figures added after: :func:`cardfraud.modeling.tracking.log_candidate_models`);
- the test metrics (PR-AUC, ROC-AUC, the confusion counts at the threshold, the alert budget
  per day, card precision@k, the expected cost), the bootstrap intervals, the permutation
  importance and the top alerts' reasons are computed by the pandas functions from the
  Spark-scored test period, brought to the driver: its labels, inputs, day, card, amount and
  each model's score (bounded by ``test_days``; without it, the latest ``test_share``). k of
  card precision@k and the split's counts come from aggregates over every purchase.

The weekly backtest runs on the training sample and the test period (every window when the
sample holds every training purchase, else the test period's); the first analysis' re-run uses the
training sample and the test period instead of every purchase.

Hand-over (``results/modeling.json`` as in pandas, plus ``split_rule`` and ``training_sample``;
``artifacts/test_predictions.parquet`` a folder written by Spark with the pandas file's columns,
``row`` being the purchase's position in Spark's reading of the purchases,
:func:`with_purchase_row`). No ``split.parquet`` nor ``history_features.parquet``: readers
rebuild the split from ``split_rule`` (:func:`test_period_column`) and the history with
``card_history_features``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from ..data.schema import (
    AMOUNT,
    CARD_ID,
    TARGET,
    TIMESTAMP,
    TRANSACTION_ID,
    available_inputs,
    model_features,
)
from ..report.locale_format import fill
from ..report.translate import _
from .feature_sets import (
    BASE,
    WITH_HISTORY,
    FeatureSets,
    empty_history_reason,
    history_unavailable_reason,
)
from .history import HISTORY_FEATURES, history_columns
from .holdout import (
    SPLITS,
    ModelingError,
    Split,
    check_both_classes_counted,
    check_frauds_for_cv,
)

DEFAULT_TRAIN_SAMPLE_ROWS = 1_000_000
HASH_BUCKETS = 1_000_000
PURCHASE_ROW = "_cardfraud_purchase_row"  # the purchase's position: the predictions' ``row``
TEST_PERIOD = "_cardfraud_test_period"  # the working column: in the test period
_ID = "_cardfraud_read_id"
_TIME_TEXT = "yyyy-MM-dd HH:mm:ss.SSSSSS"
_ID_BITS = 33  # monotonically_increasing_id: partition index above bit 33, position below


@dataclass
class SparkSplit:
    """The split of a Spark run: the rule, the purchases the modeling step works on (with the
    test-period flag and each purchase's row), the description pandas gives and its table."""

    kind: str
    rule: dict
    frame: object  # Spark DataFrame: the columns modeling needs, PURCHASE_ROW and TEST_PERIOD
    description: dict
    summary: pd.DataFrame
    purchases: int
    days: int | None  # calendar days of the data (None without timestamps)


def _purchase_time(frame):
    """The timestamp column as a Spark timestamp (text is cast; timestamp_ntz as written)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType

    if isinstance(frame.schema[TIMESTAMP].dataType, StringType):
        return F.col(TIMESTAMP).cast("timestamp")
    return F.col(TIMESTAMP)


def _time_literal(frame, moment: datetime):
    """``moment`` (as written) as a literal of the timestamp column's type."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import TimestampNTZType

    kind = "timestamp_ntz" if isinstance(frame.schema[TIMESTAMP].dataType,
                                         TimestampNTZType) else "timestamp"
    return F.lit(moment.isoformat(sep=" ")).cast(kind)


def test_period_column(frame, rule: dict):
    """Return the Spark condition "this purchase is in the test set" of a ``split_rule``.

    ``{"kind": "time", "test_from": iso}``: the purchase's time is at or after ``test_from``;
    ``{"kind": "hash", "seed": s, "test_share": x}``: :func:`hash_test_column` of ``frame``'s
    columns (the artifact's, in its order).
    """
    if rule["kind"] == "time":
        return _purchase_time(frame) >= _time_literal(frame,
                                                      datetime.fromisoformat(rule["test_from"]))
    return hash_test_column(frame, rule["seed"], rule["test_share"])


def hash_test_column(frame, seed: int, test_share: float):
    """``pmod(xxhash64(<every column of frame, in order>, seed), 1_000_000) < share * 1e6``."""
    from pyspark.sql import functions as F

    bucket = F.pmod(F.xxhash64(*[F.col(c) for c in frame.columns], F.lit(int(seed))),
                    F.lit(HASH_BUCKETS))
    return bucket < F.lit(float(test_share) * HASH_BUCKETS)


def with_purchase_row(frame, name: str = "row"):
    """Return ``frame`` with each purchase's position (0, 1, ...) in Spark's reading of it.

    The position is partition by partition, in each partition's order (what
    ``monotonically_increasing_id`` numbers), made contiguous with the partitions' counts (one
    small job). Only stable on a frame read the same way: give a persisted frame or a read of
    the Parquet folder.
    """
    from pyspark.sql import functions as F

    numbered = frame.withColumn(_ID, F.monotonically_increasing_id())
    partition = F.shiftright(F.col(_ID), _ID_BITS)
    counts = sorted((int(r["p"]), int(r["n"])) for r in numbered.groupBy(
        partition.alias("p")).agg(F.count(F.lit(1)).alias("n")).collect())
    offsets, total = [], 0
    for part, rows in counts:
        offsets += [F.lit(part), F.lit(total)]
        total += rows
    start = F.element_at(F.create_map(*offsets), partition) if offsets else F.lit(0)
    position = start + (F.col(_ID) - F.shiftleft(partition, _ID_BITS))
    return numbered.withColumn(name, position.cast("long")).drop(_ID)


def spark_feature_sets(transactions, label_delay_days: float = 7.0) -> tuple[FeatureSets,
                                                                              object]:
    """Return the feature sets the purchases allow and the purchases with their history
    features added on the executors (the purchases as they are without history)."""
    from pyspark.sql import functions as F

    from ..engines.spark_history import card_history_features

    base = available_inputs(transactions)
    delay = float(label_delay_days)
    if not history_columns(transactions.columns):
        return (FeatureSets({BASE: base}, history_unavailable_reason(transactions.columns),
                            None, delay), transactions)
    counts = transactions.agg(*(F.count_if(F.col(c).isNull()).alias(c)
                                for c in (CARD_ID, TIMESTAMP))).first()
    reason = empty_history_reason({c: int(counts[c]) for c in (CARD_ID, TIMESTAMP)})
    if reason is not None:
        return FeatureSets({BASE: base}, reason, None, delay), transactions
    modeled = card_history_features(transactions, label_delay_days)
    names = [c for c in HISTORY_FEATURES if c in modeled.columns]
    return FeatureSets({BASE: base, WITH_HISTORY: base + names}, None, None, delay), modeled


def _written(text: str | None) -> datetime | None:
    """A time Spark formatted with _TIME_TEXT, as a naive datetime."""
    return None if text is None else datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f")


def _exact_quantile(frame, share: float) -> datetime:
    """The time at quantile ``share`` of the purchases, interpolated as pandas does (exact
    percentile of the times in microseconds)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import TimestampNTZType

    time = _purchase_time(frame)
    if isinstance(frame.schema[TIMESTAMP].dataType, TimestampNTZType):
        since = time - F.lit(datetime(1970, 1, 1)).cast("timestamp_ntz")
        micros = F.unix_micros(F.timestamp_micros(F.lit(0)) + since)
        value = frame.agg(F.percentile(micros, share).alias("q")).first()["q"]
        return datetime(1970, 1, 1) + timedelta(microseconds=round(value))
    value = frame.agg(F.percentile(F.unix_micros(time), share).alias("q")).first()["q"]
    text = frame.sparkSession.range(1).select(F.date_format(
        F.timestamp_micros(F.lit(round(value))), _TIME_TEXT).alias("t")).first()["t"]
    return _written(text)


def _test_from(frame, test_days: int | None, test_share: float) -> datetime:
    """The start of the test period: pandas' cut (the latest ``test_days`` days, else the
    latest ``test_share`` cut at the start of a day when the day leaves training rows)."""
    from pyspark.sql import functions as F

    time = _purchase_time(frame)
    if test_days:
        last = _written(frame.agg(F.date_format(F.max(time), _TIME_TEXT).alias("t")).first()["t"])
        return datetime(last.year, last.month, last.day) - timedelta(days=int(test_days) - 1)
    exact = _exact_quantile(frame, 1.0 - float(test_share))
    day = datetime(exact.year, exact.month, exact.day)
    earlier = frame.where(time < _time_literal(frame, day)).limit(1).count()
    return day if earlier else exact


def _split_counts(frame, by_time: bool):
    """Purchases, frauds, per set and (with timestamps) each set's first and last day and
    the days, in one aggregation."""
    from pyspark.sql import functions as F

    test, fraud = F.col(TEST_PERIOD), F.col(TARGET).cast("long")
    columns = [F.count(F.lit(1)).alias("rows"), F.sum(fraud).alias("frauds"),
               F.count_if(test).alias("test_rows"),
               F.sum(F.when(test, fraud).otherwise(0)).alias("test_frauds")]
    if TIMESTAMP in frame.columns:
        time = _purchase_time(frame)
        day = F.date_trunc("DAY", time)
        for name, where in (("train", ~test), ("test", test)):
            columns += [F.date_format(F.min(F.when(where, time)), "yyyy-MM-dd").alias(
                f"{name}_first"), F.date_format(F.max(F.when(where, time)), "yyyy-MM-dd").alias(
                f"{name}_last")]
        columns += [F.count_distinct(F.when(test, day)).alias("test_days"),
                    F.count_distinct(day).alias("days"),
                    F.date_format(F.min(time), "yyyy-MM-dd").alias("first"),
                    F.date_format(F.max(time), "yyyy-MM-dd").alias("last")]
    return frame.agg(*columns).first().asDict()


def _summary_table(counts: dict) -> pd.DataFrame:
    """The split's table as :func:`cardfraud.modeling.holdout.split_summary` gives it."""
    rows = []
    for name, key in (("training", "train"), ("test", "test")):
        total = counts["rows"] - counts["test_rows"] if key == "train" else counts["test_rows"]
        frauds = (int(counts["frauds"] or 0) - int(counts["test_frauds"] or 0) if key == "train"
                  else int(counts["test_frauds"] or 0))
        row = {"set": name, "transactions": total, "frauds": frauds,
               "fraud rate %": round(100 * float(frauds / total), 3)}
        if "days" in counts:
            row["first day"], row["last day"] = counts[f"{key}_first"], counts[f"{key}_last"]
        rows.append(row)
    return pd.DataFrame(rows).set_index("set")


def modeling_columns(frame, sets: FeatureSets) -> list[str]:
    """The columns the step works on: every input, the label, and time, card, amount and
    transaction id when the purchases have them."""
    extra = [c for c in (TIMESTAMP, CARD_ID, AMOUNT, TRANSACTION_ID) if c in frame.columns]
    return list(dict.fromkeys([*sets.all_inputs(), TARGET, *extra]))


def spark_split(transactions, modeled, sets: FeatureSets, split: str = "auto",
                test_days: int | None = 14, test_share: float = 0.2, seed: int = 42,
                cv_folds: int = 3) -> SparkSplit:
    """Split a Spark run's purchases by rule, checking what pandas checks, in its order and
    with its messages.

    ``transactions``: the purchases as handed on (the rule reads their columns); ``modeled``:
    the same with their history features and PURCHASE_ROW (:func:`with_purchase_row`). The
    working frame is persisted (unpersist ``frame`` when done).
    """
    from pyspark import StorageLevel

    if split not in SPLITS:
        raise ModelingError(f"modeling: split must be one of {', '.join(SPLITS)}, not {split!r}")
    if not 0.0 < float(test_share) < 1.0:
        raise ModelingError(f"modeling: test_share must be between 0 and 1, not {test_share}")
    has_time = TIMESTAMP in transactions.columns
    if split == "time" and not has_time:
        raise ModelingError("modeling: split 'time' needs a 'timestamp' column, which this "
                            "extract lacks; use split 'auto' or 'stratified'")
    by_time = has_time and split in {"auto", "time"}
    if by_time:
        cut = _test_from(transactions, test_days, float(test_share))
        rule = {"kind": "time", "test_from": cut.isoformat()}
    else:
        rule = {"kind": "hash", "seed": int(seed), "test_share": float(test_share)}
    work = modeled.withColumn(TEST_PERIOD, test_period_column(transactions, rule)) \
        .select(*modeling_columns(modeled, sets), PURCHASE_ROW, TEST_PERIOD) \
        .persist(StorageLevel.MEMORY_AND_DISK)
    counts = _split_counts(work, by_time)
    frauds, rows = int(counts["frauds"] or 0), int(counts["rows"])
    check_frauds_for_cv(frauds, cv_folds, by_time, "training rows", "the data has",
                        test_set_too=True)
    test_rows, test_frauds = int(counts["test_rows"]), int(counts["test_frauds"] or 0)
    kind = "time" if by_time else "hash"
    if by_time and test_rows in (0, rows):
        raise ModelingError(f"modeling: test_days={test_days} leaves no "
                            f"{'training' if test_rows == rows else 'test'} rows (data covers "
                            f"{counts['first']} to {counts['last']})")
    check_both_classes_counted(test_frauds, test_rows, "test set")
    train_rows, train_frauds = rows - test_rows, frauds - test_frauds
    check_frauds_for_cv(train_frauds, cv_folds, by_time, "training rows",
                        f"the {kind} split leaves the training rows ({train_rows:,}) with")
    check_both_classes_counted(train_frauds, train_rows, "training set")
    if by_time:
        describe = {"train_period": [counts["train_first"], counts["train_last"]],
                    "test_period": [counts["test_first"], counts["test_last"]],
                    "test_days": int(counts["test_days"])}
    else:
        describe = {"test_share": float(test_share), "seed": int(seed)}
    describe = {"kind": kind, **describe, "train_rows": train_rows, "test_rows": test_rows}
    return SparkSplit(kind, rule, work, describe, _summary_table(counts), rows,
                      int(counts["days"]) if "days" in counts else None)


def score_test_period(test_period, fitted, tracked: dict) -> dict:
    """Return each model's scores of the test period: ``{key: frame}``, the test period with
    the model's P(fraud) in column ``score_<n>`` (n its place in ``fitted.pipelines``),
    computed on the executors by ``mlflow.pyfunc.spark_udf`` of its logged run's model.

    The frames are lazy; score them one at a time: ``spark_udf`` is an iterator UDF, which
    Spark evaluates in a python worker of its own per task, so eight models scored in one
    query keep sixteen workers alive on ``local[2]`` (5.2 GB at 10M purchases).
    """
    import logging

    import mlflow.pyfunc
    from pyspark.sql import functions as F

    from .tracking import using_store

    scored = {}
    quiet = logging.getLogger("mlflow")  # env_manager="local": the executors run this
    level = quiet.level                   # project's Python, which fitted the models
    quiet.setLevel(logging.ERROR)
    try:
        for number, (key, run) in enumerate(tracked["runs"].items()):
            with using_store(tracked["tracking_uri"]):
                udf = mlflow.pyfunc.spark_udf(test_period.sparkSession, f"runs:/{run}/model",
                                              env_manager="local", result_type="array<double>")
            inputs = F.struct(*[F.col(c).cast("double").alias(c) for c in fitted.inputs[key]])
            scored[key] = test_period.withColumn(score_column(number),
                                                 F.element_at(udf(inputs), 2))
    finally:
        quiet.setLevel(level)
    return scored


def collect_scores(test_period: pd.DataFrame, scored: dict, keep: str,
                   share: float | None = None, seed: int = 42, thresholds=None):
    """Add each model's test scores to the collected ``test_period`` (matched on the purchase
    row), one Spark job per model; return the ``keep`` model's scored frame, cached for the
    hand-over file, and each model's :func:`.spark_test_sample.threshold_counts` over every
    test purchase when the driver holds a sample (``share``; else an empty dict).

    With a sample, each model's label, amount and score are cached once and read twice: by the
    counts at its threshold (``thresholds``) and by the sample's collection.
    """
    from pyspark import StorageLevel

    from .spark_test_sample import test_sample_column, threshold_counts

    kept, counts = None, {}
    rows = test_period[PURCHASE_ROW]
    for number, (key, frame) in enumerate(scored.items()):
        column = score_column(number)
        if share is not None:
            narrow = [c for c in (PURCHASE_ROW, TARGET, AMOUNT, column) if c in frame.columns]
            frame = frame.select(*narrow).persist(StorageLevel.MEMORY_AND_DISK)
            counts[key] = threshold_counts(frame, column,
                                           float(thresholds.loc[key, "threshold"]))
            drawn = frame.where(test_sample_column(PURCHASE_ROW, share, seed))
        else:
            if key == keep:
                frame = frame.persist(StorageLevel.MEMORY_AND_DISK)
            drawn = frame
        found = collect_test_period(drawn, [PURCHASE_ROW, column], ordered=False) \
            .set_index(PURCHASE_ROW)
        test_period[column] = found[column].reindex(rows).to_numpy(dtype="float64")
        if key == keep:
            kept = frame
        elif share is not None:
            frame.unpersist()
    return kept, counts


def score_column(number: int) -> str:
    """The name of the ``number``-th model's score column in the scored test period."""
    return f"_cardfraud_score_{number}"


def write_test_predictions(scored, best_number: int, output_dir=None) -> None:
    """Write ``test_predictions.parquet`` as a folder (row, fraud, probability of the chosen
    model, and amount when the purchases have one), into a temporary folder renamed into place when complete."""
    from pyspark.sql import functions as F

    from ..engines.spark_scoring import replace_with
    from ..runner.artifacts import artifact_path
    from ..runner.atomic_write import temporary_path
    from ..runner.contract import TEST_PREDICTIONS

    target = artifact_path(TEST_PREDICTIONS, output_dir)
    folder = temporary_path(target)
    try:
        columns = [F.col(PURCHASE_ROW).alias("row"), F.col(TARGET),
                   F.col(score_column(best_number)).alias("probability")]
        if AMOUNT in scored.columns:  # the summary's loss prevented sums the caught amounts
            columns.append(F.col(AMOUNT))
        scored.select(*columns).orderBy("row").write.parquet(str(folder))
        replace_with(folder, target)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def remove_pandas_handover(output_dir=None) -> None:
    """Delete a pandas run's split.parquet and history_features.parquet left in the output
    dir: a Spark run hands the split on as a rule and the history is recomputed."""
    from ..runner.artifacts import artifact_path
    from ..runner.contract import CARD_HISTORY, SPLIT

    for artifact in (SPLIT, CARD_HISTORY):
        path = artifact_path(artifact, output_dir)
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def median_fraud_amount(frame):
    """Return a callable giving the frauds' median amount, computed on the executors."""
    from pyspark.sql import functions as F

    def median() -> float:
        return float(frame.where(F.col(TARGET) == 1).agg(
            F.median(AMOUNT).alias("m")).first()["m"])
    return median


def cards_reviewed_per_day_counted(purchases: int, days: int, alert_budget: float) -> int:
    """k of card precision@k from the counts (as
    :func:`cardfraud.modeling.card_precision.cards_reviewed_per_day`)."""
    return max(1, int(round(float(alert_budget) * purchases / max(int(days), 1))))


def training_sample_note(record: dict, cap: int, train_rows: int) -> str:
    """Say what the models were trained on in a Spark run and why a sample is enough."""
    if record["rows"] >= train_rows:
        return fill(_("The models were trained on all {rows:,} purchases of the training "
                      "period (at most modeling.train_sample_rows = {cap:,} are drawn)."),
                    rows=record["rows"], cap=cap)
    return fill(_("The models were trained on a sample of {rows:,} of the {train:,} purchases "
                  "of the training period, drawn in Spark in time order: {frauds:,} frauds "
                  "({fraud_share:.0%} of them) and {genuine:,} legitimate purchases "
                  "({genuine_share:.1%}). A sample is enough: the models learn from the frauds, "
                  "all kept up to half the sample, and beyond some hundred thousand legitimate "
                  "purchases more of them barely change the ranking; the whole test period is "
                  "still scored and judged. The sample holds a higher share of frauds than the "
                  "data, so its probabilities read higher than the fraud rate."),
                rows=record["rows"], train=train_rows, frauds=record["frauds_kept"],
                fraud_share=record["fraud_fraction"], genuine=record["genuine_kept"],
                genuine_share=record["genuine_fraction"])


def backtest_on_spark(sample: pd.DataFrame, test_period: pd.DataFrame, evaluation,
                      training_rows: int, weeks: int, label_delay_days: int,
                      train_rows: int | None, alert_budget: float, seed: int, k: int | None):
    """The weekly backtest of a Spark run, on the purchases the driver holds: the training
    sample and the test period (whole, or its uniform sample with ``k`` scaled to it), in
    time order.

    When the sample holds every training purchase these are all the purchases, so the
    windows are a pandas run's. Otherwise only the windows in the test period are scored (their
    weeks are whole; the earlier ones hold a sample, see :func:`.backtest.whole_windows`), or
    none with a stratified split, whose test purchases are spread over every week.
    """
    from .backtest import run_backtest

    both = pd.concat([sample, test_period[sample.columns]], ignore_index=True)
    whole_from = None
    if len(sample) < training_rows:
        whole_from = (pd.Timestamp(evaluation.split.description["test_period"][0])
                      if evaluation.split.kind == "time" else pd.Timestamp.max)
    return run_backtest(both, evaluation, weeks, label_delay_days, train_rows, alert_budget,
                        k, seed, whole_from=whole_from)


ARROW = "spark.sql.execution.arrow.pyspark.enabled"


def collect_test_period(scored, columns: list[str], ordered: bool = True) -> pd.DataFrame:
    """Bring the scored test period's ``columns`` to the driver, in the purchases' order
    unless not ``ordered`` (through Arrow: a test period holds millions of purchases at
    scale)."""
    conf = scored.sparkSession.conf
    before = conf.get(ARROW, "false")
    conf.set(ARROW, "true")
    try:
        chosen = scored.select(*columns)
        return (chosen.orderBy(PURCHASE_ROW) if ordered else chosen).toPandas() \
            .reset_index(drop=True)
    finally:
        conf.set(ARROW, before)


def run_modeling_on_spark(transactions, output_dir=None, *, train_sample_rows: int | None = None,
                          run_id=None, tracking_uri=None, seed: int = 42,
                          experiment_name: str = "cardfraud", candidates=None,
                          resampling: str = "none", grids=None,
                          selection_metric: str = "average_precision", cv_folds: int = 3,
                          cv_sample_rows=30000, refit_rows=250000, split: str = "auto",
                          test_days=14, test_share: float = 0.2, alert_budget: float = 0.01,
                          cost_missed_fraud: float = 300000.0, cost_review: float = 10000.0,
                          currency: str = "COP", target_recall: float = 0.9,
                          importance_rows: int = 10000, first_analysis_rows=30000,
                          label_delay_days: int = 7, backtest_weeks: int = 6,
                          backtest_train_rows=50000, bootstrap_resamples: int = 1000,
                          test_sample_rows: int | None = None, phase=None):
    """Run the modeling step on a Spark DataFrame of the purchases (see the module); the
    arguments are :func:`cardfraud.modeling.page.run_modeling`'s.

    The page's ``split.train_rows`` are positions in the training sample, ``test_rows`` in
    the test period brought to the driver (``page.test_period``).
    """
    from ..engines.spark_sampling import training_sample
    from ..runner.phases import no_phase
    from . import tracking
    from .bootstrap import test_period_intervals
    from .candidates import cross_validate_candidates, fit_final_models
    from .card_precision import card_precision_note, has_cards_and_days
    from .metrics import first_analysis_rerun, judge_test_scores, permutation_importance_table
    from .page import (
        BEST_FIGURES,
        SHARED_FIGURES,
        CandidateEvaluation,
        ModelingPage,
        backtest_figure,
        modeling_figures,
        over_time_results,
    )
    from .reasons import top_alert_reasons
    from .results import comparison_for_handover, modeling_results_record, step_settings
    from .spark_test_sample import (
        DEFAULT_TEST_SAMPLE_ROWS,
        counted_metrics,
        sampled_share,
        scaled_cards_reviewed,
        test_sample_column,
        test_sample_note,
        test_sample_record,
        top_alerts,
        with_whole_period_counts,
    )
    from .thresholds import choose_thresholds, threshold_check

    phase = phase or no_phase
    cap = int(train_sample_rows or DEFAULT_TRAIN_SAMPLE_ROWS)
    test_cap = int(test_sample_rows or DEFAULT_TEST_SAMPLE_ROWS)
    candidates = candidates or ["logistic_regression", "decision_tree",
                                "hist_gradient_boosting", "random_forest"]
    with phase("history features"):
        sets, modeled = spark_feature_sets(with_purchase_row(transactions, PURCHASE_ROW),
                                           label_delay_days)
    with phase("split"):
        found = spark_split(transactions, modeled, sets, split, test_days, test_share, seed,
                            cv_folds)
    scored = None
    try:
        from pyspark.sql import functions as F

        with phase("training sample"):
            drawn = training_sample(found.frame.where(~F.col(TEST_PERIOD)).drop(TEST_PERIOD), cap, seed)
            # in time order, then the purchases' order (pandas' order of the training rows)
            sample = drawn.frame.sort_values(
                [c for c in (TIMESTAMP, PURCHASE_ROW) if c in drawn.frame.columns],
                kind="stable").reset_index(drop=True)
            sample_split = Split(found.kind, np.arange(len(sample)), np.arange(0),
                                 found.description)
        with phase("cross-validation"):
            cv = cross_validate_candidates(sample, sample_split, candidates, grids, resampling,
                                           cv_folds, cv_sample_rows, selection_metric, seed,
                                           sets.inputs)
        with phase("thresholds"):
            thresholds, cost_curves = choose_thresholds(sample, cv, cost_missed_fraud,
                                                        cost_review, target_recall)
            settings = {**step_settings(sample, sample_split, cv, alert_budget,
                                        cost_missed_fraud, cost_review, target_recall,
                                        currency),
                        "label_delay_days": float(label_delay_days)}
        with phase("refit best"):
            fitted = fit_final_models(sample, sample_split, cv, refit_rows)
        with phase("mlflow logging"):  # before the test: the executors score with these runs
            tracked = tracking.log_candidate_models(
                experiment_name, tracking_uri, cv, fitted, thresholds,
                model_features(sample.iloc[:5], sets.all_inputs()), settings, run_id)
        with phase("test scoring"):
            test_frame = found.frame.where(F.col(TEST_PERIOD)).drop(TEST_PERIOD)
            share = sampled_share(found.description["test_rows"], test_cap)
            judged = test_frame if share is None else test_frame.where(
                test_sample_column(PURCHASE_ROW, share, seed))
            keys = list(fitted.pipelines)
            test_period = collect_test_period(
                judged, [*modeling_columns(modeled, sets), PURCHASE_ROW])
            scored, counts = collect_scores(
                test_period, score_test_period(test_frame, fitted, tracked), fitted.best,
                share, seed, thresholds)
            judged_record = test_sample_record(share, len(test_period),
                                               found.description["test_rows"], test_cap, seed)
            scores = {key: test_period[score_column(n)].to_numpy(dtype="float64")
                      for n, key in enumerate(keys)}
        with phase("test evaluation"):
            data_split = Split(found.kind, np.arange(len(sample)), np.arange(len(test_period)),
                               found.description)
            k = (cards_reviewed_per_day_counted(found.purchases, found.days, alert_budget)
                 if has_cards_and_days(transactions) else None)
            k_judged = scaled_cards_reviewed(k, share)
            test = judge_test_scores(test_period, data_split, fitted, cv, thresholds, scores,
                                     alert_budget, cost_missed_fraud, cost_review, k_judged)
            if counts:  # the threshold's counts over every test purchase, not the sample's
                days = found.description.get("test_days", test.days)  # the whole period's
                test.comparison = with_whole_period_counts(test.comparison, {
                    key: counted_metrics(found_counts, days, cost_missed_fraud, cost_review)
                    for key, found_counts in counts.items()})
                test.cards_reviewed_per_day = k
            evaluation = CandidateEvaluation(data_split, cv, thresholds, cost_curves, settings,
                                             fitted, test, sets)
        best = fitted.best
        with phase("importance"):
            importance = permutation_importance_table(fitted.pipelines[best], test_period,
                                                      data_split, importance_rows, seed,
                                                      inputs=fitted.inputs[best])
        with phase("backtest"):
            backtest = backtest_on_spark(sample, test_period, evaluation,
                                         found.description["train_rows"], backtest_weeks,
                                         label_delay_days, backtest_train_rows, alert_budget,
                                         seed, k_judged)
        with phase("bootstrap"):
            intervals = test_period_intervals(test_period, evaluation, bootstrap_resamples, seed)
        with phase("figures"):
            figures = modeling_figures(evaluation, importance, importance_rows, target_recall,
                                       currency, output_dir)
            figures.update(backtest_figure(backtest, output_dir))
        with phase("mlflow logging"):
            tracking.log_test_results(tracked, test, fitted, SHARED_FIGURES, BEST_FIGURES,
                                      output_dir)
        with phase("hand-over files"):
            from ..runner.artifacts import artifact_path, save_step_results
            from ..runner.atomic_write import atomic_path
            from ..runner.contract import MODEL_COMPARISON

            with atomic_path(artifact_path(MODEL_COMPARISON, output_dir)) as tmp:
                comparison_for_handover(test, thresholds, cv, tracked).to_csv(tmp)
            write_test_predictions(scored, keys.index(best), output_dir)
            remove_pandas_handover(output_dir)
            amounts = median_fraud_amount(transactions) if AMOUNT in transactions.columns \
                else None
            results = {**modeling_results_record(
                transactions, data_split, cv, fitted, thresholds, test, tracked, settings, sets,
                over_time_results(transactions, evaluation, backtest, intervals), amounts),
                "split_rule": found.rule, "test_sample": judged_record,
                "training_sample": {**drawn.as_record(), "cap": cap,
                                    "training_rows": found.description["train_rows"]}}
            save_step_results("modeling", results, output_dir)
        with phase("first analysis rerun"):
            both = pd.concat([sample, test_period[sample.columns]], ignore_index=True)
            first_analysis = first_analysis_rerun(
                both, Split(found.kind, np.arange(len(sample)),
                            len(sample) + np.arange(len(test_period))),
                first_analysis_rows, seed)
        with phase("alert reasons"):
            if share is None:
                alert_reasons = top_alert_reasons(fitted.pipelines[best], test_period,
                                                  test.scores[best], fitted.inputs[best])
            else:  # the whole period's highest scores, not the sample's
                alerted, probability = top_alerts(scored, test_frame, PURCHASE_ROW,
                                                  score_column(keys.index(best)),
                                                  modeling_columns(modeled, sets))
                alert_reasons = top_alert_reasons(fitted.pipelines[best], alerted, probability,
                                                  fitted.inputs[best])
    finally:
        if scored is not None:
            scored.unpersist()
        found.frame.unpersist()
    return ModelingPage(
        evaluation, importance, tracked, results, first_analysis, figures, backtest, intervals,
        alert_reasons, split_table=found.summary,
        threshold_note=threshold_check(thresholds, cv.best_candidate, transactions,
                                       cost_missed_fraud, cost_review, currency, amounts),
        card_precision_text=card_precision_note(transactions, k, alert_budget, found.purchases,
                                                found.days),
        training_sample_note=" ".join(filter(None, [
            training_sample_note(results["training_sample"], cap,
                                 found.description["train_rows"]),
            test_sample_note(judged_record)])),
        test_period=test_period)
