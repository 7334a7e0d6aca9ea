"""End to end: an extract without used_chip and used_pin_number (load.allow_missing_inputs)
runs every step; the models leave chip and PIN out and every page says they are unknown."""

from __future__ import annotations

import json

import pytest
from conftest import run_all
from helpers import store_client

from cardfraud.runner.steps import discover_steps
from cardfraud.simulator.simulate import simulate

pytestmark = pytest.mark.slow

ABSENT = ["used_chip", "used_pin_number"]


@pytest.fixture(scope="module")
def absent_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("absent")
    extract = folder / "no_chip_pin.csv"
    simulate(rows=20000, seed=7).drop(columns=ABSENT).to_csv(extract, index=False)
    out = folder / "out"
    done = run_all("--set", f"load.path={extract}", "--set", "load.allow_missing_inputs=true",
                   "--set", f"common.tracking_uri=sqlite:///{folder}/mlflow.db",
                   "--output", str(out), "--no-render")
    return extract, out, folder, done


def test_refused_without_the_allow_parameter(absent_run, tmp_path):
    extract = absent_run[0]
    done = run_all("--set", f"load.path={extract}", "--output", str(tmp_path / "out"),
                   "--no-render", "--only", "load")
    assert done.returncode != 0
    assert "missing required columns used_chip, used_pin_number" in done.stderr
    assert not (tmp_path / "out" / "run.json").exists()


def test_every_step_runs_and_the_models_leave_chip_and_pin_out(absent_run):
    _, out, folder, done = absent_run
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    record = json.loads((out / "run.json").read_text())
    assert [s["status"] for s in record["steps"]] == ["ok"] * len(discover_steps())
    assert record["load"]["inputs_unknown"] == ABSENT
    assert record["monitoring"]["features_unknown"]["used_pin_number"] == \
        "unknown: the extract has no used_pin_number"
    modeling = record["modeling"]
    assert not set(ABSENT) & set(modeling["model_inputs"])
    assert len(modeling["feature_sets"]["base"]) == 5

    client = store_client(f"sqlite:///{folder}/mlflow.db")
    run = client.get_run(modeling["best_run_id"])
    assert run.data.tags["model_inputs"].split(",") == modeling["model_inputs"]
    versions = client.search_model_versions(f"name='{record['registry']['model_name']}'")
    assert versions and versions[0].tags["model_inputs"].split(",") == modeling["model_inputs"]


@pytest.mark.parametrize("notebook, wording", [
    ("01_load", "unknown: the extract has no used_chip"),
    ("02_eda", "unknown: the extract has no used_pin_number"),
    ("04_channel_simulation", "unknown: the extract has no used_chip"),
    ("07_monitoring", "unknown: the extract has no used_chip"),
    ("08_summary", "unknown: the extract has no used_chip"),
])
def test_pages_say_chip_and_pin_are_unknown(absent_run, notebook, wording):
    out = absent_run[1]
    page = next(out.glob(f"**/{notebook}.ipynb")).read_text(encoding="utf-8")
    assert wording in page
    assert "With PIN" not in page and "would have met" not in page
