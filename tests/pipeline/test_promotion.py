"""A failed run changes nothing in production: the champion moves when the run publishes."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT, make_timed_transactions, run_all
from helpers import (
    MODEL,
    champion_version,
    fake_modeling_step,
    registry_step,
    store_client,
)

from cardfraud.data.schema import compact_dtypes
from cardfraud.runner import publishing
from cardfraud.runner.artifacts import load_step_results, save_step_results, transactions_path
from cardfraud.serving import registration, registry
from cardfraud.serving.promotion import PendingPromotion, promote_pending_champion

SMOKE_MODEL = "card-fraud-detector-smoke"


@pytest.fixture(scope="module")
def staged_once(tmp_path_factory) -> tuple[Path, str]:
    """An output dir whose staging run's registry step forced v2 over champion v1, and its
    store (made once for the module; each test works on a copy of both)."""
    folder = tmp_path_factory.mktemp("staged")
    (folder / "mlflow").mkdir()
    uri = f"sqlite:///{folder}/mlflow/mlflow.db"
    staging = folder / "out" / "runs" / "run-2"
    (staging / "executed").mkdir(parents=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        fake_modeling_step(staging, uri)
        registry_step(staging, run_id="run-1")
        fake_modeling_step(staging, uri, weak=True, threshold=0.05)
        registry_step(staging, force=True, publish=False, run_id="run-2")
    record = {"run_id": "run-2", "status": "ok",
              "registry": load_step_results("registry", staging)}
    (staging / "run.json").write_text(json.dumps(record))
    return folder, uri


@pytest.fixture
def staged(staged_once, tmp_path, monkeypatch):
    """A copy of ``staged_once`` in ``tmp_path`` whose results name the copied store."""
    template, template_uri = staged_once
    shutil.copytree(template, tmp_path, dirs_exist_ok=True)
    uri = f"sqlite:///{tmp_path}/mlflow/mlflow.db"
    for path in (tmp_path / "out").rglob("*.json"):
        path.write_text(path.read_text().replace(template_uri, uri))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    output = tmp_path / "out"
    staging = output / "runs" / "run-2"
    record = json.loads((staging / "run.json").read_text())
    assert record["registry"]["tracking_uri"] == uri
    return output, staging, record


def test_publishing_moves_the_champion_and_records_when(staged):
    output, staging, record = staged
    assert champion_version() == 1
    publishing.publish_with_promotion(staging, output, record)
    assert champion_version() == 2
    published = json.loads((output / "run.json").read_text())["registry"]
    saved = load_step_results("registry", output)
    for results in (published, saved):
        assert results["champion_version"] == 2 and not results["promotion_pending"]
        assert results["champion_since"] == registry.champion_since(MODEL)


def test_a_failed_publish_puts_the_champion_back(staged, monkeypatch):
    output, staging, record = staged

    def disk_full(staging, output):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(publishing, "publish", disk_full)
    with pytest.raises(OSError):
        publishing.publish_with_promotion(staging, output, record)
    assert champion_version() == 1
    assert not (output / "run.json").exists()


def test_results_of_an_earlier_run_are_published_without_promoting(staged):
    output, staging, record = staged
    publishing.publish_with_promotion(staging, output, {**record, "run_id": "run-3"})
    assert champion_version() == 1 and (output / "run.json").is_file()


def register_champion(folder, uri: str) -> int:
    """Register a logistic regression as champion of the smoke model; return its version."""
    modeling = fake_modeling_step(folder, uri)
    test = registration.held_out_test_rows(folder)
    registered = registration.register_candidate(modeling, load_step_results("load", folder)["data"],
                                             test, SMOKE_MODEL)
    promote_pending_champion(PendingPromotion(SMOKE_MODEL, registered.version, None, uri))
    return registered.version


def smoke_aliases(uri: str) -> dict[str, int]:
    client = store_client(uri)
    return {a: int(v) for a, v in client.get_registered_model(SMOKE_MODEL).aliases.items()}


@pytest.mark.slow
def test_a_run_failing_after_the_registry_leaves_the_champion(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    (tmp_path / "fake").mkdir()
    assert register_champion(tmp_path / "fake", uri) == 1
    out = tmp_path / "out"
    # the champion's moves are checked, not the model: one candidate, no backtest nor bootstrap
    common = ["--output", str(out), "--set", f"common.tracking_uri={uri}",
              "--set", "registry.force_promotion=true", "--set", "modeling.candidates=[logistic_regression]",
              "--set", "modeling.backtest_weeks=0", "--set", "modeling.bootstrap_resamples=0"]
    failed = run_all(*common, "--set", "monitoring.current_path=/nonexistent.csv")
    assert failed.returncode == 1 and "step 'monitoring' failed" in failed.stderr
    assert "nothing published" in failed.stderr
    assert smoke_aliases(uri) == {"champion": 1, "challenger": 2}
    assert not (out / "run.json").exists()

    done = run_all(*common)
    assert done.returncode == 0, done.stderr[-3000:]
    assert smoke_aliases(uri) == {"champion": 3, "challenger": 3}
    record = json.loads((out / "run.json").read_text())
    log = pd.read_csv(out / "artifacts" / "monitoring_log.csv")
    # site, registry and monitoring log describe the same champion
    assert record["registry"]["champion_version"] == 3 and record["registry"]["promoted"]
    assert record["monitoring"]["champion"]["version"] == 3
    assert log["champion_version"].tolist() == [3]
    home = re.sub(r"<[^>]+>", "", (out / "site" / "index.html").read_text())
    assert f"Version 3 of {SMOKE_MODEL} is the champion in production since " \
           f"{record['registry']['champion_since'][:10]}" in home
    page = re.sub(r"<[^>]+>", "", (out / "site" / "registry.html").read_text())
    assert "The champion alias moves to v3 when the whole run succeeds" in page
    assert os.environ["MLFLOW_TRACKING_URI"] == uri


def test_monitoring_checks_the_version_this_run_promotes(tmp_path):
    from cardfraud.monitoring.champion import promoted_by_this_run
    from cardfraud.runner.artifacts import save_step_results

    save_step_results("registry", {"model_name": MODEL, "version": 4, "promotion_pending": True,
                                   "report_run_id": "run-9"}, tmp_path)
    assert promoted_by_this_run(MODEL, tmp_path, "run-9") == 4
    assert promoted_by_this_run(MODEL, tmp_path, "run-10") is None  # results of an earlier run
    assert promoted_by_this_run(MODEL, tmp_path, None) is None  # opened by hand
    assert promoted_by_this_run("other-model", tmp_path, "run-9") is None
    assert promoted_by_this_run(MODEL, tmp_path / "empty", "run-9") is None


def papermill(notebook: str, output_dir, parameters: str) -> str:
    """Execute a notebook into ``output_dir`` with YAML parameters; return its text."""
    executed = output_dir / notebook
    done = subprocess.run([sys.executable, "-m", "papermill", str(ROOT / "notebooks" / notebook),
                           str(executed), "-k", "cardfraud", "-p", "output_dir", str(output_dir),
                           "-y", parameters], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return executed.read_text(encoding="utf-8")


@pytest.mark.slow
def test_usd_amounts_against_a_cop_review_cost_are_warned_and_never_promoted(tmp_path,
                                                                            monkeypatch):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    out = tmp_path / "out"
    out.mkdir()
    frame = make_timed_transactions(rows=3000, seed=3, days=30)
    frame["amount"] = (frame["amount"] / 1500).round(2)  # US dollars, median about 33
    compact_dtypes(frame).to_parquet(transactions_path(out))
    save_step_results("load", {"data": {"source": "file", "rows": 3000,
                                        "fingerprint": "sha256:usd"}}, out)
    page = papermill("05_modeling.ipynb", out, (
        f"{{tracking_uri: '{uri}', candidates: [decision_tree], cv_folds: 2, "
        f"cv_sample_rows: 2000, importance_rows: 300, first_analysis_rows: 1000, test_days: 7}}"))
    modeling = load_step_results("modeling", out)
    assert modeling["test_metrics"]["recall"] == 0
    assert modeling["threshold_warning"].startswith(
        "Warning: the least expected-cost threshold of decision_tree (1.0000) sends no purchase")
    assert modeling["threshold_warning"] in page
    page = papermill("06_registry.ipynb", out, (
        "{model_name: usd-test, register: true, force_promotion: true, run_id: r1, "
        "sample_rows: 50}"))
    results = load_step_results("registry", out)
    assert not results["promoted"] and not results["promotion_pending"]
    assert results["champion_version"] is None
    assert "catches no fraud at its threshold 1.0000" in results["reason"]
    assert "never promoted, even with force_promotion" in page


HOLD_PROMOTION_LOCK = """
import sys, time
from cardfraud.serving.promotion import promotion_lock
with promotion_lock(sys.argv[1], sys.argv[2]):
    print("held", flush=True)
    sys.stdin.readline()
"""


@pytest.mark.parametrize("uri", ["sqlite:///{tmp}/mlflow.db", "http://127.0.0.1:5999"])
def test_a_second_run_waits_for_the_promotion_lock_of_the_first(tmp_path, monkeypatch, uri):
    import threading

    from cardfraud.serving.promotion import promotion_lock

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    uri = uri.format(tmp=tmp_path)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_PROMOTION_LOCK, uri, MODEL],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    said, acquired = [], threading.Event()

    def second_run():
        with promotion_lock(uri, MODEL, say=said.append):
            acquired.set()

    try:
        assert holder.stdout.readline().strip() == "held"
        with promotion_lock(uri, "another-model", say=said.append):
            assert said == []  # another model's promotions never wait
        waiter = threading.Thread(target=second_run)
        waiter.start()
        assert not acquired.wait(1.0)  # the first run still holds it
        assert said == [f"registry: waiting for another run promoting {MODEL} in {uri}"]
        holder.stdin.write("done\n")
        holder.stdin.flush()
        assert acquired.wait(30)
        waiter.join()
    finally:
        holder.communicate(timeout=30)
    assert holder.returncode == 0
