"""Shared fixtures: tiny transaction frames, the real public sample, isolated MLflow."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
# next to the checkout (/work/main) or to the folder of worktrees (/work/wt/<branch>)
REAL_SAMPLE = next((folder / "shared" / "data" / "card_transdata_head50k.csv"
                    for folder in (ROOT.parent, ROOT.parents[1])
                    if (folder / "shared" / "data" / "card_transdata_head50k.csv").is_file()),
                   ROOT.parent / "shared" / "data" / "card_transdata_head50k.csv")


# the longest test files, longest first (seconds of `make test --durations` on 2026-12-06 with
# both workers busy: 337, 167, 145, 103, 98, 92, 79, ...): `make test` hands whole files to its
# two workers in this order (--no-loadscope-reorder; xdist otherwise orders files by their
# number of tests), so no long file is left to the end to run alone while the other waits
LONGEST_FIRST = ("test_spark_run.py", "test_bad_inputs.py", "test_fresh_clone.py",
                 "test_spark_pages_monitoring.py", "test_spark_pages_modeling.py",
                 "test_spark_pages_eda.py", "test_promotion.py", "test_shared_store.py",
                 "test_pipeline.py", "test_serving.py", "test_site_renderers.py",
                 "test_by_hand.py", "test_raw_extract_run.py", "test_spark_engine.py",
                 "test_absent_inputs_run.py", "test_sparkov_run.py", "test_markup_site.py",
                 "test_rerun.py", "test_scoring.py", "test_spark_history.py",
                 "test_spark_pages_geo.py", "test_registry_notebook.py",
                 "test_monitoring_notebook.py", "test_history_serving.py")


def pytest_collection_modifyitems(config, items):
    """Put the longest test files first (stable: every other test keeps its order)."""
    def rank(item) -> int:
        name = Path(str(item.fspath)).name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)


@pytest.fixture(autouse=True)
def _isolated_mlflow(tmp_path_factory, monkeypatch):
    """Never touch the user's mlruns/: every test gets its own tracking store."""
    store = tmp_path_factory.mktemp("mlflow")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store}/mlflow.db")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")


@pytest.fixture
def good_frame() -> pd.DataFrame:
    """Eight valid purchases, two of them fraudulent."""
    return pd.DataFrame({
        "distance_from_home": [1.5, 10.0, 250.0, 3.2, 0.4, 60.0, 12.0, 7.7],
        "distance_from_last_transaction": [0.1, 1.0, 70.0, 0.5, 0.2, 9.0, 1.1, 0.3],
        "ratio_to_median_purchase_price": [0.5, 1.0, 8.0, 0.9, 1.2, 4.5, 0.7, 1.1],
        "repeat_retailer": [1, 1, 0, 1, 1, 1, 0, 1],
        "used_chip": [1, 0, 0, 1, 0, 1, 0, 0],
        "used_pin_number": [0, 0, 0, 1, 0, 0, 0, 0],
        "online_order": [0, 1, 1, 0, 1, 1, 0, 1],
        "fraud": [0, 0, 1, 0, 0, 1, 0, 0],
    })


@pytest.fixture
def real_sample() -> Path:
    """The first rows of the public card_transdata table; tests skip when it is absent."""
    if not REAL_SAMPLE.is_file():
        pytest.skip(f"real sample not found at {REAL_SAMPLE}")
    return REAL_SAMPLE


def random_features(rng: np.random.Generator, rows: int) -> pd.DataFrame:
    """The seven card_transdata features drawn at roughly the public table's shares."""
    return pd.DataFrame({
        "distance_from_home": rng.lognormal(2.3, 1.2, rows),
        "distance_from_last_transaction": rng.lognormal(0, 1.3, rows),
        "ratio_to_median_purchase_price": rng.lognormal(0, 0.9, rows),
        "repeat_retailer": rng.binomial(1, 0.88, rows),
        "used_chip": rng.binomial(1, 0.35, rows),
        "used_pin_number": rng.binomial(1, 0.1, rows),
        "online_order": rng.binomial(1, 0.65, rows),
    })


def make_transactions(rows: int = 400, seed: int = 0) -> pd.DataFrame:
    """A random frame with the card_transdata columns where fraud depends on the features."""
    rng = np.random.default_rng(seed)
    frame = random_features(rng, rows)
    risk = (frame.ratio_to_median_purchase_price > 3) & (frame.online_order == 1)
    frame["fraud"] = (risk & (rng.random(rows) < 0.8)) | (rng.random(rows) < 0.02)
    frame["fraud"] = frame["fraud"].astype(int)
    return frame


