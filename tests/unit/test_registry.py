"""Registry step: registration, the champion/challenger rule, loading the champion back."""

from __future__ import annotations

import json
import os

import mlflow
import numpy as np
import pytest
from helpers import (
    MODEL,
    champion_version,
    fake_modeling_step,
    registry_step,
    store_client,
)
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from cardfraud.data.schema import model_features
from cardfraud.modeling.tracking import (
    configure_tracking,
)
from cardfraud.runner.artifacts import (
    load_step_results,
)
from cardfraud.serving import champion_rule, registration, registry, registry_report, scorer
from cardfraud.serving.champion_rule import apply_aliases, compare_with_champion, decide_promotion
from cardfraud.serving.promotion import (
    pending_promotion,
    promote_pending_champion,
    restore_champion,
)
from cardfraud.serving.registration import held_out_test_rows
from cardfraud.serving.registry import CHALLENGER, CHAMPION

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
    assert champion_rule.selection_score(metric, fraud, [0.1, 0.2, 0.3, 0.9], [0, 0, 0, 1]) == expected


def test_unknown_selection_metric_is_named():
    with pytest.raises(ValueError, match="unknown selection metric 'lift'"):
        champion_rule.selection_score("lift", [0, 1], [0.1, 0.9], [0, 1])


def test_scorer_requirements_pin_the_classifier_libraries():
    pipeline = Pipeline([("scale", StandardScaler()), ("classify", LogisticRegression())])
    requirements = registration.scorer_requirements(pipeline)
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
    version = store_client().get_model_version(MODEL, "1")
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
    champion = scorer.load_champion(MODEL)
    assert (champion.version, champion.threshold) == (1, 0.25)
    test = held_out_test_rows(output_dir)
    scored = champion.model.predict(model_features(test))
    assert list(scored.columns) == ["probability", "decision", "reasons"]
    assert scored["reasons"].str.len().gt(0).sum() > len(test) // 2  # every purchase explained
    np.testing.assert_allclose(scored["probability"], test["modeling_probability"], atol=1e-12)
    assert (scored["decision"] == (scored["probability"] >= 0.25)).all()
    assert 0 < scored["decision"].sum() < len(test)


def test_registered_scores_are_checked_against_modeling(output_dir):
    fake_modeling_step(output_dir, os.environ["MLFLOW_TRACKING_URI"])
    registered, _, _ = registry_step(output_dir)
    test = held_out_test_rows(output_dir)
    table, summary = registry_report.check_registered_scores(registered, test, sample_rows=50)
    assert len(table) == 50 and table["difference"].max() < 1e-12
    assert "@champion (version 1) reproduces" in summary
    tampered = test.assign(modeling_probability=test["modeling_probability"] + 0.01)
    with pytest.raises(AssertionError, match="does not reproduce the modeling step's scores"):
        registry_report.check_registered_scores(registered, tampered, sample_rows=50)


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
    champion = scorer.load_registered_scorer(f"models:/{MODEL}/1")
    expected = average_precision_score(test["fraud"], champion.score(test)["probability"])
    assert decision.champion_score == pytest.approx(expected, abs=1e-12)
    assert "trained on other data" in decision.reason


def test_results_for_run_json(output_dir):
    fake_modeling_step(output_dir, os.environ["MLFLOW_TRACKING_URI"])
    registered, decision, aliases = registry_step(output_dir)
    table, _ = registry_report.check_registered_scores(registered, held_out_test_rows(output_dir), 20)
    results = registry_report.registry_results(registered, decision, aliases, table, "average_precision")
    assert {k: results[k] for k in ("model_name", "version", "promoted", "champion_version")} == \
        {"model_name": MODEL, "version": 1, "promoted": True, "champion_version": 1}
    assert results["aliases"] == ["challenger", "champion"] and "no champion" in results["reason"]
    json.dumps(results)


def test_missing_champion_is_a_clear_lookup_error(output_dir):
    configure_tracking(None)
    with pytest.raises(LookupError, match="cannot load model models:/nobody@champion"):
        scorer.load_champion("nobody")


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
    client = store_client()
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
    candidate = registration.register_or_find_candidate(modeling, data, test, MODEL, register=False)
    assert candidate.version is None and not candidate.registers
    decision = compare_with_champion(candidate, test, "average_precision", force=True)
    assert decision.promote and decision.champion_version == 1
    assert apply_aliases(candidate, decision) == []
    check, sentence = registry_report.check_registered_scores(candidate, test, 30)
    assert check["difference"].max() < 1e-12 and "(not registered) reproduces" in sentence
    assert "Nothing is applied" in registry_report.decision_sentence(candidate, decision)
    results = registry_report.registry_results(candidate, decision, [], check, "average_precision")
    assert not results["promotion_pending"] and results["champion_version"] == 1
    assert registry_state() == before


