"""The monitoring notebook without a champion: it runs and logs one row per run."""

from __future__ import annotations

import pandas as pd
import pytest
from helpers import (
    simulated_output_dir,
)


@pytest.mark.slow
def test_notebook_without_champion_runs_and_logs_one_row_per_run(tmp_path, project_env):
    import json
    import subprocess
    import sys

    from conftest import ROOT

    output_dir = simulated_output_dir(tmp_path)
    executed = tmp_path / "06.ipynb"
    for run in ("run-1", "run-2"):
        command = [sys.executable, "-m", "papermill", str(ROOT / "notebooks" / "07_monitoring.ipynb"),
                   str(executed), "-k", "cardfraud", "-p", "output_dir", output_dir,
                   "-p", "run_id", run]
        done = subprocess.run(command, env=project_env, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr[-2000:]
    log = pd.read_csv(f"{output_dir}/artifacts/monitoring_log.csv")
    assert log["run_id"].tolist() == ["run-1", "run-2"]
    results = json.loads((tmp_path / "out" / "artifacts" / "results" / "monitoring.json").read_text())
    assert results["overall_status"] == "ok" and results["champion"]["available"] is False
    assert results["current"]["period"][1] == "2024-03-30" and results["reference"]["rows"] > 0
    text = executed.read_text()
    assert "No champion to check" in text and "Overall status: OK" in text
    for name in ("monitoring_feature_drift", "monitoring_history"):
        assert (tmp_path / "out" / "artifacts" / "figures" / f"{name}.png").stat().st_size > 10_000
