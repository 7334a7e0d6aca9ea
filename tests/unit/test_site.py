"""The site: pages in step order, parameters hidden, run banner, offline, Quarto project."""

from __future__ import annotations

import nbformat
import pytest
import yaml

from cardfraud.report.markup import plain_text
from cardfraud.report.site import (
    build_site,
    choose_renderer,
    collect_pages,
    quarto_project,
)
from cardfraud.runner.steps import Step

RECORD = {"run_id": "20261121T000000Z-abcd", "started_at": "2026-11-21T10:00:00+00:00",
          "data": {"source": "simulated", "rows": 1234, "fingerprint": "sha256:" + "f" * 64},
          "steps": [{"name": "load", "notebook": "01_load.ipynb", "status": "ok", "seconds": 1.0}]}


def executed_notebook(title: str) -> nbformat.NotebookNode:
    params = nbformat.v4.new_code_cell("rows = 1", metadata={"tags": ["parameters"]})
    injected = nbformat.v4.new_code_cell("rows = 99", metadata={"tags": ["injected-parameters"]})
    shown = nbformat.v4.new_code_cell("1 + 1", outputs=[nbformat.v4.new_output(
        "execute_result", {"text/plain": "SECRET_RESULT_2"}, execution_count=1)])
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {title}\nText."),
                                           params, injected, shown])


@pytest.fixture
def executed(tmp_path):
    steps = []
    for number, name in [(1, "load"), (2, "eda"), (8, "summary")]:
        path = tmp_path / "executed" / f"0{number}_{name}.ipynb"
        path.parent.mkdir(exist_ok=True)
        nbformat.write(executed_notebook(f"Page {name}"), path)
        steps.append(Step(number, name, path))
    return tmp_path, steps


def test_summary_becomes_the_home_page_and_order_is_kept(executed):
    staging, steps = executed
    pages = collect_pages(staging / "executed", steps, RECORD)
    assert [p.filename for p in pages] == ["load.html", "eda.html", "index.html"]
    assert [p.title for p in pages] == ["Page load", "Page eda", "Page summary"]


def test_overview_home_page_until_a_summary_exists(executed):
    staging, steps = executed
    pages = collect_pages(staging / "executed", steps[:2], RECORD)
    assert pages[0].filename == "index.html" and pages[0].title == "Run overview"


def test_nbconvert_site_hides_parameters_and_shows_the_run(executed):
    staging, steps = executed
    assert build_site(staging, RECORD, steps, "nbconvert") == "nbconvert"
    site = staging / "site"
    assert sorted(p.name for p in site.iterdir()) == ["eda.html", "index.html", "load.html"]
    for page in site.iterdir():
        text = page.read_text()
        assert "rows = 99" not in text and "rows = 1" not in text
        assert "SECRET_RESULT_2" in text
        assert "20261121T000000Z-abcd" in text and "sha256:ffff" in text and "1,234 rows" in text
        assert all(f'href="{p}"' in text for p in ("index.html", "load.html", "eda.html"))
        assert "<script" not in text and "cdn" not in text.lower()


def test_quarto_project_lists_exactly_the_pages_of_the_run(executed):
    staging, steps = executed
    pages = collect_pages(staging / "executed", steps[:2], RECORD)
    project = quarto_project(pages)
    assert project["project"]["type"] == "website"
    assert project["project"]["render"] == ["index.ipynb", "load.ipynb", "eda.ipynb"]
    assert [item["href"] for item in project["website"]["navbar"]["left"]] == project["project"]["render"]
    assert project["execute"]["enabled"] is False
    yaml.safe_dump(project)  # writable as _quarto.yml


def test_renderer_auto_falls_back_to_nbconvert_without_quarto(monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    assert choose_renderer("auto") == "nbconvert"
    monkeypatch.setattr("shutil.which", lambda name: "/usr/bin/quarto")
    assert choose_renderer("auto") == "quarto"


def test_quarto_renderer_is_called_without_executing_and_its_site_published(executed, tmp_path,
                                                                          monkeypatch):
    """A stand-in `quarto` records its arguments and writes a page per notebook it is given."""
    staging, steps = executed
    fake = tmp_path / "bin" / "quarto"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\necho "$@" > "$2/../quarto_args"\nmkdir -p "$2/_site"\n'
                    'for nb in "$2"/*.ipynb; do b=$(basename "$nb" .ipynb); '
                    'echo "<html>$b</html>" > "$2/_site/$b.html"; done\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:/usr/bin:/bin")
    assert build_site(staging, RECORD, steps, "auto") == "quarto"
    assert (staging / "quarto_args").read_text().split()[::2] == ["render", "--no-execute"]
    assert sorted(p.name for p in (staging / "site").iterdir()) == ["eda.html", "index.html",
                                                                   "load.html"]


def test_a_page_not_rerun_shows_the_run_that_executed_it(executed):
    folder, steps = executed
    eda = folder / "executed" / "02_eda.ipynb"
    notebook = nbformat.read(eda, as_version=4)
    notebook.metadata["papermill"] = {"parameters": {"run_id": "20261120T080000Z-0ld0"},
                                      "start_time": "2026-11-20T08:00:05.1+00:00"}
    nbformat.write(notebook, eda)
    for path in (folder / "executed" / "01_load.ipynb", folder / "executed" / "08_summary.ipynb"):
        rerun = nbformat.read(path, as_version=4)
        rerun.metadata["papermill"] = {"parameters": {"run_id": RECORD["run_id"]}}
        nbformat.write(rerun, path)
    pages = {p.step: p for p in collect_pages(folder / "executed", steps, RECORD)}
    banner = plain_text(pages["eda"].notebook.cells[1].source)
    assert banner.startswith("*Run `20261120T080000Z-0ld0` · 2026-11-20 08:00 UTC · this page "
                             "was not re-run by run `20261121T000000Z-abcd`")
    for step in ("load", "summary"):
        assert plain_text(pages[step].notebook.cells[1].source).startswith(f"*Run `{RECORD['run_id']}` · "
                                                              f"2026-11-21 10:00 UTC · data:")
