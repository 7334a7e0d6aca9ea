"""A Spark run's test evaluation in bounded driver memory: the test sample.

Every test purchase is scored on the executors. Up to ``modeling.test_sample_rows`` test
purchases (default 2,000,000) the whole scored test period then comes to the driver and the
pandas functions judge it, as in a pandas run. Beyond that the driver gets a uniform sample of
about that many test purchases (a purchase is drawn when
``pmod(xxhash64(its row, seed), 1_000_000) < share * 1e6``, so the same run draws the same
sample), and:

- the counts at each model's threshold (alerts, frauds caught and missed, so precision, recall,
  F1 and accuracy), the alerts per day and the expected cost are counted on the executors over
  **every** test purchase (:func:`threshold_counts`) and replace the sample's;
- the ranking measures (PR-AUC, ROC-AUC, the alert budget's precision and recall, card
  precision@k with k scaled to the sample), the bootstrap intervals, the permutation importance,
  the weekly backtest's test weeks and the first analysis' re-run come from the sample. A
  uniform sample keeps the fraud share, so these estimate the whole period's values; with two
  million purchases their sampling error is far below the differences between models;
- the top alerts whose reasons the page shows are the whole period's highest scores
  (:func:`top_alerts`).

At 100 million purchases the test period (14 of 90 days) holds about 15.6 million purchases:
their inputs and eight models' scores on the driver would take several GB and the bootstrap
would run for an hour; the sample keeps both bounded whatever the size.
"""

from __future__ import annotations

import pandas as pd

from ..data.schema import AMOUNT, TARGET
from ..report.locale_format import fill
from ..report.translate import _

DEFAULT_TEST_SAMPLE_ROWS = 2_000_000
SAMPLE_BUCKETS = 1_000_000
COUNTED = ["accuracy", "precision", "recall", "f1", "tn", "fp", "fn", "tp", "alerts_per_day",
           "expected_cost_per_1000"]


def sampled_share(test_rows: int, cap: int | None) -> float | None:
    """The share of the test purchases brought to the driver: None (all) up to ``cap``."""
    cap = int(cap or DEFAULT_TEST_SAMPLE_ROWS)
    if cap < 2:
        raise ValueError(f"modeling: test_sample_rows must be at least 2, not {cap!r}")
    return None if test_rows <= cap else cap / test_rows


def test_sample_column(row_column: str, share: float, seed: int):
    """The Spark condition "this test purchase is in the driver's sample"."""
    from pyspark.sql import functions as F

    bucket = F.pmod(F.xxhash64(F.col(row_column), F.lit(int(seed))), F.lit(SAMPLE_BUCKETS))
    return bucket < F.lit(float(share) * SAMPLE_BUCKETS)


def scaled_cards_reviewed(k: int | None, share: float | None) -> int | None:
    """k of card precision@k for the sample: the cards reviewed a day times the sample share."""
    if k is None or share is None:
        return k
    return max(1, int(round(k * share)))


def threshold_counts(scored, score: str, threshold: float) -> dict:
    """Count, over every purchase of ``scored`` (a Spark frame with the label, the score column
    and the amount when known), the purchases, frauds, alerts and frauds alerted at
    ``threshold``, and the amounts of the frauds missed."""
    from pyspark.sql import functions as F

    fraud, flagged = F.col(TARGET) == 1, F.col(score) >= F.lit(float(threshold))
    columns = [F.count(F.lit(1)).alias("rows"), F.count_if(fraud).alias("frauds"),
               F.count_if(flagged).alias("flagged"), F.count_if(fraud & flagged).alias("tp")]
    if AMOUNT in scored.columns:
        columns.append(F.sum(F.when(fraud & ~flagged, F.col(AMOUNT).cast("double")))
                       .alias("missed_amount"))
    found = scored.agg(*columns).first().asDict()
    return {key: (None if value is None else float(value) if key == "missed_amount"
                  else int(value)) for key, value in found.items()}


def counted_metrics(counts: dict, days: int | None, cost_missed_fraud: float,
                    cost_review: float) -> dict:
    """The threshold's measures from :func:`threshold_counts`, as
    :func:`cardfraud.modeling.metrics.judge_test_scores` computes them from the rows."""
    from .metrics import threshold_measures

    rows, tp = counts["rows"], counts["tp"]
    fp, fn = counts["flagged"] - tp, counts["frauds"] - tp
    missed = (counts.get("missed_amount") or 0.0) if "missed_amount" in counts \
        else fn * cost_missed_fraud
    cost = missed + counts["flagged"] * cost_review
    return {**threshold_measures(tp, fp, fn, rows - tp - fp - fn),
            "alerts_per_day": counts["flagged"] / days if days else None,
            "expected_cost_per_1000": round(1000 * cost / rows)}


def with_whole_period_counts(comparison: pd.DataFrame, counted: dict) -> pd.DataFrame:
    """The comparison table with the sample's threshold measures replaced by the whole test
    period's (``counted``: model -> :func:`counted_metrics`)."""
    table = comparison.copy()
    for model, measures in counted.items():
        for name in COUNTED:
            if name in table.columns:
                table.loc[model, name] = measures[name]
    return table


def top_alerts(scored, test_frame, row_column: str, score: str, columns: list[str],
               rows: int = 5) -> tuple[pd.DataFrame, object]:
    """The ``rows`` test purchases of highest score over the whole period (ties by row), with
    ``columns``: the frame and their scores (for the page's reasons)."""
    from pyspark.sql import functions as F

    top = scored.orderBy(F.col(score).desc(), F.col(row_column)).limit(rows) \
        .select(row_column, score).toPandas()
    found = test_frame.where(F.col(row_column).isin([int(r) for r in top[row_column]])) \
        .select(*columns, row_column).toPandas().set_index(row_column)
    chosen = found.loc[top[row_column].to_numpy()].reset_index()
    return chosen, top[score].to_numpy(dtype="float64")


def test_sample_record(share: float | None, sample_rows: int, test_rows: int, cap: int,
                       seed: int) -> dict:
    """How the test period was judged on the driver (for modeling.json)."""
    return {"sampled": share is not None, "rows": int(sample_rows), "test_rows": int(test_rows),
            "cap": int(cap), "share": None if share is None else float(share),
            "seed": int(seed)}


def test_sample_note(record: dict) -> str:
    """Say on the page what the test measures were computed on (empty when on every purchase)."""
    if not record["sampled"]:
        return ""
    return fill(_("Every one of the {test:,} test purchases was scored on the executors, and "
                  "the alerts, frauds caught and missed, precision, recall, alerts per day and "
                  "cost at each threshold count all of them. PR-AUC, ROC-AUC, the alert budget, "
                  "card precision@k, the bootstrap intervals, the importance and the backtest's "
                  "test weeks come from a uniform sample of {rows:,} of them "
                  "(modeling.test_sample_rows = {cap:,}): it keeps the fraud share, and with "
                  "this many purchases its error is far below the gaps between models."),
                test=record["test_rows"], rows=record["rows"], cap=record["cap"])
