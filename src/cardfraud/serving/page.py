"""The registry step as one call: register (or find) the candidate, compare it with the
champion, check the registered scores, list the registry and save the step's results.

:func:`run_registry` is the step's sequence of calls, written once: the notebook
(``06_registry.ipynb``) calls it and shows its parts with the story between them, and the
tests run the step through the same call. The champion alias itself moves at publish
(:mod:`.promotion`).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import pandas as pd

from ..engines.spark_handover import is_spark_run
from ..runner.artifacts import load_step_results, save_step_results
from .champion_rule import (
    PromotionDecision,
    apply_aliases,
    champion_after_run,
    compare_with_champion,
)
from .registration import (
    RegisteredVersion,
    held_out_test_rows,
    modeling_inputs,
    register_or_find_candidate,
    version_details,
)
from .registry import DEFAULT_MODEL_NAME, registry_table
from .registry_report import check_registered_scores, registry_results
from .scoring import serving_commands, serving_payload


@dataclass
class RegistryPage:
    """What the registry page shows: the candidate, the decision, the checks and results."""

    metric: str
    registered: RegisteredVersion
    details: pd.DataFrame
    decision: PromotionDecision
    aliases: list[str]
    check: pd.DataFrame
    check_summary: str
    table: pd.DataFrame
    serving: str
    results: dict


def registry_engine(output_dir=None) -> SimpleNamespace:
    """The functions that read and score the test purchases: pandas', or Spark's when the load
    step handed on a folder written by Spark (:mod:`.spark_registry`, the same names)."""
    if is_spark_run(output_dir):
        from . import spark_registry

        return SimpleNamespace(held_out_test_rows=spark_registry.held_out_test_rows,
                               compare_with_champion=spark_registry.compare_with_champion,
                               check_registered_scores=spark_registry.check_registered_scores,
                               release_test_rows=spark_registry.SparkTestPurchases.release)
    return SimpleNamespace(held_out_test_rows=held_out_test_rows,
                           compare_with_champion=compare_with_champion,
                           check_registered_scores=check_registered_scores,
                           release_test_rows=lambda _test: None)


def run_registry(output_dir=None, *, run_id: str | None = None,
                 tracking_uri: str | None = None, model_name: str = DEFAULT_MODEL_NAME,
                 register: bool = False, force_promotion: bool = False,
                 min_improvement: float = 0.0, sample_rows: int = 500,
                 seed: int = 42) -> RegistryPage:
    """Run the registry step on the modeling step's hand-over; save the step's results.

    The keyword arguments are the ``registry`` section of the params (same names and defaults
    as the notebook's parameters cell). ``tracking_uri`` None means the store where modeling
    logged its runs.
    """
    engine = registry_engine(output_dir)
    modeling = load_step_results("modeling", output_dir)
    data = load_step_results("load", output_dir)["data"]
    test = engine.held_out_test_rows(output_dir)
    try:
        registered = register_or_find_candidate(modeling, data, test, model_name, tracking_uri,
                                                run_id, register)
        details = version_details(registered)
        metric = modeling["selection_metric"]
        decision = engine.compare_with_champion(registered, test, metric, force_promotion,
                                                min_improvement)
        aliases = apply_aliases(registered, decision)
        check, check_summary = engine.check_registered_scores(registered, test, sample_rows,
                                                              seed)
    finally:
        engine.release_test_rows(test)  # Spark's cached test purchases
    table = registry_table(model_name, champion_after_run(registered, decision),
                           registered.tracking_uri)
    serving = serving_commands(model_name, registered.tracking_uri,
                               serving_payload(test, rows=2, inputs=modeling_inputs(modeling)))
    results = {**registry_results(registered, decision, aliases, check, metric, run_id),
               "feature_set": modeling.get("feature_set", "base"),
               "model_inputs": modeling_inputs(modeling)}
    save_step_results("registry", results, output_dir)
    return RegistryPage(metric, registered, details, decision, aliases, check, check_summary,
                        table, serving, results)
