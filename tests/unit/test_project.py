"""The project dir is found from where a command runs (or $CARDFRAUD_PROJECT), never from the
package's install path."""

from __future__ import annotations

from pathlib import Path

import pytest

from cardfraud.modeling.tracking import default_tracking_uri
from cardfraud.runner.artifacts import resolve_output_dir
from cardfraud.runner.project import (
    PROJECT_ENV,
    ProjectNotFound,
    default_params_file,
    find_project_dir,
    notebooks_dir,
    project_dir,
)
from cardfraud.runner.steps import discover_steps

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "cardfraud"


def make_project(folder: Path) -> Path:
    """A folder laid out as a cardfraud project, with one notebook."""
    (folder / "params").mkdir(parents=True)
    (folder / "notebooks").mkdir()
    (folder / "run_all.py").write_text("")
    (folder / "notebooks" / "01_load.ipynb").write_text("{}")
    return folder


@pytest.fixture
def no_project_env(monkeypatch):
    monkeypatch.delenv(PROJECT_ENV, raising=False)


def test_the_project_is_found_from_any_folder_inside_it(tmp_path, monkeypatch, no_project_env):
    project = make_project(tmp_path / "bank" / "cardfraud")
    monkeypatch.chdir(project / "notebooks")  # where Jupyter opens a notebook
    assert project_dir() == project
    assert notebooks_dir() == project / "notebooks"
    assert default_params_file() == project / "params" / "default.yaml"
    assert [s.name for s in discover_steps()] == ["load"]
    assert resolve_output_dir(None) == project / "reports"
    assert resolve_output_dir("out") == project / "out"
    assert default_tracking_uri() == f"sqlite:///{project}/mlruns/mlflow.db"


def test_the_environment_names_the_project_from_anywhere(tmp_path, monkeypatch):
    project = make_project(tmp_path / "project")
    monkeypatch.setenv(PROJECT_ENV, str(project))
    monkeypatch.chdir(tmp_path)
    assert project_dir() == project and resolve_output_dir(None) == project / "reports"


def test_an_environment_naming_no_project_is_refused_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv(PROJECT_ENV, str(tmp_path))
    with pytest.raises(ProjectNotFound) as refused:
        find_project_dir()
    assert str(refused.value) == (f"{PROJECT_ENV}={tmp_path} is not a cardfraud project (a "
                                  f"folder holding run_all.py, params, notebooks): fix or unset it")


def test_outside_a_project_the_steps_are_refused_and_the_defaults_stay_here(tmp_path,
                                                                           monkeypatch,
                                                                           no_project_env):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ProjectNotFound, match=f"no cardfraud project found from {tmp_path} .*"
                                              f"set {PROJECT_ENV}=/path/to/project$"):
        discover_steps()
    assert resolve_output_dir(None) == tmp_path / "reports"
    assert default_tracking_uri() == f"sqlite:///{tmp_path}/mlruns/mlflow.db"


def test_no_module_derives_a_location_from_where_it_is_installed():
    found = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
             if "__file__" in p.read_text(encoding="utf-8")]
    assert found == []
