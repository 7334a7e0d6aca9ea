"""The registry step of a Spark run: the test purchases, the champion comparison and the check.

The same functions as the pandas path of :func:`cardfraud.serving.page.run_registry`
(``held_out_test_rows``, ``compare_with_champion``, ``check_registered_scores``), on the folder
of Parquet a Spark run's load step hands on:

- the test purchases are the modeling step's test period, rebuilt from its ``split_rule``
  (:mod:`cardfraud.engines.spark_split`), with card-history features recomputed on the
  executors when the model uses them; their count and frauds must equal those of the
  Spark-written ``test_predictions.parquet`` folder, else the step refuses;
- candidate and champion score every test purchase on the executors (``spark_udf``; a
  candidate not registered, opened by hand, is scored by ``mapInPandas``), and the selection
  metric comes from the purchases counted per score or per decision: the pandas engine's
  score on the same purchases;
- the registered scorer is checked on a seeded sample of ``sample_rows`` test purchases (a
  bounded sample on the driver) against the modeling run's own classifier: the sample is
  another draw than the pandas engine's, so the table's rows differ, not its verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from ..data.schema import TARGET, model_features
from ..modeling.history import HISTORY_FEATURES
from ..report.translate import _
from ..runner.artifacts import artifact_path, load_step_results, resolve_output_dir
from ..runner.contract import REGISTRY_STEP, TEST_PREDICTIONS
from ..runner.step_inputs import StepInputsMissing, require_step_inputs
from .champion_rule import (
    _DECISION_METRICS,
    _PROBABILITY_METRICS,
    PromotionDecision,
    decide_against_champion,
    score_current_champion,
)
from .registration import RegisteredVersion, modeling_inputs
from .registry_report import compare_registered_scores
from .scorer import load_candidate_scorer

PAYLOAD_ROWS = 20  # test purchases brought to the driver for the input example and payload


@dataclass
class SparkTestPurchases:
    """The test purchases as a Spark frame, their count, and a few of them on the driver."""

    frame: object
    rows: int
    frauds: int
    first: pd.DataFrame  # a bounded seeded sample: input example and serving payload

    def head(self, rows: int = 5) -> pd.DataFrame:
        """Return a few test purchases as pandas (the input example and the payload)."""
        return self.first.head(rows)

    def __len__(self) -> int:
        return self.rows

    def release(self) -> None:
        """Free the cached test purchases (the registry step is done with them)."""
        self.frame.unpersist()


def held_out_test_rows(output_dir=None, seed: int = 42) -> SparkTestPurchases:
    """Return the modeling step's test purchases of a Spark run (model inputs and fraud).

    Raises:
        StepInputsMissing: the modeling step's files are missing or stale, or its test
            predictions do not hold the purchases its split rule gives.
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from ..engines.spark_handover import handed_on_session, read_handed_on
    from ..engines.spark_history import card_history_features
    from ..engines.spark_sampling import sample_rows
    from ..engines.spark_split import split_rule_of, test_period
    from .history_scoring import DEFAULT_LABEL_DELAY_DAYS, LABEL_DELAY_KEY

    require_step_inputs(REGISTRY_STEP, resolve_output_dir(output_dir))
    modeling = load_step_results("modeling", output_dir)
    rule, inputs = split_rule_of(modeling), modeling_inputs(modeling)
    transactions = read_handed_on(output_dir)
    artifact_columns = list(transactions.columns)
    marked = transactions.withColumn("__test", test_period(transactions, rule, artifact_columns))
    if any(c in HISTORY_FEATURES for c in inputs):
        marked = card_history_features(marked, float(modeling.get(LABEL_DELAY_KEY,
                                                                  DEFAULT_LABEL_DELAY_DAYS)))
    lacking = [c for c in inputs if c not in marked.columns]
    if lacking:
        raise StepInputsMissing(f"step '{REGISTRY_STEP}' needs the model's inputs "
                                f"{', '.join(lacking)}, which the purchases cannot give")
    # read by each check below: the card-history windows run once, not once per check
    test = marked.where(F.col("__test")).select(*inputs, TARGET).persist(
        StorageLevel.MEMORY_AND_DISK)
    counts = test.agg(F.count(F.lit(1)).alias("rows"),
                      F.sum(F.col(TARGET).cast("long")).alias("frauds")).first()
    predictions = handed_on_session(output_dir).read.parquet(
        str(artifact_path(TEST_PREDICTIONS, output_dir))).agg(
        F.count(F.lit(1)).alias("rows"), F.sum(F.col(TARGET).cast("long")).alias("frauds")).first()
    if (counts["rows"], counts["frauds"]) != (predictions["rows"], predictions["frauds"]):
        test.unpersist()
        raise StepInputsMissing(
            f"step '{REGISTRY_STEP}': the modeling step's split rule gives {counts['rows']:,} "
            f"test purchases ({counts['frauds'] or 0:,} frauds) but its "
            f"{TEST_PREDICTIONS.file} holds {predictions['rows']:,} "
            f"({predictions['frauds'] or 0:,}): run 'modeling' again")
    return SparkTestPurchases(test, int(counts["rows"]), int(counts["frauds"] or 0),
                              sample_rows(test, PAYLOAD_ROWS, seed))


