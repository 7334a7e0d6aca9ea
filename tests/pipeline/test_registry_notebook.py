"""The registry notebook: it registers the candidate, promotes once, writes its results."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import ROOT
from helpers import (
    MODEL,
    fake_modeling_step,
    store_client,
)

from cardfraud.runner.artifacts import load_step_results
from cardfraud.serving import registry
from cardfraud.serving.promotion import pending_promotion, promote_pending_champion


@pytest.mark.slow
def test_registry_notebook_promotes_once_and_writes_results(output_dir, project_env):
    uri = os.environ["MLFLOW_TRACKING_URI"]
    fake_modeling_step(output_dir, uri)
    executed = output_dir / "05.ipynb"
    command = [sys.executable, "-m", "papermill", str(ROOT / "notebooks" / "06_registry.ipynb"),
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
    tags = store_client().get_model_version(MODEL, "1").tags
    assert tags["report_run_id"] == "report-run-1"
    text = executed.read_text()
    assert "mlflow models serve -m models:/card-fraud-detector@champion --env-manager local" \
        in text and "already the champion" in text
