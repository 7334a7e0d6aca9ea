"""``--only`` runs: the summary is rebuilt with the steps it reports on, pages name their run."""

from __future__ import annotations

import html
import json
import re

import pytest
from conftest import private_copy, run_all

from cardfraud.modeling.feature_sets import model_in_words
from cardfraud.runner.steps import discover_steps, select_steps, with_summary

STEPS = discover_steps()


@pytest.mark.parametrize("only, expected", [
    (["modeling"], ["modeling", "summary"]),
    (["load", "eda"], ["load", "eda", "summary"]),
    (["summary"], ["summary"]),
    (["registry", "summary"], ["registry", "summary"]),
    (None, [s.name for s in STEPS]),
])
def test_the_summary_runs_whenever_a_step_it_reports_on_runs(only, expected):
    assert [s.name for s in with_summary(STEPS, select_steps(STEPS, only, None))] == expected


def test_from_a_step_keeps_the_summary_once():
    chosen = with_summary(STEPS, select_steps(STEPS, None, "monitoring"))
    assert [s.name for s in chosen] == ["monitoring", "summary"]


def page_text(path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))


@pytest.mark.slow
def test_only_modeling_rebuilds_the_home_page_with_the_new_figures(smoke_run, tmp_path):
    out, tracking_uri = private_copy(smoke_run, tmp_path)
    first = json.loads((out / "run.json").read_text())
    assert first["modeling"]["best_model"] != "decision_tree"
    done = run_all("--output", str(out), "--only", "modeling", "--set",
                   f"common.tracking_uri={tracking_uri}", "--set",
                   "modeling.candidates=[decision_tree]")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "[2/2] summary: done" in done.stdout
    record = json.loads((out / "run.json").read_text())
    assert [s["name"] for s in record["steps"]] == ["modeling", "summary"]
    metrics = record["modeling"]["test_metrics"]
    home = page_text(out / "site" / "index.html")
    assert record["modeling"]["best_model"] in {"decision_tree", "decision_tree+history"}
    assert f"The recommended model, {model_in_words(record['modeling']['best_model'])}, " \
           f"catches" in home
    assert f"{100 * metrics['recall']:.0f} % of frauds" in home
    assert f"Run {record['run_id']} ·" in home
    assert f"Run {record['run_id']} ·" in page_text(out / "site" / "modeling.html")
    eda = page_text(out / "site" / "eda.html")
    assert f"Run {first['run_id']} ·" in eda and f"not re-run by run {record['run_id']}" in eda


def published_state(out) -> dict:
    """The files a refused run must leave as they were: run record, site, results, marker."""
    names = ["run.json", ".cardfraud-output", *(p.relative_to(out).as_posix() for folder in
             ("site", "artifacts/results") for p in sorted((out / folder).glob("*")))]
    return {name: (out / name).read_bytes() for name in names if (out / name).is_file()}


@pytest.mark.slow
def test_only_modeling_on_an_empty_output_dir_is_refused_naming_the_load_step(tmp_path):
    out = tmp_path / "out"
    done = run_all("--output", str(out), "--only", "modeling")
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.splitlines()[0] == (
        f"error: step 'modeling' needs artifacts/transactions.parquet (written by the 'load' "
        f"step), which is missing in {out}: run 'load' first, e.g. python run_all.py --only "
        f"load modeling")
    assert "Traceback" not in done.stderr and "running" not in done.stdout
    assert not (out / "run.json").exists() and not (out / "runs").exists()


@pytest.mark.slow
def test_only_registry_after_the_transactions_changed_is_refused(smoke_run, tmp_path):
    out, tracking_uri = private_copy(smoke_run, tmp_path)
    reloaded = run_all("--output", str(out), "--only", "load", "--no-render", "--set",
                       "load.simulator.seed=8", "--set", f"common.tracking_uri={tracking_uri}")
    assert reloaded.returncode == 0, reloaded.stderr[-3000:]
    before = published_state(out)
    done = run_all("--output", str(out), "--only", "registry", "--set",
                   f"common.tracking_uri={tracking_uri}")
    assert done.returncode == 2, done.stderr[-2000:]
    line = done.stderr.splitlines()[0]
    assert line.startswith("error: step 'registry' needs artifacts/test_predictions.parquet "
                           "(written by the 'modeling' step), which was made from other data")
    assert line.endswith("run 'modeling' first, e.g. python run_all.py --only modeling registry")
    assert "nothing published" in done.stderr and "Traceback" not in done.stderr
    assert published_state(out) == before
    # this run's load changing the data is caught before the registry step too
    done = run_all("--output", str(out), "--only", "load", "registry", "--no-render", "--set",
                   "load.simulator.seed=9", "--set", f"common.tracking_uri={tracking_uri}")
    assert done.returncode == 2, done.stderr[-2000:]
    assert "error: step 'registry' needs artifacts/test_predictions.parquet" in done.stderr
    assert "--only load modeling registry" in done.stderr
    assert published_state(out) == before