def test_by_hand_the_registered_version_is_found_and_left_alone(output_dir):
    uri = os.environ["MLFLOW_TRACKING_URI"]
    modeling = fake_modeling_step(output_dir, uri)
    registry_step(output_dir)
    before = registry_state()
    test = held_out_test_rows(output_dir)
    data = load_step_results("load", output_dir)["data"]
    found = registration.register_or_find_candidate(modeling, data, test, MODEL, register=False)
    assert (found.version, found.newly_registered) == (1, False)
    decision = compare_with_champion(found, test, "average_precision", force=True)
    assert not decision.promote and apply_aliases(found, decision) == [CHALLENGER, CHAMPION]
    other = registration.register_or_find_candidate(modeling, data, test, "nobody", register=False)
    assert other.version is None and registry.registry_table("nobody").empty
    assert registry_state() == before


# --- the notebook ------------------------------------------------------------------------


# --- every function works on the store it is given ----------------------------------------

def test_registry_reads_and_writes_the_store_it_is_given_not_the_global_one(tmp_path, monkeypatch):
    from helpers import fresh_tracking_store

    from cardfraud.modeling.tracking import tracking_client

    given = fresh_tracking_store(tmp_path / "given", monkeypatch)
    elsewhere = fresh_tracking_store(tmp_path / "elsewhere", monkeypatch)  # env var: elsewhere
    output = tmp_path / "out"
    output.mkdir()
    mlflow.set_tracking_uri(elsewhere)
    mlflow.set_registry_uri(elsewhere)
    try:
        modeling = fake_modeling_step(output, given)
        registered, decision, aliases = registry_step(output)
        assert registered.tracking_uri == given and aliases == [CHALLENGER, CHAMPION]
        assert registry.current_champion(MODEL, given) == 1
        assert registry.registry_table(MODEL, tracking_uri=given)["version"].tolist() == [1]
        assert scorer.load_champion(MODEL, given).run_id == modeling["best_run_id"]
        assert mlflow.get_tracking_uri() == elsewhere and mlflow.get_registry_uri() == elsewhere
    finally:
        mlflow.set_tracking_uri(None)
        mlflow.set_registry_uri(None)
    assert tracking_client(elsewhere).search_registered_models() == []
    assert tracking_client(elsewhere).search_experiments()[0].name == "Default"
    assert len(tracking_client(elsewhere).search_experiments()) == 1  # no run went there


def test_a_forced_candidate_without_the_history_champion_s_inputs_is_still_checked(
        monkeypatch):
    """A base model forced over a history champion (the new extract has no card_id): the
    registry step checks the candidate and leaves the champion's column out, naming why."""
    import pandas as pd

    from cardfraud.data.schema import FEATURES
    from cardfraud.serving.scorer import LoadedScorer

    class Fake(LoadedScorer):
        def score(self, purchases, reasons="none"):
            features = model_features(purchases, self.inputs)
            return pd.DataFrame({"probability": features["distance_from_home"] / 100,
                                 "decision": 0})

    test = pd.DataFrame({name: [1.0, 2.0, 3.0] for name in FEATURES})
    test.insert(0, "row", [0, 1, 2])
    test["fraud"] = [0, 1, 0]
    test["modeling_probability"] = test["distance_from_home"] / 100
    candidate = Fake(None, "models:/m/2", 2, 0.5, "run", list(FEATURES))
    champion = Fake(None, "models:/m/1", 1, 0.5, "old",
                    [*FEATURES, "purchases_last_1h", "merchant_fraud_rate_30d"])
    monkeypatch.setattr(registry_report, "load_champion", lambda *a: champion)
    monkeypatch.setattr(registry_report, "load_candidate_scorer", lambda r: candidate)
    registered = type("R", (), {"model_name": "m", "tracking_uri": None, "version": 2})()
    table, summary = registry_report.check_registered_scores(registered, test, 3)
    assert "champion_v1_probability" not in table.columns
    assert list(table["registered_probability"]) == [0.01, 0.02, 0.03]
    assert summary.endswith("Champion version 1 is not scored beside it: its inputs "
                            "purchases_last_1h, merchant_fraud_rate_30d are not in these "
                            "purchases.")
