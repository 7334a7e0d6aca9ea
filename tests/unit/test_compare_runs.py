"""bench/compare_runs.py: differences between two run records, times, ids and paths ignored."""

from __future__ import annotations

import copy
import importlib.util
import json

import pytest
from conftest import ROOT

spec = importlib.util.spec_from_file_location("compare_runs", ROOT / "bench" / "compare_runs.py")
compare_runs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compare_runs)


def record(folder: str, run_id: str, started: str, run_hex: str, **changes) -> dict:
    """A small run record as run_all writes it, in ``folder`` with its own store and ids."""
    found = {
        "run_id": run_id, "status": "ok", "started_at": started, "git_commit": run_hex[:12],
        "output_dir": f"/tmp/{folder}", "params": {"common": {
            "seed": 7, "tracking_uri": f"sqlite:////tmp/{folder}_mlflow/mlflow.db"}},
        "steps": [{"name": "eda", "status": "ok", "seconds": 3.5}], "render_seconds": 1.1,
        "eda": {"rows": 20000, "fraud_rate": 0.0859, "hot_spots": [{"city": "Armenia"}]},
        "modeling": {"best_run_id": run_hex, "runs": {"logistic_regression": run_hex},
                     "model_uri": f"runs:/{run_hex}/model", "threshold": 0.4123456789,
                     "experiment_id": "1"},
        "registry": {"decided_at": started, "scorer_uri": f"models:/m-{run_hex}",
                     "reason": f"no champion yet, decided {started}",
                     "tracking_uri": f"sqlite:////tmp/{folder}_mlflow/mlflow.db"},
        "monitoring": {"log": f"/tmp/{folder}/artifacts/monitoring_log.csv"},
    }
    for path, value in changes.items():
        *parents, last = path.split(".")
        target = found
        for key in parents:
            target = target[key]
        target[last] = value
    return found


A = record("before", "20261201T192621Z-b7e9", "2026-12-01T19:26:21+00:00", "a" * 32)


def test_two_runs_differing_only_in_times_ids_and_paths_agree():
    b = record("after", "20261201T192728Z-7b7d", "2026-12-01T19:27:28+00:00", "b" * 32,
               **{"steps": [{"name": "eda", "status": "ok", "seconds": 9.9}],
                  "modeling.threshold": 0.4123456789 + 1e-12})
    assert compare_runs.compare_records(A, b) == []


@pytest.mark.parametrize("path, value, line", [
    ("eda.fraud_rate", 0.0860, "eda.fraud_rate: 0.0859 != 0.086"),
    ("modeling.threshold", 0.4124, "modeling.threshold: 0.4123456789 != 0.4124"),
    ("eda.hot_spots", [{"city": "Ibagué"}], 'eda.hot_spots[0].city: "Armenia" != "Ibagué"'),
    ("params.common.seed", 8, "params.common.seed: 7 != 8"),
    ("status", "failed", 'status: "ok" != "failed"'),
])
def test_a_difference_is_found_and_named_by_its_path(path, value, line):
    b = record("after", "20261201T192728Z-7b7d", "2026-12-01T19:27:28+00:00", "b" * 32,
               **{path: value})
    assert compare_runs.compare_records(A, b) == [line]


def test_a_key_only_in_one_record_is_a_difference():
    b = copy.deepcopy(A)
    b["eda"]["frauds"] = 1718
    assert compare_runs.compare_records(A, b) == ["eda.frauds: only in B (1718)"]


def test_the_command_exits_1_on_differences_0_when_equal_2_on_a_bad_file(tmp_path, capsys):
    same, other = tmp_path / "a.json", tmp_path / "b.json"
    same.write_text(json.dumps(A))
    other.write_text(json.dumps({**A, "eda": {**A["eda"], "rows": 19999}}))
    assert compare_runs.main([str(same), str(same)]) == 0
    assert compare_runs.main([str(same), str(other)]) == 1
    assert "eda.rows: 20000 != 19999" in capsys.readouterr().out
    (tmp_path / "bad.json").write_text("{not json")
    assert compare_runs.main([str(same), str(tmp_path / "bad.json")]) == 2
    assert "bad.json: not JSON (line 1" in capsys.readouterr().err
