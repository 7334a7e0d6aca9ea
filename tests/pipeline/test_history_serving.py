"""A history model behind ``mlflow models serve``: a request carrying the features that
``history-features`` computed gets the probability ``score --history`` gives."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import requests
from helpers import (
    free_port,
    fresh_tracking_store,
    history_purchases,
    log_history_model,
    running,
    server_env,
)

from cardfraud.data.schema import FEATURES
from cardfraud.modeling.history import HISTORY_FEATURES


def _cardfraud(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cardfraud", *args], env=env,
                          capture_output=True, text=True, timeout=300)


def _split(frame: pd.DataFrame) -> dict:
    return {"dataframe_split": {"columns": list(frame.columns),
                                "data": frame.to_numpy(dtype="float64").tolist()}}


@pytest.mark.slow
def test_served_history_model_matches_batch_scoring_and_names_missing_history(
        tmp_path, monkeypatch):
    uri = fresh_tracking_store(tmp_path / "mlflow", monkeypatch)
    earlier, new = history_purchases(rows=3000, seed=12)
    model = log_history_model(uri, earlier)
    earlier.to_csv(tmp_path / "history.csv", index=False)
    new.to_csv(tmp_path / "new.csv", index=False)
    env = server_env(uri)
    made = _cardfraud("history-features", "--input", str(tmp_path / "new.csv"), "--history",
                      str(tmp_path / "history.csv"), "--output", str(tmp_path / "featured.csv"),
                      env=env)
    assert made.returncode == 0, made.stderr
    scored = _cardfraud("score", "--input", str(tmp_path / "new.csv"), "--history",
                        str(tmp_path / "history.csv"), "--output", str(tmp_path / "scored.csv"),
                        "--model", model, env=env)
    assert scored.returncode == 0, scored.stderr
    batch = pd.read_csv(tmp_path / "scored.csv")
    request = pd.read_csv(tmp_path / "featured.csv")[[*FEATURES, *HISTORY_FEATURES]]
    port = free_port()
    command = ["mlflow", "models", "serve", "-m", model, "--env-manager", "local",
               "-p", str(port), "-h", "127.0.0.1"]
    url = f"http://127.0.0.1:{port}/invocations"
    with running(command, env, f"http://127.0.0.1:{port}/ping", tmp_path / "serve.log"):
        answer = requests.post(url, json=_split(request), timeout=30)
        assert answer.status_code == 200, answer.text
        served = pd.DataFrame(answer.json()["predictions"])
        np.testing.assert_allclose(served["probability"], batch["probability"], rtol=0,
                                   atol=1e-9)
        assert (served["decision"] == batch["decision"]).all()
        assert batch["purchases_last_24h"].sum() > 0  # the history mattered

        lacking = requests.post(url, json=_split(request.drop(columns="minutes_since_previous")),
                                timeout=30)
        assert lacking.status_code == 400
        assert "minutes_since_previous" in lacking.json()["message"]

        negative = request.head(3).copy()
        negative.loc[1, "purchases_last_1h"] = -2
        refused = requests.post(url, json=_split(negative), timeout=30)
        assert refused.status_code == 400
        assert ("request: column 'purchases_last_1h' has negative values at row 2"
                in refused.json()["message"])
