"""Serving: the champion behind `mlflow models serve`, and the pipeline against `mlflow server`.

Both start real servers on 127.0.0.1 (free ports) from the venv's ``mlflow`` command.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests
from conftest import ROOT, make_transactions
from helpers import (
    MODEL,
    empty_tracking_database,
    fake_modeling_step,
    free_port,
    fresh_tracking_store,
    registry_step,
    running,
    server_env,
)

from cardfraud.data.schema import FEATURES, compact_dtypes
from cardfraud.runner.artifacts import load_step_results, save_step_results, transactions_path
from cardfraud.serving.promotion import pending_promotion, promote_pending_champion
from cardfraud.serving.registration import held_out_test_rows
from cardfraud.serving.scoring import serving_payload


@pytest.fixture
def champion_dir(tmp_path, monkeypatch) -> Path:
    """An output dir whose logistic regression is the registered champion (threshold 0.3)."""
    fresh_tracking_store(tmp_path / "mlflow", monkeypatch)
    output_dir = tmp_path / "out"
    output_dir.mkdir()
    fake_modeling_step(output_dir, os.environ["MLFLOW_TRACKING_URI"], threshold=0.3)
    registry_step(output_dir)
    return output_dir


def _invocations(port: int, body) -> requests.Response:
    """POST a JSON body to the scoring server."""
    return requests.post(f"http://127.0.0.1:{port}/invocations", json=body, timeout=30)


def _raw_invocations(port: int, body: str) -> requests.Response:
    """POST a JSON text as is (requests refuses to write Infinity itself)."""
    return requests.post(f"http://127.0.0.1:{port}/invocations", data=body, timeout=30,
                         headers={"Content-Type": "application/json"})


def _split(columns: list[str], rows: list[list]) -> dict:
    """Return a ``dataframe_split`` request body."""
    return {"dataframe_split": {"columns": columns, "data": rows}}


@pytest.mark.slow
def test_served_champion_returns_probabilities_and_rejects_bad_requests(champion_dir, tmp_path):
    port = free_port()
    command = ["mlflow", "models", "serve", "-m", f"models:/{MODEL}@champion",
               "--env-manager", "local", "-p", str(port), "-h", "127.0.0.1"]
    env = server_env(os.environ["MLFLOW_TRACKING_URI"])
    test = held_out_test_rows(champion_dir)
    good = serving_payload(test, rows=100)["dataframe_split"]["data"]
    with running(command, env, f"http://127.0.0.1:{port}/ping", tmp_path / "serve.log"):
        started = time.perf_counter()
        answer = _invocations(port, _split(FEATURES, good))
        latency = time.perf_counter() - started
        assert answer.status_code == 200, answer.text
        predictions = pd.DataFrame(answer.json()["predictions"])
        assert list(predictions.columns) == ["probability", "decision", "reasons"]
        np.testing.assert_allclose(predictions["probability"],
                                   test["modeling_probability"].head(100), atol=1e-12)
        assert (predictions["decision"] == (predictions["probability"] >= 0.3)).all()
        assert latency < 5, f"100 purchases took {latency:.2f} s"
        held = predictions["decision"] == 1
        assert held.any() and predictions.loc[held, "reasons"].ne("").all()
        assert predictions["reasons"].str.count("; ").le(2).all()
        # the fake champion's fraud: a high ratio to the median purchase, online
        assert predictions.loc[held, "reasons"].str.contains(
            "times the card's median purchase|online purchase").all()

        only_alerts = _invocations(port, {**_split(FEATURES, good),
                                          "params": {"reasons": "alerts"}}).json()["predictions"]
        assert [r["reasons"] == "" for r in only_alerts] == (~held).tolist()
        unknown_choice = _invocations(port, {**_split(FEATURES, good[:2]),
                                             "params": {"reasons": "some"}})
        assert unknown_choice.status_code == 400
        assert "params reasons must be one of all, alerts, none" in \
            unknown_choice.json()["message"]

        flags_as_ints = [[*row[:3], *map(int, row[3:])] for row in good[:2]]
        assert _invocations(port, _split(FEATURES, flags_as_ints)).status_code == 200

        missing_column = _invocations(port, _split(FEATURES[:-1], [r[:-1] for r in good[:2]]))
        assert missing_column.status_code == 400
        assert "missing inputs ['online_order']" in missing_column.json()["message"]

        text = [["far", *good[0][1:]]]
        text_answer = _invocations(port, _split(FEATURES, text))
        assert text_answer.status_code == 400
        assert "Failed to convert column distance_from_home" in text_answer.json()["message"]

        missing_value = [[*good[0][:4], None, *good[0][5:]]]
        answer = _invocations(port, _split(FEATURES, missing_value))
        assert answer.status_code == 400
        assert "request: missing values in column(s) used_chip at row 1" in \
            answer.json()["message"]

        bad_flag = [[*good[0][:6], 7.0]]
        answer = _invocations(port, _split(FEATURES, bad_flag))
        assert answer.status_code == 400
        assert "column 'online_order' must be 0 or 1 but has 7 at row 1" in \
            answer.json()["message"]

        for number, message in [
            ("Infinity", "request: column 'distance_from_home' has infinite values at row 2"),
            ("1e309", "request: column 'distance_from_home' has infinite values at row 2"),
            ("25000.0", "request: column 'distance_from_home' has values above 20,040 km (half "
                        "the Earth's circumference) at row 2"),
        ]:
            rows = json.dumps(good[:2]).replace(repr(good[1][0]), number, 1)
            answer = _raw_invocations(port, f'{{"dataframe_split": {{"columns": '
                                            f'{json.dumps(FEATURES)}, "data": {rows}}}}}')
            assert answer.status_code == 400, (number, answer.text)
            assert message in answer.json()["message"], answer.text


def _load_step_output(output_dir: Path, rows: int = 3000) -> None:
    """Write what the load step hands on, for a small extract with the 8 columns."""
    compact_dtypes(make_transactions(rows, seed=3)).to_parquet(transactions_path(output_dir))
    save_step_results("load", {"data": {"source": "file", "rows": rows,
                                        "fingerprint": "sha256:server-test"}}, output_dir)


SMALL_MODELING = ("candidates: [logistic_regression]\ngrids: {logistic_regression: {C: [1.0]}}"
                  "\ncv_folds: 2\ncv_sample_rows: 2000\nimportance_rows: 500\n"
                  "first_analysis_rows: 1000\n")


def _papermill(notebook: str, output_dir: Path, tracking_uri: str, env: dict,
               yaml_parameters: str = "") -> None:
    """Execute a notebook with papermill against ``tracking_uri``; fail with its error."""
    command = [sys.executable, "-m", "papermill", str(ROOT / "notebooks" / notebook),
               str(output_dir / notebook), "-k", "cardfraud", "-p", "output_dir",
               str(output_dir), "-p", "tracking_uri", tracking_uri]
    if yaml_parameters:
        command += ["-y", yaml_parameters]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=150)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.slow
def test_modeling_and_registry_run_against_a_tracking_server(tmp_path):
    backend = tmp_path / "server" / "mlflow.db"
    backend.parent.mkdir()
    shutil.copyfile(empty_tracking_database(), backend)  # skips the schema migrations
    artifacts = tmp_path / "server" / "artifacts"
    port = free_port()
    server = f"http://127.0.0.1:{port}"
    command = ["mlflow", "server", "--backend-store-uri", f"sqlite:///{backend}",
               "--artifacts-destination", str(artifacts), "--host", "127.0.0.1",
               "--port", str(port), "--workers", "1"]
    output_dir = tmp_path / "out"
    output_dir.mkdir()
    _load_step_output(output_dir)
    unused = tmp_path / "unused" / "mlflow.db"
    env = {**server_env(server), "MLFLOW_TRACKING_URI": f"sqlite:///{unused}"}  # params win
    with running(command, server_env(server), f"{server}/health", tmp_path / "server.log"):
        _papermill("05_modeling.ipynb", output_dir, server, env, SMALL_MODELING)
        modeling = load_step_results("modeling", output_dir)
        assert modeling["tracking_uri"] == server
        _papermill("06_registry.ipynb", output_dir, server, env,
                   "{register: true, run_id: report-run-1}")
        results = load_step_results("registry", output_dir)
        assert (results["version"], results["champion_version"]) == (1, 1)
        # run_all moves the champion alias when it publishes the run
        promote_pending_champion(pending_promotion(results, "report-run-1"))
        assert results["tracking_uri"] == server and results["max_score_difference"] < 1e-12
        assert results["run_id"] == modeling["best_run_id"]

        scored = tmp_path / "scored.csv"
        held_out_test_rows(output_dir)[FEATURES].head(50).to_csv(tmp_path / "new.csv",
                                                                 index=False)
        done = subprocess.run([sys.executable, "-m", "cardfraud", "score", "--input",
                               str(tmp_path / "new.csv"), "--output", str(scored),
                               "--tracking-uri", server], env=env, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert "(version 1, threshold" in done.stdout and len(pd.read_csv(scored)) == 50
        assert "reasons" in pd.read_csv(scored).columns
    stored = list(artifacts.rglob("MLmodel"))
    assert len(stored) >= 2, "the server stores the candidate and the scorer models"
    assert not unused.parent.exists()