def score_test(test: SparkTestPurchases, scorer, tracking_uri: str):
    """Return the test purchases with the scorer's probability and decision (cached)."""
    if scorer.version is not None:
        from ..engines.spark_scoring import with_scores

        return with_scores(test.frame, scorer, scorer.uri, tracking_uri).cache()

    def score_batches(batches):
        for batch in batches:
            scored = scorer.score(batch)
            yield batch.assign(probability=scored["probability"].to_numpy(dtype=float),
                               decision=scored["decision"].to_numpy(dtype=np.int64))

    schema = test.frame.schema.add("probability", "double").add("decision", "long")
    return test.frame.mapInPandas(score_batches, schema).cache()


def selection_score(metric: str, scored) -> float:
    """Return the selection metric (sklearn name) of scored test purchases, from aggregates."""
    from ..engines.spark_ranks import score_metrics
    from ..monitoring.spark_champion import decision_counts

    if metric in _PROBABILITY_METRICS:
        return float(score_metrics(scored)[metric])
    if metric not in _DECISION_METRICS:
        known = ", ".join([*_PROBABILITY_METRICS, *_DECISION_METRICS])
        raise ValueError(f"unknown selection metric {metric!r} (known: {known})")
    c = decision_counts(scored)
    tp, fp = c["caught"], c["held"] - c["caught"]
    fn, tn = c["frauds"] - tp, c["rows"] - c["frauds"] - (c["held"] - tp)
    rate = {"recall": tp / (tp + fn) if tp + fn else 0.0,
            "precision": tp / (tp + fp) if tp + fp else 0.0,
            "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0,
            "accuracy": (tp + tn) / c["rows"]}
    if metric == "balanced_accuracy":
        specificity = tn / (tn + fp) if tn + fp else 0.0
        return float((rate["recall"] + specificity) / 2)
    return float(rate[metric])


def compare_with_champion(registered: RegisteredVersion, test: SparkTestPurchases, metric: str,
                          force: bool = False, min_improvement: float = 0.0) -> PromotionDecision:
    """Score the candidate and the champion on the test purchases on Spark; decide promotion.

    As :func:`cardfraud.serving.champion_rule.compare_with_champion`.
    """
    uri = registered.tracking_uri
    scored = score_test(test, load_candidate_scorer(registered), uri)
    try:
        candidate = selection_score(metric, scored)
        from ..monitoring.spark_champion import decision_counts

        counts = decision_counts(scored)
    finally:
        scored.unpersist()
    champion_version, champion_score = score_current_champion(
        registered, partial(_score_champion, test, metric, uri), force)
    return decide_against_champion(registered, candidate, champion_version, champion_score,
                                   metric, (counts["frauds"], counts["caught"], counts["rows"]),
                                   force, min_improvement)


def _score_champion(test: SparkTestPurchases, metric: str, uri: str, champion) -> float:
    """The champion's selection score on the test purchases, scored on the executors."""
    champion_scored = score_test(test, champion, uri)
    try:
        return selection_score(metric, champion_scored)
    finally:
        champion_scored.unpersist()


def _modeling_probability(registered: RegisteredVersion, sample: pd.DataFrame,
                          inputs: list[str]) -> np.ndarray:
    """P(fraud) of the sampled purchases by the modeling run's own classifier."""
    import mlflow.sklearn

    from ..modeling.tracking import using_store

    with using_store(registered.tracking_uri):
        classifier = mlflow.sklearn.load_model(f"runs:/{registered.run_id}/model")
    return classifier.predict_proba(model_features(sample, inputs))[:, 1]


def check_registered_scores(registered: RegisteredVersion, test: SparkTestPurchases,
                            sample_rows: int, seed: int = 0) -> tuple[pd.DataFrame, str]:
    """Score a seeded sample of test purchases with the registered model; compare with the
    modeling run's classifier (see the module's note on the sample).

    Raises:
        AssertionError: when a probability differs by more than 1e-9.
    """
    from ..engines.spark_sampling import sample_rows as spark_sample

    table, sentence = compare_registered_scores(
        registered, lambda _inputs: spark_sample(test.frame, min(sample_rows, len(test)), seed),
        partial(_modeling_probability, registered))
    return table, sentence + _(
        " The purchases are a seeded sample drawn on Spark (other ones than a pandas run "
        "checks), scored again by the modeling run's own classifier.")
