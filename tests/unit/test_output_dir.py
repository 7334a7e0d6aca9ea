"""Output dirs: a run writes only where it may, and never deletes a file it did not write."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT

from cardfraud.runner.output_dir import (
    MARKER,
    OutputDirRefused,
    claim_output_dir,
    files_under,
    published_files,
    record_published_files,
)
from cardfraud.runner.publishing import RunFailed, prepare_staging, publish
from cardfraud.runner.steps import paths_from_caller

USER_FILES = {"site/mywebsite.html": "<p>my site</p>", "artifacts/thesis.docx": "my thesis",
              "executed/notes.txt": "my notes"}
RUN_RECORD = {"run_id": "20260101T000000Z-abcd", "status": "ok", "steps": []}


def write_files(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def contents(root: Path) -> dict[str, str]:
    """Every file under root (marker and lock aside) with its text."""
    return {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name not in {MARKER, ".run.lock"}}


def owned_output(root: Path, ours: dict[str, str], theirs: dict[str, str]) -> Path:
    """An output dir a run published ``ours`` into, where the user then added ``theirs``."""
    write_files(root, ours)
    record_published_files(root, set(ours) - {"run.json"})
    write_files(root, theirs)
    return root


def staged_run(output: Path, files: dict[str, str], run_id: str = "20260102T000000Z-0001") -> Path:
    staging = output / "runs" / run_id
    write_files(staging, {**files, "run.json": json.dumps({**RUN_RECORD, "run_id": run_id})})
    return staging


def run_all_in(cwd: Path, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "run_all.py"), "--params",
                           str(ROOT / "params" / "smoke.yaml"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"})


# --- which dirs a run may write in ------------------------------------------------------

def test_dir_with_files_no_run_wrote_is_refused_and_left_alone(tmp_path):
    write_files(tmp_path, USER_FILES)
    with pytest.raises(OutputDirRefused) as refused:
        claim_output_dir(tmp_path)
    message = str(refused.value)
    assert message.startswith(f"output dir {tmp_path} holds files no cardfraud run wrote "
                              f"(artifacts/thesis.docx, executed/notes.txt, site/mywebsite.html)")
    assert "\n" not in message and "--output" in message
    assert contents(tmp_path) == USER_FILES and not (tmp_path / MARKER).exists()


@pytest.mark.parametrize("existing", [False, True])
def test_new_or_empty_dir_is_claimed_with_a_marker(tmp_path, existing):
    output = tmp_path / "out"
    if existing:
        output.mkdir()
        (output / ".run.lock").write_text("")
    claim_output_dir(output)
    assert (output / MARKER).is_file() and published_files(output) == set()
    write_files(output, {"runs/20260101T000000Z-abcd/run.json": "{}"})
    claim_output_dir(output)  # a dir a run created stays claimable


def test_a_file_is_refused(tmp_path):
    (tmp_path / "out").write_text("x")
    with pytest.raises(OutputDirRefused, match="out is a file; pass a folder to --output"):
        claim_output_dir(tmp_path / "out")


def test_output_dir_of_an_earlier_version_is_adopted_without_the_users_later_files(tmp_path):
    write_files(tmp_path, {"executed/01_load.ipynb": "{}", "site/index.html": "old",
                           "artifacts/results/load.json": "{}"})
    (tmp_path / "run.json").write_text(json.dumps(RUN_RECORD))
    past = time.time() - 60
    for path in tmp_path.rglob("*"):
        os.utime(path, (past, past))
    write_files(tmp_path, {"site/mywebsite.html": "mine"})  # added after that run
    claim_output_dir(tmp_path)
    assert published_files(tmp_path) == {"executed/01_load.ipynb", "site/index.html",
                                         "artifacts/results/load.json"}


def test_run_json_beside_other_files_is_not_an_output_dir(tmp_path):
    (tmp_path / "run.json").write_text(json.dumps(RUN_RECORD))
    write_files(tmp_path, {"thesis.docx": "mine"})
    with pytest.raises(OutputDirRefused, match=r"\(run.json, thesis.docx\)"):
        claim_output_dir(tmp_path)


# --- publishing keeps what no run wrote ---------------------------------------------------

def test_publish_replaces_our_files_and_keeps_the_users(tmp_path):
    ours = {"site/index.html": "run 1", "site/old.html": "gone in run 2",
            "executed/01_load.ipynb": "run 1", "run.json": json.dumps(RUN_RECORD)}
    output = owned_output(tmp_path, ours, USER_FILES)
    new = {"site/index.html": "run 2", "executed/01_load.ipynb": "run 2",
           "artifacts/results/load.json": "run 2"}
    publish(staged_run(output, new), output)
    published = contents(output)
    assert {k: published.get(k) for k in USER_FILES} == USER_FILES
    assert {k: published[k] for k in new} == new
    assert "site/old.html" not in published
    assert published_files(output) == set(new)
    assert json.loads(published["run.json"])["run_id"] == "20260102T000000Z-0001"
    assert not (output / "runs").exists() or not any((output / "runs").iterdir())


def test_publish_refuses_to_overwrite_a_users_file_and_changes_nothing(tmp_path):
    output = owned_output(tmp_path, {"site/index.html": "run 1"}, {"site/eda.html": "mine"})
    staging = staged_run(output, {"site/index.html": "run 2", "site/eda.html": "run 2"})
    before = {k: v for k, v in contents(output).items() if not k.startswith("runs/")}
    with pytest.raises(RunFailed, match=f"{output}/site/eda.html was not written by a "
                                        f"cardfraud run"):
        publish(staging, output)
    after = {k: v for k, v in contents(output).items() if not k.startswith("runs/")}
    assert after == before and published_files(output) == {"site/index.html"}


def test_publish_without_a_site_keeps_the_site_ours(tmp_path):
    output = owned_output(tmp_path, {"site/index.html": "run 1", "executed/01_load.ipynb": "1"},
                          {})
    publish(staged_run(output, {"executed/01_load.ipynb": "2"}), output)
    assert published_files(output) == {"site/index.html", "executed/01_load.ipynb"}
    assert (output / "site" / "index.html").read_text() == "run 1"


def test_partial_run_starts_from_our_files_only(tmp_path):
    output = owned_output(tmp_path, {"artifacts/transactions.parquet": "data",
                                     "executed/01_load.ipynb": "nb"}, USER_FILES)
    staging = prepare_staging(output, "20260102T000000Z-0001", partial=True)
    assert files_under(staging) == {"artifacts/transactions.parquet", "executed/01_load.ipynb"}


# --- paths from the caller's folder -----------------------------------------------------

def test_relative_paths_are_taken_from_the_callers_folder(tmp_path):
    params = {"common": {"tracking_uri": "sqlite:///store/mlflow.db", "seed": 1},
              "load": {"path": "mydata.csv", "sep": ";"},
              "monitoring": {"current_path": "~/new.csv", "tracking_uri": None},
              "registry": {"tracking_uri": "http://127.0.0.1:5000"}}
    resolved = paths_from_caller(params, tmp_path)
    assert resolved["load"] == {"path": str(tmp_path / "mydata.csv"), "sep": ";"}
    assert resolved["monitoring"]["current_path"] == str(Path.home() / "new.csv")
    assert resolved["common"] == {"tracking_uri": f"sqlite:///{tmp_path}/store/mlflow.db",
                                  "seed": 1}
    assert resolved["registry"]["tracking_uri"] == "http://127.0.0.1:5000"
    assert resolved["monitoring"]["tracking_uri"] is None
    assert params["load"]["path"] == "mydata.csv"  # the caller's params are not changed
    absolute = {"load": {"path": "/data/x.csv"}, "common": {"tracking_uri": "sqlite:////s.db"}}
    assert paths_from_caller(absolute, tmp_path) == absolute


# --- run_all on the command line, before any notebook runs ---------------------------------

def test_run_all_refuses_a_dir_it_does_not_own(tmp_path):
    write_files(tmp_path / "mine", USER_FILES)
    done = run_all_in(tmp_path, "--output", "mine")
    assert done.returncode == 2
    assert done.stderr == (f"error: output dir {tmp_path}/mine holds files no cardfraud run "
                           f"wrote (artifacts/thesis.docx, executed/notes.txt, "
                           f"site/mywebsite.html); a run writes only into a new or empty dir or "
                           f"one a run created (it holds {MARKER}): pass another --output\n")
    assert contents(tmp_path / "mine") == USER_FILES
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == sorted(
        ["site", "artifacts", "executed"])
