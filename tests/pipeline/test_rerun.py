"""``--only`` runs: the summary is rebuilt with the steps it reports on, pages name their run."""

from __future__ import annotations

import html
import json
import re
import shutil

import pytest
from conftest import run_all

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
    published, _, tracking_uri = smoke_run
    out = tmp_path / "out"
    shutil.copytree(published, out)
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
    assert "The recommended model, decision tree, catches" in home
    assert f"{100 * metrics['recall']:.0f} % of frauds" in home
    assert f"Run {record['run_id']} ·" in home
    assert f"Run {record['run_id']} ·" in page_text(out / "site" / "modeling.html")
    eda = page_text(out / "site" / "eda.html")
    assert f"Run {first['run_id']} ·" in eda and f"not re-run by run {record['run_id']}" in eda
