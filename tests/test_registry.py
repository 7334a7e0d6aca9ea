"""Registry step: registration, the champion/challenger rule, loading the champion back."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, make_transactions
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, precision_score, recall_score, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from cardfraud.data.cleaning import FEATURES, compact_dtypes, model_features
from cardfraud.modeling.tracking import (
    configure_tracking,
    get_or_create_experiment,
    log_candidate_run,
)
from cardfraud.runner.artifacts import (
    artifacts_dir,
    load_step_results,
    save_step_results,
    transactions_path,
)
from cardfraud.serving import registry
from cardfraud.serving.promotion import (
    pending_promotion,
    promote_pending_champion,
    restore_champion,
)
from cardfraud.serving.registry import (
    CHALLENGER,
    apply_aliases,
    compare_with_champion,
    decide_promotion,
    held_out_test_rows,
    register_candidate,
)
from cardfraud.serving.scoring import CHAMPION

MODEL = "card-fraud-detector"
WEAK_FEATURES = ["repeat_retailer"]


def fake_modeling_step(output_dir: Path, tracking_uri: str, weak: bool = False,
                       rows: int = 800, seed: int = 0, threshold: float = 0.3) -> dict:
    """Write what the load and modeling steps hand on, for a logistic regression.

    Same files and MLflow run as the modeling contract: transactions.parquet, load.json
    (data fingerprint), test_predictions.parquet, modeling.json and a run whose ``model`` is
    the sklearn pipeline. ``weak`` fits on one uninformative column (a worse candidate).
    """
    frame = compact_dtypes(make_transactions(rows, seed))
    frame.to_parquet(transactions_path(output_dir))
    fingerprint = f"sha256:test-data-{seed}-{rows}"
    save_step_results("load", {"data": {"source": "simulated", "rows": rows,
                                        "fingerprint": fingerprint}}, output_dir)
    features, fraud = model_features(frame), frame["fraud"].to_numpy()
    train, test = np.arange(rows)[: rows * 3 // 4], np.arange(rows)[rows * 3 // 4:]
    columns = WEAK_FEATURES if weak else FEATURES
    pipeline = Pipeline([("select", ColumnTransformer([("keep", "passthrough", columns)])),
                         ("scale", StandardScaler()), ("classify", LogisticRegression())])
    pipeline.fit(features.iloc[train], fraud[train])
    probability = pipeline.predict_proba(features.iloc[test])[:, 1]
    decision = probability >= threshold
    test_metrics = {"average_precision": average_precision_score(fraud[test], probability),
                    "roc_auc": roc_auc_score(fraud[test], probability),
                    "recall": recall_score(fraud[test], decision),
                    "precision": precision_score(fraud[test], decision, zero_division=0)}
    uri = configure_tracking(tracking_uri)
    experiment_id = get_or_create_experiment("card-fraud-test", uri)
    name = "weak_logistic" if weak else "logistic_regression"
    run_id = log_candidate_run(experiment_id, name, {"columns": columns}, test_metrics,
                               pipeline, features.iloc[test[:5]])
    pd.DataFrame({"row": test, "fraud": fraud[test], "probability": probability}).to_parquet(
        artifacts_dir(output_dir) / "test_predictions.parquet", index=False)
    modeling = {"best_model": name, "best_run_id": run_id, "model_uri": f"runs:/{run_id}/model",
                "experiment_name": "card-fraud-test", "experiment_id": experiment_id,
                "tracking_uri": uri, "selection_metric": "average_precision",
                "threshold": threshold, "threshold_rule": "fixed for the test",
                "test_metrics": test_metrics, "test_rows": len(test),
                "split": {"kind": "stratified"}}
    save_step_results("modeling", modeling, output_dir)
    return modeling


@functools.lru_cache(maxsize=1)
def empty_tracking_database() -> Path:
    """Create (once per session) an empty, migrated MLflow SQLite database to copy.

    Creating MLflow's tables takes seconds; copying the file takes milliseconds.
    """
    folder = Path(tempfile.mkdtemp(prefix="cardfraud-mlflow-template-"))
    mlflow.MlflowClient(tracking_uri=f"sqlite:///{folder}/mlflow.db").search_experiments()
    return folder / "mlflow.db"


def fresh_tracking_store(folder: Path, monkeypatch) -> str:
    """Point MLFLOW_TRACKING_URI at a new empty store under ``folder``; return the URI."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(empty_tracking_database(), folder / "mlflow.db")
    uri = f"sqlite:///{folder}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


