"""A tracking store shared by runs started at once: SQLite under its lock file, a real server."""

from __future__ import annotations

import errno
import fcntl
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import mlflow
import pytest
from conftest import ROOT
from helpers import (
    MODEL,
    fake_modeling_step,
    free_port,
    fresh_tracking_store,
    registry_step,
    running,
    server_env,
    store_client,
)

from cardfraud.modeling import tracking
from cardfraud.serving.promotion import (
    PendingPromotion,
    PromotionFailed,
    promote_pending_champion,
)
from cardfraud.serving.registry import (
    CHALLENGER,
    CHAMPION,
    current_champion,
)

TESTS = Path(__file__).resolve().parents[1]  # where helpers.py and conftest.py live

# One run of the registry's users, started twice at once on the same new store: the modeling
# run (first open of the store, experiment) then registration and aliases. Both wait at a
# barrier of files so that they really open the fresh store together.
FIRST_RUN = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    from helpers import fake_modeling_step, registry_step
    output_dir, uri, barrier, name = Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4]), sys.argv[5]
    (barrier / name).touch()
    while len(list(barrier.iterdir())) < 2:
        time.sleep(0.005)
    fake_modeling_step(output_dir, uri)
    from cardfraud.serving.promotion import PromotionFailed
    try:  # run_all publishes the promotion last; a champion moved meanwhile refuses it
        registered, decision, aliases = registry_step(output_dir, publish=False, run_id=name)
        from cardfraud.serving.promotion import pending_promotion, promote_pending_champion
        from cardfraud.runner.artifacts import load_step_results
        pending = pending_promotion(load_step_results("registry", output_dir), name)
        if pending is not None:
            promote_pending_champion(pending)
        promoted, reason = decision.promote, decision.reason
    except PromotionFailed as exc:
        promoted, reason = False, str(exc)
    print(json.dumps({"version": registered.version, "promoted": promoted, "reason": reason}))
""")


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


@pytest.mark.slow  # two processes creating a store and logging models: 20-40 s
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
        [sys.executable, "-c", "import sys; from cardfraud.modeling.tracking import store_lock\n"
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


def test_a_read_only_store_opens_without_its_lock_file(tmp_path, monkeypatch):
    uri = fresh_tracking_store(tmp_path / "mounted", monkeypatch)  # a store with its tables

    def read_only(path, *args, **kwargs):
        raise PermissionError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(tracking, "open", read_only, raising=False)  # only tracking's open()
    assert tracking.configure_tracking(uri) == uri
    assert store_client().search_registered_models() == []


def test_a_champion_promoted_meanwhile_by_another_run_is_not_overwritten(output_dir):
    uri = os.environ["MLFLOW_TRACKING_URI"]
    fake_modeling_step(output_dir, uri)
    slow, stale, _ = registry_step(output_dir, publish=False, run_id="slow-run")
    assert stale.promote and stale.champion_version is None  # no champion when it compared
    fake_modeling_step(output_dir, uri)  # another run registers and publishes meanwhile
    other, _, _ = registry_step(output_dir, run_id="other-run")
    with pytest.raises(PromotionFailed) as refused:
        promote_pending_champion(PendingPromotion(MODEL, slow.version, None, uri))
    assert current_champion(MODEL) == other.version == 2
    assert str(refused.value) == (f"another run made v2 of {MODEL} champion while this run "
                                  "compared v1 with no champion: v1 stays challenger; run again "
                                  "to compare it with v2")
    aliases = store_client().get_registered_model(MODEL).aliases
    assert {k: int(v) for k, v in aliases.items()} == {CHAMPION: 2, CHALLENGER: 2}



# --- the team's server: mlflow server on PostgreSQL, two pipelines at once --------------

def postgres_bin() -> Path:
    """Return the newest Debian PostgreSQL bin dir, or skip the test saying what is missing."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit()
                   else 0)
    if not found:
        pytest.skip("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb; "
                    "apt-get install postgresql, as .ci/run does)")
    pytest.importorskip("psycopg2", reason="psycopg2-binary is not installed (pip install -e '.[dev]')")
    return found[-1].parent


