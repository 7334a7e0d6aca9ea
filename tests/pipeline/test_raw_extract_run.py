"""End to end: run_all with load.source=raw on the simulator's raw extract runs every step."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from conftest import run_all

from cardfraud.data.schema import FEATURES
from cardfraud.runner.steps import discover_steps

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def raw_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("raw")
    done = subprocess.run([sys.executable, "-m", "cardfraud", "simulate", "--rows", "20000",
                           "--seed", "7", "--raw", "--out", str(folder)],
                          capture_output=True, text=True, check=True)
    assert "purchases.csv" in done.stdout
    return folder


def run_raw(purchases, cardholders, tmp_path, *only: str):
    """Run the steps (every one, or ``only`` these) on a raw extract and its cardholder file;
    return the output dir and run."""
    out = tmp_path / "out"
    return out, run_all("--set", "load.source=raw", "--set", f"load.path={purchases}",
                        "--set", f"load.cardholders_path={cardholders}",
                        "--set", f"common.tracking_uri=sqlite:///{tmp_path}/mlflow.db",
                        "--output", str(out), "--no-render", *(("--only", *only) if only else ()))


# every step on a raw extract runs in the test of cards without a home (below); this one
# checks what the load step derives when every card has its home
def test_raw_extract_with_every_home_derives_every_input_and_the_load_page_says_so(raw_folder,
                                                                                 tmp_path):
    out, done = run_raw(raw_folder / "purchases.csv", raw_folder / "cardholders.csv", tmp_path,
                        "load")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "ok"
    assert [(s["name"], s["status"]) for s in record["steps"]] == [("load", "ok"), ("summary", "ok")]
    assert record["data"]["source"] == "raw"
    inputs = record["data"]["derivation"]["inputs"]
    assert {name: inputs[name]["status"] for name in FEATURES} == dict.fromkeys(FEATURES, "derived")
    assert record["data"]["derivation"]["homes"]["cards_without_home"] == 0
    frame = pd.read_parquet(out / "artifacts" / "transactions.parquet")
    assert len(frame) == 20000 and frame[FEATURES].notna().all().all()
    page = next(out.glob("**/01_load.ipynb")).read_text(encoding="utf-8")
    assert "load path: raw" in page and "earlier purchases" in page


def test_raw_extract_out_of_time_order_stops_the_run_and_publishes_nothing(raw_folder, tmp_path):
    raw = pd.read_csv(raw_folder / "purchases.csv", dtype={"entry_mode": str})
    card = raw["card_id"].iloc[0]
    rows = raw.index[raw["card_id"] == card][:2]
    raw.loc[rows, "timestamp"] = raw.loc[rows[::-1], "timestamp"].to_numpy()  # swap two times
    bad = tmp_path / "unsorted.csv"
    raw.to_csv(bad, index=False)
    out = tmp_path / "out"
    done = run_all("--set", "load.source=raw", "--set", f"load.path={bad}",
                   "--set", f"load.cardholders_path={raw_folder}/cardholders.csv",
                   "--output", str(out), "--no-render", "--only", "load")
    assert done.returncode != 0
    assert f"column 'timestamp' is out of order within card {card}" in done.stderr
    assert not (out / "run.json").exists() and not (out / "site").exists()


def test_cards_without_a_home_keep_an_unknown_distance_and_every_step_runs(raw_folder, tmp_path):
    homes = pd.read_csv(raw_folder / "cardholders.csv")
    missing = homes["card_id"].iloc[::10]  # every tenth card has no home in the customer master
    partial = tmp_path / "cardholders.csv"
    homes[~homes["card_id"].isin(missing)].to_csv(partial, index=False)
    out, done = run_raw(raw_folder / "purchases.csv", partial, tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "ok" and record["data"]["source"] == "raw"
    assert [s["status"] for s in record["steps"]] == ["ok"] * len(discover_steps())
    assert record["data"]["derivation"]["homes"]["cards_without_home"] == len(missing)
    frame = pd.read_parquet(out / "artifacts" / "transactions.parquet")
    unknown = frame["distance_from_home"].isna()
    assert unknown.sum() == frame["card_id"].isin(missing).sum() > 0  # kept, not invented
    assert record["modeling"]["test_metrics"]["average_precision"] > 0.5
    assert record["eda"]["inputs_partly_unknown"]["distance_from_home"] == unknown.sum()
