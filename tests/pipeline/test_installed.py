"""A non-editable ``pip install .`` works like the editable one: the project is where you run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The package installed from a copy of the sources into a --target dir (not editable)."""
    build = tmp_path_factory.mktemp("build")
    shutil.copytree(ROOT / "src", build / "src", ignore=shutil.ignore_patterns("*.egg-info",
                                                                              "__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, build / name)
    target = tmp_path_factory.mktemp("site-packages")
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                           "--target", str(target), str(build)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    env = {k: v for k, v in os.environ.items() if k != "CARDFRAUD_PROJECT"}
    env["PYTHONPATH"] = str(target)  # before the editable install's path
    return target, env


def test_the_installed_package_is_the_one_imported(installed, tmp_path):
    target, env = installed
    done = subprocess.run([sys.executable, "-c", "import cardfraud; print(cardfraud.__file__)"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, check=True)
    assert done.stdout.strip() == str(target / "cardfraud" / "__init__.py")


def test_score_help_answers_outside_any_project(installed, tmp_path):
    _, env = installed
    done = subprocess.run([sys.executable, "-m", "cardfraud", "score", "--help"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("usage: python -m cardfraud score")


def test_run_all_publishes_into_the_projects_reports_like_the_editable_install(installed,
                                                                               tmp_path):
    _, env = installed
    project = tmp_path / "cardfraud"  # run_all.py, params and notebooks; no sources
    project.mkdir()
    for name in ("run_all.py", "_quarto.yml"):
        shutil.copy2(ROOT / name, project / name)
    for folder in ("params", "notebooks"):
        shutil.copytree(ROOT / folder, project / folder)
    done = subprocess.run([sys.executable, "run_all.py", "--params", "params/smoke.yaml",
                           "--only", "load"], capture_output=True, text=True, env=env,
                          cwd=project, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    reports = project / "reports"
    record = json.loads((reports / "run.json").read_text())
    assert record["status"] == "ok" and record["output_dir"] == str(reports)
    assert [s["name"] for s in record["steps"]] == ["load", "summary"]
    assert (reports / "artifacts" / "transactions.parquet").is_file()
    assert (reports / "site" / "index.html").is_file()
    assert f"site: {reports}/site/index.html" in done.stdout