def make_timed_transactions(rows: int = 600, seed: int = 0, days: int = 10) -> pd.DataFrame:
    """make_transactions plus timestamps spread over ``days`` days (in order) and COP amounts."""
    frame = make_transactions(rows, seed)
    seconds = np.sort(np.random.default_rng(seed).uniform(0, days * 86400, rows))
    frame["timestamp"] = pd.Timestamp("2024-05-01") + pd.to_timedelta(seconds, unit="s")
    frame["amount"] = np.round(50000 * frame["ratio_to_median_purchase_price"], -2)
    return frame


@pytest.fixture
def project_env() -> dict:
    """Environment for subprocesses: telemetry off, the test's tracking store."""
    return {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}


def run_all(*args, env=None, params: str = "smoke.yaml") -> subprocess.CompletedProcess:
    """Run run_all.py with the given params file; return the finished process."""
    return subprocess.run([sys.executable, str(ROOT / "run_all.py"), "--params",
                           str(ROOT / "params" / params), *args],
                          capture_output=True, text=True, timeout=900, env=env)


def session_root(tmp_path_factory) -> Path:
    """The temporary folder of this test session, shared by its pytest-xdist workers."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def shared_smoke_run(tmp_path_factory, name: str, *args: str) -> tuple[Path, subprocess.CompletedProcess, str]:
    """One smoke run (run_all with ``args``) per test session, whichever worker asks first.

    The first worker runs it under a file lock and saves its process; the others wait for the
    lock and read it back, so ``make test``'s workers never make the same run twice.
    Returns the output dir, the finished process and the tracking URI of its store.
    """
    root = session_root(tmp_path_factory) / name
    root.mkdir(exist_ok=True)
    out, store, saved = root / "out", root / "mlflow", root / "process.json"
    uri = f"sqlite:///{store}/mlflow.db"
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not saved.is_file():
            out.mkdir(exist_ok=True)
            store.mkdir(exist_ok=True)
            done = run_all("--output", str(out), *args, "--set", f"common.tracking_uri={uri}")
            saved.write_text(json.dumps({"args": done.args, "returncode": done.returncode,
                                         "stdout": done.stdout, "stderr": done.stderr}))
    done = subprocess.CompletedProcess(**json.loads(saved.read_text()))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return out, done, uri


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    """One smoke run of every step on simulated data, shared by the end-to-end tests.

    Tests read it; a test that runs run_all on it again works on ``private_copy`` of it."""
    return shared_smoke_run(tmp_path_factory, "smoke_run")


@pytest.fixture(scope="session")
def spanish_smoke_run(tmp_path_factory):
    """One smoke run with ``report.language=es`` (nbconvert site, its PDF), shared by the tests
    of the Spanish pages: the Spanish run, the browser check of both renderers, the PDF."""
    return shared_smoke_run(tmp_path_factory, "spanish_smoke_run", "--renderer", "nbconvert",
                            "--set", "report.language=es")


def private_copy(run: tuple[Path, subprocess.CompletedProcess, str], folder: Path) -> tuple[Path, str]:
    """A copy of a shared smoke run's output dir and MLflow store in ``folder``, for a test
    that runs run_all on it (other workers read the original meanwhile).

    Returns the copied output dir and the tracking URI of the copied store."""
    out, _, uri = run
    shutil.copytree(out, folder / "out")
    (folder / "mlflow").mkdir()
    shutil.copyfile(uri.removeprefix("sqlite:///"), folder / "mlflow" / "mlflow.db")
    return folder / "out", f"sqlite:///{folder}/mlflow/mlflow.db"


@pytest.fixture
def output_dir(tmp_path, monkeypatch) -> Path:
    """An empty output dir and an empty tracking store (MLFLOW_TRACKING_URI) for one test."""
    from helpers import fresh_tracking_store

    fresh_tracking_store(tmp_path / "mlflow", monkeypatch)
    path = tmp_path / "out"
    path.mkdir()
    return path


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """A headless Chromium (Debian's chromium and chromium-driver) logging console and requests."""
    from helpers import CHROMEDRIVER, CHROMIUM

    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("Debian's chromium and chromium-driver are not installed (.ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1280,1600",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()
