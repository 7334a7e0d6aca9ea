"""``score --engine spark``: score purchases on Spark's executors with ``mlflow.pyfunc.spark_udf``.

The purchases are validated as the pandas ``score`` does (the same rules and messages:
:func:`cardfraud.engines.spark_validation.check_purchases_to_score`), scored by the registered
model on the executors, and written as a folder of Parquet files (partitioned like the input
folder, e.g. by day) into a temporary folder beside the output, renamed into place once
complete: there is never partial output. Reasons (SHAP values) are not computed on Spark; the
pandas engine gives them (``--engine pandas --reasons alerts``).
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

from ..data.checks import DataValidationError
from ..runner.atomic_write import temporary_path
from ..serving.history_scoring import history_inputs, refuse_without_history
from ..serving.scoring import remove_leftover_temporary_files
from . import EngineSettings
from .spark_engine import parquet_files, partition_columns, read_spark_extract

REASONS_NOT_ON_SPARK = ("reasons are not computed on Spark; score with --engine pandas "
                        "--reasons alerts (or all) for them")
SCORE_TYPE = "probability double, decision bigint"


def check_output_folder(input_path: Path, output_path: Path, overwrite: bool = False) -> None:
    """Raise ValueError when the output cannot be the folder of scores: a ``.csv`` name, the
    input itself or a place inside it, or an existing one without ``overwrite``."""
    if output_path.suffix.lower() == ".csv":
        raise ValueError(f"{output_path}: the Spark engine writes a folder of Parquet files; "
                         f"give a folder name (or score with --engine pandas for a CSV)")
    source, target = input_path.resolve(), output_path.resolve()
    if target == source or source in target.parents or target in source.parents:
        raise ValueError(f"{output_path}: is or holds the input {input_path}; write the scores "
                         f"to another folder")
    if output_path.exists() and not overwrite:
        raise ValueError(f"{output_path}: already exists; pass --overwrite to replace it")


def replace_with(folder: Path, target: Path) -> None:
    """Move a complete folder onto ``target``; an old ``target`` is moved aside first and
    deleted once the new one is in place."""
    if not target.exists():
        os.replace(folder, target)
        return
    old = temporary_path(target)
    os.replace(target, old)
    os.replace(folder, target)
    if old.is_dir():
        shutil.rmtree(old, ignore_errors=True)
    else:
        old.unlink(missing_ok=True)


def refuse_unscorable_model(scorer) -> None:
    """Raise TypeError unless the model returns ``probability`` and ``decision`` (as the
    project's registered FraudScorer does), the two columns the executors write."""
    from ..serving.scorer import FraudScorer, unwrapped_scorer

    schema = scorer.model.metadata.get_output_schema()
    names = set(schema.input_names()) if schema is not None else set()
    if not ({"probability", "decision"} <= names or isinstance(unwrapped_scorer(scorer.model),
                                                               FraudScorer)):
        raise TypeError(f"{scorer.uri} does not return a fraud probability and decision; the "
                        f"Spark engine scores the project's registered models (or score with "
                        f"--engine pandas)")


def with_scores(clean, scorer, model_uri: str, tracking_uri: str):
    """Return the purchases with ``probability`` and ``decision`` computed on the executors."""
    import mlflow.pyfunc
    from pyspark.sql import functions as F

    from ..modeling.tracking import using_store
    from ..serving.scorer import REASONS, takes_params

    params = {REASONS: "none"} if takes_params(scorer.model) else None
    quiet = logging.getLogger("mlflow")  # "env_manager='local' does not recreate the
    level = quiet.level                   # environment": the executors run this project's
    quiet.setLevel(logging.ERROR)         # Python, which scored and validated the model
    try:
        with using_store(tracking_uri):
            udf = mlflow.pyfunc.spark_udf(clean.sparkSession, model_uri, env_manager="local",
                                          result_type=SCORE_TYPE, params=params)
    finally:
        quiet.setLevel(level)
    inputs = F.struct(*[F.col(c).cast("double").alias(c) for c in scorer.inputs])
    scored = clean.withColumn("_cardfraud_score", udf(inputs))
    return scored.select(*clean.columns, "_cardfraud_score.probability",
                         "_cardfraud_score.decision")


def write_scores(scored, output_path: Path, partitions: list[str], overwrite: bool) -> tuple:
    """Write the scores into a temporary folder, count them there, rename it into place;
    return (rows, held for review). On any failure the temporary folder is deleted."""
    from pyspark.sql import functions as F

    output_path.parent.mkdir(parents=True, exist_ok=True)
    remove_leftover_temporary_files(output_path.parent)
    folder = temporary_path(output_path)
    spark = scored.sparkSession
    try:
        scored.write.partitionBy(*partitions).parquet(str(folder))
        # counted from the files written (the model does not run twice); named one by one, as
        # Spark skips a hidden folder given whole
        written = [str(p) for p in parquet_files(folder)]
        totals = spark.read.parquet(*written).agg(
            F.count(F.lit(1)).alias("rows"), F.sum("decision").alias("flagged")).first()
        replace_with(folder, output_path)
    except BaseException:  # Ctrl-C and SIGTERM too: never a half-written folder
        if getattr(spark, "sparkContext", None) is not None:
            spark.sparkContext.cancelAllJobs()
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return int(totals["rows"]), int(totals["flagged"] or 0)


def score_on_spark(input_path: str | os.PathLike, output_path: str | os.PathLike,
                   model_uri: str, tracking_uri: str | None = None,
                   settings: EngineSettings | None = None, sep: str | None = None,
                   decimal: str | None = None, overwrite: bool = False,
                   history_path: str | os.PathLike | None = None,
                   reasons: str | None = None) -> dict:
    """Validate, score on the executors and write a folder of Parquet; return the summary the
    pandas ``score_file`` returns (rows, held for review, output, model version, ...).

    Raises:
        DataValidationError: the input cannot be scored (message names file, column, rows).
        ValueError: the output is unusable, or reasons or ``--history`` were asked for.
        LookupError: the model cannot be loaded. TypeError: it gives no probability.
        SparkUnavailable: PySpark or Java is missing.
    """
    from ..serving.scorer import check_model_uri, configure_quiet_tracking, load_registered_scorer

    input_path, output_path = Path(input_path), Path(output_path)
    check_model_uri(model_uri)
    if reasons not in (None, "none"):
        raise ValueError(REASONS_NOT_ON_SPARK)
    if history_path is not None:
        raise DataValidationError(f"--history {history_path}: card-history features are not "
                                  f"computed on Spark; score with --engine pandas")
    check_output_folder(input_path, output_path, overwrite)
    started = time.perf_counter()
    extract = read_spark_extract(input_path, settings, sep, decimal)  # says if PySpark is missing
    from .spark_validation import check_purchases_to_score

    if hasattr(extract.frame.sparkSession, "sparkContext"):  # not on Spark Connect
        extract.frame.sparkSession.sparkContext.setLogLevel("ERROR")  # the command's one line
    scorer = load_registered_scorer(model_uri, tracking_uri)
    refuse_unscorable_model(scorer)
    columns = [c for c in extract.frame.columns]
    refuse_without_history(SimpleNamespace(columns=columns), str(input_path), scorer.inputs)
    clean = check_purchases_to_score(extract, scorer.inputs)
    scored = with_scores(clean, scorer, model_uri, configure_quiet_tracking(tracking_uri))
    partitions = partition_columns(input_path) if input_path.is_dir() else []
    rows, flagged = write_scores(scored, output_path, partitions, overwrite)
    return {"input": str(input_path), "output": str(output_path), "rows": rows,
            "flagged": flagged, "flagged_share": flagged / rows, "model_uri": model_uri,
            "reasons": "not computed on Spark (use --engine pandas)", "explained": 0,
            "version": scorer.version, "threshold": scorer.threshold,
            "history_features": history_inputs(scorer.inputs),
            "engine": "spark", "partitions": partitions,
            "seconds": round(time.perf_counter() - started, 3)}