def as_postgres(command: list[str]) -> list[str]:
    """Run a PostgreSQL tool as user postgres when we are root (initdb refuses root)."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture
def postgres_database():
    """A throw-away PostgreSQL cluster on a free loopback port with an empty ``mlflow`` database.

    Yields its SQLAlchemy URI; the cluster is stopped and its files removed afterwards.
    """
    bin_dir = postgres_bin()
    folder = Path(tempfile.mkdtemp(prefix="cardfraud-postgres-"))  # /tmp: postgres can enter it
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    data, port = folder / "data", free_port()
    run = functools.partial(subprocess.run, capture_output=True, text=True, check=True, timeout=120)
    started = False
    try:
        run(as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                         "--no-sync"]))
        run(as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"),
                         "-w", "-o", f"-p {port} -h 127.0.0.1 -k {folder} -F", "start"]))
        started = True
        run(as_postgres([str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port),
                         "-U", "postgres", "mlflow"]))
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/mlflow"
    finally:
        if started:
            subprocess.run(as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                                        "stop"]), capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def mlflow_server(postgres_database, tmp_path):
    """``mlflow server`` on the PostgreSQL database, artifacts proxied to a tmp dir; yields its URL.

    The server creates MLflow's tables in the empty database as it starts (about 20 s).
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = ["mlflow", "server", "--backend-store-uri", postgres_database,
               "--artifacts-destination", str(tmp_path / "server-artifacts"),
               "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    with running(command, server_env(url), f"{url}/health", tmp_path / "mlflow-server.log",
                 timeout=240):
        yield url


def start_smoke_run(output_dir: Path, tracking_uri: str) -> subprocess.Popen:
    """Start run_all.py with params/smoke.yaml on the given tracking URI, into ``output_dir``.

    The store is what is checked, not the model nor the site: one candidate, no backtest nor
    bootstrap, no site."""
    return subprocess.Popen(
        [sys.executable, str(ROOT / "run_all.py"), "--params", str(ROOT / "params" / "smoke.yaml"),
         "--set", f"common.tracking_uri={tracking_uri}", "--output", str(output_dir),
         "--set", "modeling.candidates=[logistic_regression]", "--set", "modeling.backtest_weeks=0",
         "--set", "modeling.bootstrap_resamples=0", "--no-render"],
        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_two_pipelines_at_once_on_an_mlflow_server_with_postgres(mlflow_server, tmp_path):
    started = time.monotonic()
    runs = {name: start_smoke_run(tmp_path / name, mlflow_server) for name in ("run_a", "run_b")}
    outputs = {name: run.communicate(timeout=1200) for name, run in runs.items()}
    seconds = time.monotonic() - started
    for name, run in runs.items():
        assert run.returncode == 0, f"{name}: " + outputs[name][0][-2000:] + outputs[name][1][-3000:]
    reports = {name: json.loads((tmp_path / name / "run.json").read_text()) for name in runs}
    registry = [report["registry"] for report in reports.values()]
    assert {r["tracking_uri"] for r in registry} == {mlflow_server}
    assert sorted(r["version"] for r in registry) == [1, 2]
    promoted = [r["version"] for r in registry if r["promoted"]]
    assert len(promoted) == 1, [r["reason"] for r in registry]
    name = registry[0]["model_name"]
    client = mlflow.MlflowClient(tracking_uri=mlflow_server, registry_uri=mlflow_server)
    aliases = client.get_registered_model(name).aliases
    assert int(aliases[CHAMPION]) == promoted[0]
    assert {int(v) for v in aliases.values()} <= {1, 2}
    for report in reports.values():  # monitoring scored with the server's champion
        assert report["monitoring"]["score_status"] in {"ok", "watch", "alert"}
    local = tracking.sqlite_path(os.environ["MLFLOW_TRACKING_URI"])
    assert not local.exists(), "a step fell back to $MLFLOW_TRACKING_URI instead of the server"
    print(f"two concurrent smoke runs on the server: {seconds:.0f} s")
