"""The artifact contract: every hand-over file named once, with its writer and readers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cardfraud.report.summary import detail_pages
from cardfraud.runner import contract
from cardfraud.runner.artifacts import (
    collect_results,
    load_step_results,
    save_step_results,
)
from cardfraud.runner.steps import discover_steps

PACKAGE = Path(contract.__file__).resolve().parents[1]


def test_every_reader_runs_after_the_step_that_writes_its_file():
    order = {step.name: step.number for step in discover_steps()}
    for artifact in contract.ARTIFACTS:
        if artifact.writer not in order:
            continue  # a step whose notebook is not in this checkout yet
        for reader in artifact.readers + artifact.optional_readers:
            if reader in order and reader != artifact.writer:
                assert order[reader] > order[artifact.writer], (artifact.file, reader)


def test_every_file_is_named_once():
    files = [a.file for a in contract.ARTIFACTS]
    assert len(files) == len(set(files))
    assert {"transactions.parquet", "split.parquet", "test_predictions.parquet",
            "monitoring_log.csv", "results/modeling.json",
            "geo/hot_spots.geojson", "geo/cards_at_risk.csv"} <= set(files)


def test_no_hand_over_file_name_is_spelled_outside_the_contract():
    names = {Path(a.file).name for a in contract.ARTIFACTS}
    spelled = re.compile("|".join(re.escape(f'"{n}"') for n in names))
    found = [f"{path.relative_to(PACKAGE)}: {match.group(0)}"
             for path in PACKAGE.rglob("*.py") if path.name != "contract.py"
             for match in spelled.finditer(path.read_text(encoding="utf-8"))]
    assert found == []


@pytest.mark.parametrize("step, needs", [
    ("registry", {"transactions.parquet", "test_predictions.parquet", "results/modeling.json",
                  "results/load.json"}),
    ("monitoring", {"transactions.parquet", "split.parquet"}),
    ("modeling", {"transactions.parquet"}),
    ("load", set()),
    ("summary", set()),  # it reports on whatever ran
])
def test_what_each_step_cannot_run_without(step, needs):
    assert {a.file for a in contract.needed_by(step)} == needs


def test_the_monitoring_log_is_the_file_kept_from_run_to_run():
    assert contract.kept_between_runs() == ("monitoring_log.csv",)


def test_a_steps_results_record_the_data_they_were_made_from(tmp_path):
    save_step_results("load", {"data": {"source": "file", "fingerprint": "sha256:abc"}}, tmp_path)
    save_step_results("modeling", {"best_model": "logistic_regression"}, tmp_path)
    saved = json.loads((tmp_path / "artifacts" / "results" / "modeling.json").read_text())
    assert saved == {"best_model": "logistic_regression", "data_fingerprint": "sha256:abc"}
    assert load_step_results("load", tmp_path)["data_fingerprint"] == "sha256:abc"
    assert set(collect_results(tmp_path)) == {"load", "modeling"}


def test_the_summary_links_the_pages_of_the_steps_that_ran_in_step_order():
    results = {name: {} for name in ("modeling", "summary", "fraud_rings", "load", "eda",
                                     "georeferencing")}
    assert detail_pages(results) == [
        ("the data and its quality", "load.html"),
        ("where fraud concentrates", "eda.html"),
        ("where fraud happens on the map", "georeferencing.html"),
        ("how the models were compared", "modeling.html"),
        ("fraud rings", "fraud_rings.html"),  # a new step without a link text: its name
    ]