def registry_step(output_dir: Path, force: bool = False, publish: bool = True,
                  run_id: str = "report-run"):
    """Run the registry step as the notebook does; return (registered, decision, aliases).

    ``publish`` then applies the promotion as run_all does when it publishes the run.
    """
    modeling = load_step_results("modeling", output_dir)
    data = load_step_results("load", output_dir)["data"]
    test = held_out_test_rows(output_dir)
    registered = register_candidate(modeling, data, test, MODEL, report_run_id=run_id)
    decision = compare_with_champion(registered, test, modeling["selection_metric"], force)
    aliases = apply_aliases(registered, decision)
    results = registry.registry_results(registered, decision, aliases,
                                        pd.DataFrame({"difference": [0.0]}),
                                        modeling["selection_metric"], run_id)
    save_step_results("registry", results, output_dir)
    pending = pending_promotion(results, run_id)
    if publish and pending is not None:
        promote_pending_champion(pending)
    return registered, decision, aliases


def champion_version() -> int:
    """Return the version the champion alias points at."""
    return int(mlflow.MlflowClient().get_model_version_by_alias(MODEL, CHAMPION).version)


@pytest.fixture
def output_dir(tmp_path, monkeypatch) -> Path:
    """An empty output dir and an empty tracking store (MLFLOW_TRACKING_URI) for one test."""
    fresh_tracking_store(tmp_path / "mlflow", monkeypatch)
    path = tmp_path / "out"
    path.mkdir()
    return path


# --- the promotion rule, without MLflow ------------------------------------------------

@pytest.mark.parametrize("candidate, champion, version, force, promote, words", [
    (0.70, None, None, False, True, "no champion yet"),
    (0.80, 0.70, 1, False, True, "0.8000 vs champion v1 0.7000"),
    (0.60, 0.70, 1, False, False, "champion v1 stays"),
    (0.70, 0.70, 1, False, False, "does not beat it"),
    (0.60, 0.70, 1, True, True, "forced"),
    (0.70, 0.70, 2, True, False, "already the champion"),
])
def test_promotion_rule(candidate, champion, version, force, promote, words):
    decision = decide_promotion(2, candidate, version, champion, "average_precision", 200, force)
    assert decision.promote is promote
    assert words in decision.reason


def test_keeping_the_champion_says_why_with_both_numbers():
    decision = decide_promotion(3, 0.6123, 1, 0.7456, "average_precision", 1234)
    assert not decision.promote
    assert decision.reason == ("champion v1 stays, the candidate does not beat it: candidate v3 "
                               "average_precision 0.6123 vs champion v1 0.7456 on the same "
                               "1,234 test purchases")


def test_min_improvement_is_required_margin():
    assert not decide_promotion(2, 0.705, 1, 0.70, "average_precision", 10, False, 0.01).promote
    assert decide_promotion(2, 0.715, 1, 0.70, "average_precision", 10, False, 0.01).promote


@pytest.mark.parametrize("metric, expected", [
    ("average_precision", 1.0), ("roc_auc", 1.0), ("recall", 0.5), ("precision", 1.0)])
def test_selection_score_uses_probability_or_decision(metric, expected):
    fraud = [0, 0, 1, 1]
    assert registry.selection_score(metric, fraud, [0.1, 0.2, 0.3, 0.9], [0, 0, 0, 1]) == expected


def test_unknown_selection_metric_is_named():
    with pytest.raises(ValueError, match="unknown selection metric 'lift'"):
        registry.selection_score("lift", [0, 1], [0.1, 0.9], [0, 1])


def test_scorer_requirements_pin_the_classifier_libraries():
    pipeline = Pipeline([("scale", StandardScaler()), ("classify", LogisticRegression())])
    requirements = registry.scorer_requirements(pipeline)
    names = {r.split("==")[0] for r in requirements}
    assert {"mlflow", "scikit-learn", "pandas", "cloudpickle"} <= names
    assert "cardfraud" not in names and all("==" in r for r in requirements)


# --- registration and aliases against a temporary SQLite store ----------------------------

