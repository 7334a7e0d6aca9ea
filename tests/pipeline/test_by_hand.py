"""Notebooks opened by hand (outside run_all) read the published outputs and change nothing."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from conftest import ROOT
from helpers import store_client

from cardfraud.runner.scratch import KEPT_SCRATCH_DIRS, PUBLISHED_ENV, notebook_output_dir
from cardfraud.runner.steps import discover_steps


def test_run_all_dir_is_used_as_given(tmp_path, monkeypatch):
    monkeypatch.setenv(PUBLISHED_ENV, str(tmp_path))
    assert notebook_output_dir(str(tmp_path / "runs" / "r1")) == str(tmp_path / "runs" / "r1")
    assert not (tmp_path / "scratch").exists()


def test_opened_by_hand_works_on_a_scratch_copy_of_the_published_outputs(tmp_path, monkeypatch,
                                                                        capsys):
    published = tmp_path / "reports"
    (published / "artifacts" / "results").mkdir(parents=True)
    (published / "artifacts" / "results" / "load.json").write_text('{"rows": 3}')
    (published / "artifacts" / "monitoring_log.csv").write_text("run_id\nr1\n")
    monkeypatch.setenv(PUBLISHED_ENV, str(published))
    scratch = Path(notebook_output_dir(None))
    assert scratch.parent == published / "scratch"
    assert (scratch / "artifacts" / "results" / "load.json").read_text() == '{"rows": 3}'
    (scratch / "artifacts" / "monitoring_log.csv").write_text("run_id\nr1\nmanual\n")
    assert (published / "artifacts" / "monitoring_log.csv").read_text() == "run_id\nr1\n"
    printed = capsys.readouterr().out
    assert f"reading the published outputs of {published}" in printed
    assert f"writing only to the scratch dir {scratch}" in printed
    for _ in range(KEPT_SCRATCH_DIRS + 2):
        notebook_output_dir("")
    assert len(list((published / "scratch").iterdir())) == KEPT_SCRATCH_DIRS


def file_digests(folder: Path) -> dict[str, str]:
    """SHA-256 of every published file (the scratch dir excluded)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*"))
            if p.is_file() and "scratch" not in p.relative_to(folder).parts}


def registry_snapshot(uri: str) -> dict:
    """Every registered model's aliases and versions with their tags."""
    client = store_client(uri)
    return {m.name: (dict(m.aliases), {v.version: dict(v.tags) for v in
                                       client.search_model_versions(f"name = '{m.name}'")})
            for m in client.search_registered_models()}


# the steps opened by hand do less work than their defaults (output_dir stays None: by hand)
SMALLER = {
    "channel_simulation": {"purchases": 1000, "runs": 2000},
    "modeling": {"candidates": ["logistic_regression"], "cv_folds": 2, "cv_sample_rows": 5000,
                 "importance_rows": 2000, "first_analysis_rows": 5000, "backtest_weeks": 0,
                 "bootstrap_resamples": 0},
}


@pytest.mark.slow
def test_every_notebook_opened_by_hand_completes_and_changes_nothing(smoke_run, tmp_path,
                                                                      monkeypatch):
    import papermill

    published_run, _, smoke_store = smoke_run
    published = tmp_path / "reports"
    shutil.copytree(published_run, published)
    # modeling by hand logs its candidate runs into $MLFLOW_TRACKING_URI: a copy of the store
    shutil.copyfile(smoke_store.removeprefix("sqlite:///"), tmp_path / "mlflow.db")
    monkeypatch.setenv(PUBLISHED_ENV, str(published))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    before = file_digests(published)
    registries = {uri: registry_snapshot(uri) for uri in (smoke_store,
                                                          f"sqlite:///{tmp_path}/mlflow.db")}
    assert registries[smoke_store]
    for step in discover_steps():
        executed = tmp_path / "by_hand" / step.notebook.name
        executed.parent.mkdir(exist_ok=True)
        papermill.execute_notebook(str(step.notebook), str(executed), kernel_name="cardfraud",
                                   cwd=str(ROOT / "notebooks"), progress_bar=False,
                                   parameters=SMALLER.get(step.name, {}))
        text = executed.read_text(encoding="utf-8")
        assert "Opened by hand (output_dir = None)" in text and str(published) in text, step.name
        if step.name == "registry":
            assert "Nothing is applied" in text and "registers no version" in text
    assert file_digests(published) == before
    assert {uri: registry_snapshot(uri) for uri in registries} == registries
    assert len(list((published / "scratch").iterdir())) == KEPT_SCRATCH_DIRS
