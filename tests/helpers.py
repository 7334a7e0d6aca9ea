"""Helpers shared by tests in several folders: a fake modeling step, the registry step as
the notebook runs it, MLflow stores, servers on free ports, monitoring output dirs."""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import mlflow
import numpy as np
import pandas as pd
import requests
from conftest import make_transactions
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, precision_score, recall_score, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from cardfraud.data.schema import FEATURES, compact_dtypes, model_features
from cardfraud.modeling.tracking import (
    configure_tracking,
    get_or_create_experiment,
    log_candidate_run,
)
from cardfraud.runner.artifacts import (
    artifacts_dir,
    save_step_results,
    transactions_path,
)
from cardfraud.serving.page import run_registry
from cardfraud.serving.promotion import pending_promotion, promote_pending_champion
from cardfraud.serving.registry import CHAMPION

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
    run_id = log_candidate_run(uri, experiment_id, name, {"columns": columns}, test_metrics,
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
                  run_id: str = "report-run", sample_rows: int = 50):
    """Run the registry step as the notebook does (its one call); return (registered,
    decision, aliases).

    ``publish`` then applies the promotion as run_all does when it publishes the run.
    """
    page = run_registry(output_dir, run_id=run_id, model_name=MODEL, register=True,
                        force_promotion=force, sample_rows=sample_rows)
    pending = pending_promotion(page.results, run_id)
    if publish and pending is not None:
        promote_pending_champion(pending)
    return page.registered, page.decision, page.aliases


def store_client(tracking_uri: str | None = None) -> mlflow.MlflowClient:
    """Return a client of the store given (default: the one $MLFLOW_TRACKING_URI names), never
    of MLflow's process-wide URI that another test in the same worker may have left set."""
    uri = tracking_uri or os.environ["MLFLOW_TRACKING_URI"]
    return mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)


def champion_version(tracking_uri: str | None = None) -> int:
    """Return the version the champion alias points at, in the store given."""
    return int(store_client(tracking_uri).get_model_version_by_alias(MODEL, CHAMPION).version)


VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    """Return a TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_env(tracking_uri: str) -> dict:
    """Environment for the mlflow commands: the venv first on PATH, telemetry off."""
    return {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "MLFLOW_TRACKING_URI": tracking_uri, "MLFLOW_REGISTRY_URI": tracking_uri,
            "MLFLOW_DISABLE_TELEMETRY": "true"}


@contextmanager
def running(command: list[str], env: dict, ready_url: str, log: Path, timeout: float = 45):
    """Start a server in its own process group, wait until ``ready_url`` answers, stop it after."""
    with open(log, "w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while True:
            assert process.poll() is None, f"server exited: {log.read_text()[-2000:]}"
            try:
                if requests.get(ready_url, timeout=2).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or still starting
                pass
            assert time.monotonic() < deadline, f"server not ready: {log.read_text()[-2000:]}"
            time.sleep(0.3)
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def write_output_dir(tmp_path, frame, split) -> str:
    """An output dir holding what the load and modeling steps hand on."""
    folder = tmp_path / "out" / "artifacts"
    folder.mkdir(parents=True)
    frame.to_parquet(folder / "transactions.parquet", index=False)
    pd.DataFrame({"split": split}).to_parquet(folder / "split.parquet", index=False)
    return str(tmp_path / "out")


def simulated_output_dir(tmp_path, rows: int = 20_000, **knobs) -> str:
    """An output dir with simulated transactions and a time split (test: the last 18 days)."""
    from cardfraud.data.schema import compact_dtypes
    from cardfraud.simulator.simulate import simulate

    frame = compact_dtypes(simulate(rows=rows, seed=7, **knobs))
    cut = frame["timestamp"].max().floor("D") - pd.Timedelta(days=17)
    return write_output_dir(tmp_path, frame, np.where(frame["timestamp"] >= cut, "test", "train"))


HISTORY_MODEL = "history-detector"


def history_purchases(rows: int = 3000, seed: int = 11, new_share: float = 0.05,
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulated purchases split in time: (earlier ones, labelled; the latest ones, unlabelled,
    as a new file to score: the seven inputs and the context columns)."""
    from cardfraud.data.schema import CONTEXT_COLUMNS
    from cardfraud.simulator.simulate import simulate

    frame = simulate(rows=rows, seed=seed).sort_values("timestamp", kind="stable")
    frame = frame[[*CONTEXT_COLUMNS, *FEATURES, "fraud"]].drop(columns="city")
    cut = frame["timestamp"].quantile(1 - new_share)
    new = frame[frame["timestamp"] > cut].drop(columns="fraud").reset_index(drop=True)
    return frame[frame["timestamp"] <= cut].reset_index(drop=True), new


def log_history_model(tracking_uri: str, earlier: pd.DataFrame, history: bool = True,
                      threshold: float = 0.3, label_delay_days: float = 7.0) -> str:
    """Fit a logistic regression on the seven inputs plus every card-history feature
    (``history=False``: the seven only), register it as a FraudScorer version of
    HISTORY_MODEL with its signature and label delay; return its ``models:/`` URI."""
    from cardfraud.modeling.history import card_history_features
    from cardfraud.modeling.tracking import using_store
    from cardfraud.serving.history_scoring import LABEL_DELAY_KEY
    from cardfraud.serving.registration import scorer_requirements, scorer_signature
    from cardfraud.serving.scorer import FraudScorer

    features = pd.concat([model_features(earlier),
                          card_history_features(earlier, label_delay_days)], axis=1)
    if not history:
        features = features[FEATURES]
    inputs = list(features.columns)
    classifier = Pipeline([("scale", StandardScaler()),
                           ("classify", LogisticRegression(max_iter=500))])
    classifier.fit(features, earlier["fraud"].to_numpy())
    configure_tracking(tracking_uri)
    with using_store(tracking_uri), mlflow.start_run():
        info = mlflow.pyfunc.log_model(
            name="scorer", python_model=FraudScorer(classifier, threshold, inputs),
            signature=scorer_signature(inputs), input_example=features.head(3),
            pip_requirements=scorer_requirements(classifier),  # as registration logs it
            registered_model_name=HISTORY_MODEL,
            metadata={"threshold": threshold, LABEL_DELAY_KEY: label_delay_days})
    return f"models:/{HISTORY_MODEL}/{info.registered_model_version}"


# --- the site in a browser, and the real Quarto --------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
# where ../shared/tools/quarto/setup.sh installs Quarto by default (our machines; users have
# Quarto on PATH, or PyPI's quarto-cli in the venv through `make report`)
OFFLINE_QUARTO = Path.home() / ".cache" / "quarto-offline" / "bin" / "quarto"


def find_quarto() -> str | None:
    """Return a real Quarto: on PATH, else at the setup script's default place; else None."""
    found = shutil.which("quarto")
    if found:
        return found
    return str(OFFLINE_QUARTO) if os.access(OFFLINE_QUARTO, os.X_OK) else None


def requested_urls(driver) -> list[str]:
    """Return every URL the page requested, from Chromium's performance log."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def is_remote(url: str) -> bool:
    """True for a network URL that leaves the machine (browser-internal chrome:// is not)."""
    parsed = urlparse(url)
    return parsed.scheme in {"http", "https", "ws", "wss", "ftp"} and parsed.hostname not in {
        "localhost", "127.0.0.1"}