def test_first_version_becomes_champion_with_tags_and_threshold(output_dir):
    modeling = fake_modeling_step(output_dir, os.environ["MLFLOW_TRACKING_URI"], threshold=0.3)
    registered, decision, aliases = registry_step(output_dir)
    assert (registered.version, registered.newly_registered) == (1, True)
    assert decision.promote and "no champion yet" in decision.reason
    assert aliases == [CHALLENGER, CHAMPION]
    version = mlflow.MlflowClient().get_model_version(MODEL, "1")
    assert version.tags["run_id"] == modeling["best_run_id"]
    assert version.tags["data_fingerprint"] == "sha256:test-data-0-800"
    assert float(version.tags["threshold"]) == 0.3
    assert float(version.tags["test_average_precision"]) == pytest.approx(
        modeling["test_metrics"]["average_precision"], abs=1e-6)
    assert "threshold 0.3000" in version.description
    assert decision.candidate_score == pytest.approx(
        modeling["test_metrics"]["average_precision"], abs=1e-12)


def test_champion_loads_back_with_probability_decision_and_threshold(output_dir):
    fake_modeling_step(output_dir, os.environ["MLFLOW_TRACKING_URI"], threshold=0.25)
    registry_step(output_dir)
    champion = registry.load_champion(MODEL)
    assert (champion.version, champion.threshold) == (1, 0.25)
    test = held_out_test_rows(output_dir)
    scored = champion.model.predict(model_features(test))
    assert list(scored.columns) == ["probability", "decision"]
    np.testing.assert_allclose(scored["probability"], test["modeling_probability"], atol=1e-12)
    assert (scored["decision"] == (scored["probability"] >= 0.25)).all()
    assert 0 < scored["decision"].sum() < len(test)


def test_registered_scores_are_checked_against_modeling(output_dir):
    fake_modeling_step(output_dir, os.environ["MLFLOW_TRACKING_URI"])
    registered, _, _ = registry_step(output_dir)
    test = held_out_test_rows(output_dir)
    table, summary = registry.check_registered_scores(registered, test, sample_rows=50)
    assert len(table) == 50 and table["difference"].max() < 1e-12
    assert "@champion (version 1) reproduces" in summary
    tampered = test.assign(modeling_probability=test["modeling_probability"] + 0.01)
    with pytest.raises(AssertionError, match="does not reproduce the modeling step's scores"):
        registry.check_registered_scores(registered, tampered, sample_rows=50)


def test_worse_candidate_leaves_the_champion(output_dir):
    uri = os.environ["MLFLOW_TRACKING_URI"]
    fake_modeling_step(output_dir, uri)
    registry_step(output_dir)
    fake_modeling_step(output_dir, uri, weak=True, threshold=0.05)
    registered, decision, aliases = registry_step(output_dir)
    assert registered.version == 2 and aliases == [CHALLENGER]
    assert not decision.promote and champion_version() == 1
    assert decision.candidate_score < decision.champion_score
    assert f"{decision.candidate_score:.4f} vs champion v1 {decision.champion_score:.4f}" \
        in decision.reason


def test_better_candidate_becomes_champion(output_dir):
    uri = os.environ["MLFLOW_TRACKING_URI"]
    fake_modeling_step(output_dir, uri, weak=True, threshold=0.05)
    registry_step(output_dir)
    fake_modeling_step(output_dir, uri)
    registered, decision, aliases = registry_step(output_dir)
    assert decision.promote and "the candidate is better" in decision.reason
    assert champion_version() == 2 and aliases == [CHALLENGER, CHAMPION]
    table = registry.registry_table(MODEL)
    assert table["version"].tolist() == [2, 1]
    assert table["aliases"].tolist() == ["challenger, champion", ""]


def test_force_promotion_replaces_a_better_champion(output_dir):
    uri = os.environ["MLFLOW_TRACKING_URI"]
    fake_modeling_step(output_dir, uri)
    registry_step(output_dir)
    fake_modeling_step(output_dir, uri, weak=True, threshold=0.05)
    _, decision, _ = registry_step(output_dir, force=True)
    assert decision.promote and "forced" in decision.reason
    assert champion_version() == 2


def test_rerun_on_same_data_changes_nothing(output_dir):
    uri = os.environ["MLFLOW_TRACKING_URI"]
    fake_modeling_step(output_dir, uri)
    registry_step(output_dir)
    again, decision, _ = registry_step(output_dir)
    assert (again.version, again.newly_registered, decision.promote) == (1, False, False)
    assert "already the champion" in decision.reason
    fake_modeling_step(output_dir, uri)  # modeling re-run: new run, identical model
    retrained, decision, aliases = registry_step(output_dir)
    assert retrained.version == 2 and not decision.promote
    assert decision.candidate_score == decision.champion_score
    assert champion_version() == 1 and aliases == [CHALLENGER]


