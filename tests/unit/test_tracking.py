"""MLflow tracking into a temporary store: URI rules, experiment, runs, loadable models."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import mlflow
import numpy as np
import pytest
from conftest import make_transactions
from mlflow.tracking import MlflowClient

from cardfraud.data.schema import model_features
from cardfraud.modeling import tracking
from cardfraud.modeling.page import evaluate_candidates
from cardfraud.runner.artifacts import save_figure


def test_tracking_uri_comes_from_the_param_first(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "false")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/elsewhere.db")
    uri = tracking.configure_tracking(f"sqlite:///{tmp_path}/a/mlflow.db")
    assert uri == f"sqlite:///{tmp_path}/a/mlflow.db"
    assert mlflow.get_tracking_uri() == f"sqlite:///{tmp_path}/elsewhere.db"  # left as it was
    assert os.environ["MLFLOW_DISABLE_TELEMETRY"] == "true"
    assert MlflowClient(uri).search_experiments()[0].name == "Default"  # the store is ready
    assert (tmp_path / "a" / "mlflow.db.lock").is_file()  # its tables were created under the lock


def test_tracking_uri_falls_back_to_the_environment_then_the_project(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/env.db")
    assert tracking.resolve_tracking_uri(None) == f"sqlite:///{tmp_path}/env.db"
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    monkeypatch.setattr(tracking, "PROJECT_ROOT", tmp_path / "project")
    assert tracking.resolve_tracking_uri(None) == \
        f"sqlite:///{tmp_path}/project/mlruns/mlflow.db"


def test_relative_sqlite_paths_are_made_absolute_under_the_project(tmp_path, monkeypatch):
    monkeypatch.setattr(tracking, "PROJECT_ROOT", tmp_path)
    assert tracking.resolve_tracking_uri("sqlite:///runs/mlflow.db") == \
        f"sqlite:///{tmp_path}/runs/mlflow.db"
    assert tracking.resolve_tracking_uri("http://mlflow-host:5000") == "http://mlflow-host:5000"


def test_importing_tracking_sets_nothing():
    code = ("import os, sys; os.environ.pop('MLFLOW_TRACKING_URI', None); "
            "import cardfraud.modeling.tracking; print('mlflow' in sys.modules, "
            "os.environ.get('MLFLOW_TRACKING_URI'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "None"]


def test_experiment_gets_an_absolute_artifact_location_beside_the_database(tmp_path):
    uri = tracking.configure_tracking(f"sqlite:///{tmp_path}/store/mlflow.db")
    experiment_id = tracking.get_or_create_experiment("fraud", uri)
    client = MlflowClient(uri)
    location = client.get_experiment(experiment_id).artifact_location
    assert location == str(tmp_path / "store" / "mlflow-artifacts")
    assert tracking.get_or_create_experiment("fraud", uri) == experiment_id
    client.delete_experiment(experiment_id)
    assert tracking.get_or_create_experiment("fraud", uri) == experiment_id
    assert client.get_experiment(experiment_id).lifecycle_stage == "active"


@pytest.fixture(scope="module")
def tracked_run(tmp_path_factory):
    """A tiny modeling run with SMOTE, logged into a temporary store (shared by the module)."""
    tmp_path = tmp_path_factory.mktemp("tracked")
    frame = make_transactions(600, seed=4)
    found = evaluate_candidates(frame, seed=0, candidates=["logistic_regression", "decision_tree"],
                                resampling="smote", split="stratified", test_share=0.25,
                                cv_sample_rows=None, alert_budget=0.05, target_recall=0.8)
    split, cv, thresholds, fitted, test, settings = (found.split, found.cv, found.thresholds,
                                                     found.fitted, found.test, found.settings)
    for name in ("modeling_pr_roc", "modeling_calibration"):
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, 1])
        save_figure(fig, name, tmp_path)
        plt.close(fig)
    uri = f"sqlite:///{tmp_path}/mlruns/mlflow.db"
    tracked = tracking.track_candidates(
        "fraud-test", uri, cv, fitted, thresholds, test,
        model_features(frame.iloc[split.train_rows[:5]]), settings, ["modeling_pr_roc"],
        ["modeling_calibration"], run_id="report-1", output_dir=tmp_path)
    return frame, split, fitted, test, tracked


def test_every_candidate_is_a_run_with_params_metrics_and_figures(tracked_run):
    frame, split, fitted, test, tracked = tracked_run
    client = MlflowClient(tracked["tracking_uri"])
    runs = client.search_runs([tracked["experiment_id"]])
    assert sorted(r.info.run_name for r in runs) == ["decision_tree", "logistic_regression"]
    best = client.get_run(tracked["best_run_id"])
    assert best.data.tags["best"] == "true" and best.data.tags["report_run_id"] == "report-1"
    assert best.data.params["resampling"] == "smote"
    assert best.data.params["candidate"] == fitted.best
    assert best.data.metrics["test_average_precision"] == pytest.approx(
        test.comparison.loc[fitted.best, "average_precision"])
    assert {"cv_average_precision", "cv_roc_auc_std", "threshold", "test_recall_at_budget",
            "test_fn"} <= set(best.data.metrics)
    figures = {f.path for f in client.list_artifacts(tracked["best_run_id"], "figures")}
    assert figures == {"figures/modeling_pr_roc.png", "figures/modeling_calibration.png"}
    other = tracked["runs"][next(c for c in fitted.pipelines if c != fitted.best)]
    assert {f.path for f in client.list_artifacts(other, "figures")} == {
        "figures/modeling_pr_roc.png"}


def test_logged_model_loads_without_a_sampler_and_reproduces_the_scores(tracked_run):
    frame, split, fitted, test, tracked = tracked_run
    uri = f"runs:/{tracked['best_run_id']}/model"
    features = model_features(frame.iloc[split.test_rows])
    with tracking.using_store(tracked["tracking_uri"]):  # MLflow's fluent API reads the global
        loaded = mlflow.sklearn.load_model(uri)
        pyfunc = mlflow.pyfunc.load_model(uri)
    assert not any(hasattr(step, "fit_resample") for _, step in loaded.steps)
    np.testing.assert_array_equal(loaded.predict_proba(features)[:, 1], test.scores[fitted.best])
    inputs = pyfunc.metadata.get_input_schema().input_names()
    assert inputs == list(features.columns)
    np.testing.assert_allclose(np.asarray(pyfunc.predict(features))[:, 1],
                               test.scores[fitted.best])
    assert Path(tracked["tracking_uri"][len("sqlite:///"):]).is_file()


def test_model_requirements_pin_installed_versions():
    from importlib import metadata

    pins = tracking.model_requirements()
    assert f"scikit-learn=={metadata.version('scikit-learn')}" in pins
    assert f"cloudpickle=={metadata.version('cloudpickle')}" in pins
    assert all("==" in pin for pin in pins) and not any("imbalanced" in p for p in pins)
