"""The modeling step's train/test split of a Spark run, rebuilt from its rule.

A Spark run hands on no per-row split file: ``results/modeling.json`` carries ``split_rule``,
``{"kind": "time", "test_from": "<ISO timestamp>"}`` (purchases at or after it are the test
period) or ``{"kind": "hash", "seed": s, "test_share": x}`` (no timestamps: a purchase is a test
one when ``pmod(xxhash64(<its columns in artifact order>, seed), 1_000_000) < test_share * 1e6``).
:func:`test_period` turns the rule into a Spark column, so the registry and monitoring steps
select the same purchases as the modeling step did.
"""

from __future__ import annotations

import pandas as pd

HASH_BUCKETS = 1_000_000


def split_rule_of(modeling: dict, source: str = "results/modeling.json") -> dict:
    """Return the modeling step's ``split_rule``, or raise naming the step to run.

    Raises:
        FileNotFoundError: the results have no split rule (made by an older modeling step).
    """
    rule = modeling.get("split_rule")
    if not isinstance(rule, dict) or rule.get("kind") not in ("time", "hash"):
        raise FileNotFoundError(f"{source} has no split_rule (the train/test split of a Spark "
                                f"run): run the 'modeling' step first (python run_all.py --only "
                                f"modeling)")
    return rule


def test_from_literal(rule: dict):
    """The first moment of the test period as a Spark timestamp literal (session time zone)."""
    from pyspark.sql import functions as F

    moment = pd.Timestamp(rule["test_from"])
    if moment.tzinfo is not None:  # the artifact's times are naive (UTC session)
        moment = moment.tz_convert("UTC").tz_localize(None)
    return F.lit(moment.to_pydatetime()).cast("timestamp")


def test_period(frame, rule: dict, columns: list[str] | None = None):
    """Return a boolean Spark column: True for the purchases of the modeling step's test period.

    Args:
        columns: the artifact's columns in their order, hashed by the hash rule (default: the
            frame's own).
    """
    from pyspark.sql import functions as F

    if rule["kind"] == "time":
        return F.col("timestamp").cast("timestamp") >= test_from_literal(rule)
    hashed = [F.col(c) for c in (columns or frame.columns)]
    bucket = F.pmod(F.xxhash64(*hashed, F.lit(int(rule["seed"]))), F.lit(HASH_BUCKETS))
    return bucket < F.lit(float(rule["test_share"]) * HASH_BUCKETS)