def test_champion_is_rescored_on_the_current_test_rows(output_dir):
    uri = os.environ["MLFLOW_TRACKING_URI"]
    fake_modeling_step(output_dir, uri, seed=1)
    registry_step(output_dir)
    fake_modeling_step(output_dir, uri, seed=2, weak=True, threshold=0.05)
    _, decision, _ = registry_step(output_dir)
    test = held_out_test_rows(output_dir)
    champion = registry.load_registered_scorer(f"models:/{MODEL}/1")
    expected = average_precision_score(test["fraud"], champion.score(test)["probability"])
    assert decision.champion_score == pytest.approx(expected, abs=1e-12)
    assert "trained on other data" in decision.reason


def test_results_for_run_json(output_dir):
    fake_modeling_step(output_dir, os.environ["MLFLOW_TRACKING_URI"])
    registered, decision, aliases = registry_step(output_dir)
    table, _ = registry.check_registered_scores(registered, held_out_test_rows(output_dir), 20)
    results = registry.registry_results(registered, decision, aliases, table, "average_precision")
    assert {k: results[k] for k in ("model_name", "version", "promoted", "champion_version")} == \
        {"model_name": MODEL, "version": 1, "promoted": True, "champion_version": 1}
    assert results["aliases"] == ["challenger", "champion"] and "no champion" in results["reason"]
    json.dumps(results)


def test_missing_champion_is_a_clear_lookup_error(output_dir):
    configure_tracking(None)
    with pytest.raises(LookupError, match="cannot load model models:/nobody@champion"):
        registry.load_champion("nobody")


# --- promotion takes effect when the run publishes ---------------------------------------

def test_registry_step_leaves_the_champion_until_the_run_publishes(output_dir):
    uri = os.environ["MLFLOW_TRACKING_URI"]
    fake_modeling_step(output_dir, uri)
    registry_step(output_dir)
    fake_modeling_step(output_dir, uri, weak=True, threshold=0.05)
    registered, decision, aliases = registry_step(output_dir, force=True, publish=False,
                                                  run_id="run-2")
    # the step decided: v2 is challenger now and will be champion once the run publishes
    assert decision.promote and registered.version == 2 and champion_version() == 1
    assert aliases == [CHALLENGER, CHAMPION]
    assert registry.version_aliases(MODEL) == {1: [CHAMPION], 2: [CHALLENGER]}
    results = load_step_results("registry", output_dir)
    assert results["promotion_pending"] and results["champion_version"] == 2
    assert results["previous_champion_version"] == 1 and results["champion_since"] is None
    table = registry.registry_table(MODEL, 2)
    assert table["aliases"].tolist() == ["challenger, champion when this run publishes",
                                         "champion until this run publishes"]
    since = promote_pending_champion(pending_promotion(results, "run-2"))
    assert champion_version() == 2 and registry.champion_since(MODEL) == since


def test_results_copied_from_an_earlier_run_promote_nothing(output_dir):
    fake_modeling_step(output_dir, os.environ["MLFLOW_TRACKING_URI"])
    registry_step(output_dir, publish=False, run_id="run-1")
    results = load_step_results("registry", output_dir)
    assert pending_promotion(results, "run-1") is not None
    assert pending_promotion(results, "run-2") is None  # e.g. --only monitoring later
    assert pending_promotion(None, "run-1") is None


def test_restoring_puts_the_champion_back_or_removes_it(output_dir):
    uri = os.environ["MLFLOW_TRACKING_URI"]
    fake_modeling_step(output_dir, uri)
    registry_step(output_dir, publish=False, run_id="run-1")
    first = pending_promotion(load_step_results("registry", output_dir), "run-1")
    promote_pending_champion(first)
    restore_champion(first)  # no champion before: the alias is removed
    assert registry.current_champion(MODEL) is None
    promote_pending_champion(first)
    fake_modeling_step(output_dir, uri, weak=True, threshold=0.05)
    registry_step(output_dir, force=True, publish=False, run_id="run-2")
    second = pending_promotion(load_step_results("registry", output_dir), "run-2")
    promote_pending_champion(second)
    restore_champion(second)
    assert champion_version() == 1


