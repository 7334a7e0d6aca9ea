"""A tracking store shared by runs started at once: SQLite under its lock file, a real server."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import mlflow
import pytest
from test_registry import MODEL, fake_modeling_step, fresh_tracking_store, registry_step

from cardfraud import tracking
from cardfraud.artifacts import load_step_results
from cardfraud.registry import (
    CHALLENGER,
    apply_aliases,
    compare_with_champion,
    current_champion,
    held_out_test_rows,
    register_candidate,
)
from cardfraud.scoring import CHAMPION

TESTS = Path(__file__).resolve().parent

# One run of the registry's users, started twice at once on the same new store: the modeling
# run (first open of the store, experiment) then registration and aliases. Both wait at a
# barrier of files so that they really open the fresh store together.
FIRST_RUN = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    from test_registry import fake_modeling_step, registry_step
    output_dir, uri, barrier, name = Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4]), sys.argv[5]
    (barrier / name).touch()
    while len(list(barrier.iterdir())) < 2:
        time.sleep(0.005)
    fake_modeling_step(output_dir, uri)
    registered, decision, aliases = registry_step(output_dir)
    print(json.dumps({"version": registered.version, "promoted": decision.promote,
                      "reason": decision.reason}))
""")


@pytest.fixture
def output_dir(tmp_path, monkeypatch) -> Path:
    """An empty output dir and an empty tracking store (MLFLOW_TRACKING_URI) for one test."""
    fresh_tracking_store(tmp_path / "mlflow", monkeypatch)
    path = tmp_path / "out"
    path.mkdir()
    return path


def start_first_run(tmp_path: Path, uri: str, name: str) -> subprocess.Popen:
    """Start one registering run on the store ``uri``, in its own output dir."""
    output_dir = tmp_path / name
    output_dir.mkdir()
    barrier = tmp_path / "barrier"
    barrier.mkdir(exist_ok=True)
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "MLFLOW_DISABLE_TELEMETRY": "true"}
    return subprocess.Popen([sys.executable, "-c", FIRST_RUN, str(TESTS), str(output_dir), uri,
                             str(barrier), name], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_two_first_runs_on_a_new_sqlite_store_both_register_one_champion(tmp_path):
    uri = f"sqlite:///{tmp_path}/store/mlflow.db"
    runs = [start_first_run(tmp_path, uri, name) for name in ("run_a", "run_b")]
    outputs = [run.communicate(timeout=300) for run in runs]
    for run, (_, stderr) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, stderr[-3000:]
    results = [json.loads(stdout.splitlines()[-1]) for stdout, _ in outputs]
    assert sorted(r["version"] for r in results) == [1, 2]
    promoted = [r for r in results if r["promoted"]]
    assert len(promoted) == 1, results  # the models are identical: the second cannot beat it
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    assert int(client.get_registered_model(MODEL).aliases[CHAMPION]) == promoted[0]["version"]
    assert [e.name for e in client.search_experiments()] == ["card-fraud-test", "Default"]
    (tmp_path / "run_c").mkdir()
    fake_modeling_step(tmp_path / "run_c", uri)  # the store still opens for the next run
    assert registry_step(tmp_path / "run_c")[0].version == 3


def test_the_lock_file_sits_beside_the_database_and_servers_have_none(tmp_path):
    assert tracking.store_lock_path(f"sqlite:///{tmp_path}/mlflow.db") == \
        tmp_path / "mlflow.db.lock"
    assert tracking.store_lock_path("http://127.0.0.1:5000") is None
    with tracking.store_lock("http://127.0.0.1:5000"):
        pass  # a server serializes writes itself: nothing to wait for


def test_a_held_store_lock_makes_other_processes_wait(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from cardfraud.tracking import store_lock\n"
         "with store_lock(sys.argv[1]):\n    print('held', flush=True); sys.stdin.readline()",
         uri], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with open(tmp_path / "mlflow.db.lock") as handle, pytest.raises(BlockingIOError):
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        holder.communicate("done\n", timeout=30)
    with tracking.store_lock(uri), tracking.store_lock(uri):
        pass  # free again once the holder is gone; nesting in one process does not deadlock


def test_a_champion_promoted_meanwhile_by_another_run_is_not_overwritten(output_dir):
    uri = os.environ["MLFLOW_TRACKING_URI"]
    fake_modeling_step(output_dir, uri, weak=True)
    modeling, data = load_step_results("modeling", output_dir), \
        load_step_results("load", output_dir)["data"]
    test = held_out_test_rows(output_dir)
    slow = register_candidate(modeling, data, test, MODEL)
    stale = compare_with_champion(slow, test, "average_precision")
    assert stale.promote and stale.champion_version is None  # no champion when it compared
    fake_modeling_step(output_dir, uri)  # another run registers and promotes meanwhile
    other, _, _ = registry_step(output_dir)
    aliases = apply_aliases(slow, stale)
    assert current_champion(MODEL) == other.version == 2 and aliases == [CHALLENGER]
    assert not stale.promote
    assert stale.reason == ("another run made v2 champion while this run compared v1 with no "
                            "champion: v1 stays challenger; run the registry step again to "
                            "compare it with v2")