def test_candidate_catching_no_fraud_is_never_promoted_even_when_forced(output_dir):
    uri = os.environ["MLFLOW_TRACKING_URI"]
    fake_modeling_step(output_dir, uri, threshold=1.0 + 1e-12)  # holds nothing for review
    registered, decision, aliases = registry_step(output_dir, force=True)
    assert not decision.promote and registry.current_champion(MODEL) is None
    assert "catches no fraud at its threshold 1.0000" in decision.reason
    assert "never promoted, even with force_promotion; there is still no champion" \
        in decision.reason
    assert aliases == [CHALLENGER]
    fake_modeling_step(output_dir, uri)
    registry_step(output_dir)
    fake_modeling_step(output_dir, uri, seed=3, threshold=1.0 + 1e-12)
    _, decision, _ = registry_step(output_dir, force=True)
    assert not decision.promote and champion_version() == 2
    assert "champion v2 stays" in decision.reason


# --- opened by hand: nothing is registered ------------------------------------------------

def registry_state() -> dict:
    """Every version of MODEL with its tags, and the aliases: what opening by hand must keep."""
    client = mlflow.MlflowClient()
    versions = {v.version: dict(v.tags) for v in client.search_model_versions(f"name = '{MODEL}'")}
    return {"versions": versions, "aliases": registry.version_aliases(MODEL)}


def test_by_hand_an_unregistered_run_is_compared_without_registering(output_dir):
    uri = os.environ["MLFLOW_TRACKING_URI"]
    fake_modeling_step(output_dir, uri, seed=1)
    registry_step(output_dir)
    before = registry_state()
    modeling = fake_modeling_step(output_dir, uri, seed=2)
    test = held_out_test_rows(output_dir)
    data = load_step_results("load", output_dir)["data"]
    candidate = registry.register_or_find_candidate(modeling, data, test, MODEL, register=False)
    assert candidate.version is None and not candidate.registers
    decision = compare_with_champion(candidate, test, "average_precision", force=True)
    assert decision.promote and decision.champion_version == 1
    assert apply_aliases(candidate, decision) == []
    check, sentence = registry.check_registered_scores(candidate, test, 30)
    assert check["difference"].max() < 1e-12 and "(not registered) reproduces" in sentence
    assert "Nothing is applied" in registry.decision_sentence(candidate, decision)
    results = registry.registry_results(candidate, decision, [], check, "average_precision")
    assert not results["promotion_pending"] and results["champion_version"] == 1
    assert registry_state() == before


def test_by_hand_the_registered_version_is_found_and_left_alone(output_dir):
    uri = os.environ["MLFLOW_TRACKING_URI"]
    modeling = fake_modeling_step(output_dir, uri)
    registry_step(output_dir)
    before = registry_state()
    test = held_out_test_rows(output_dir)
    data = load_step_results("load", output_dir)["data"]
    found = registry.register_or_find_candidate(modeling, data, test, MODEL, register=False)
    assert (found.version, found.newly_registered) == (1, False)
    decision = compare_with_champion(found, test, "average_precision", force=True)
    assert not decision.promote and apply_aliases(found, decision) == [CHALLENGER, CHAMPION]
    other = registry.register_or_find_candidate(modeling, data, test, "nobody", register=False)
    assert other.version is None and registry.registry_table("nobody").empty
    assert registry_state() == before


# --- the notebook ------------------------------------------------------------------------

@pytest.mark.slow
def test_registry_notebook_promotes_once_and_writes_results(output_dir, project_env):
    uri = os.environ["MLFLOW_TRACKING_URI"]
    fake_modeling_step(output_dir, uri)
    executed = output_dir / "05.ipynb"
    command = [sys.executable, "-m", "papermill", str(ROOT / "notebooks" / "05_registry.ipynb"),
               str(executed), "-k", "cardfraud", "-p", "output_dir", str(output_dir),
               "-p", "sample_rows", "50", "-p", "run_id", "report-run-1", "-p", "register", "True"]
    for attempt in (1, 2):
        done = subprocess.run(command, env=project_env, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        results = load_step_results("registry", output_dir)
        assert results["version"] == 1 and results["champion_version"] == 1
        assert results["promoted"] is (attempt == 1)
        assert results["max_score_difference"] < 1e-12
        if attempt == 1:  # as run_all does when it publishes the run
            assert registry.current_champion(MODEL) is None
            promote_pending_champion(pending_promotion(results, "report-run-1"))
    tags = mlflow.MlflowClient().get_model_version(MODEL, "1").tags
    assert tags["report_run_id"] == "report-run-1"
    text = executed.read_text()
    assert "mlflow models serve -m models:/card-fraud-detector@champion --env-manager local" \
        in text and "already the champion" in text
