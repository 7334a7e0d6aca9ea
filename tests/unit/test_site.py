"""The site: pages in step order, parameters hidden, run banner, offline, Quarto project,
the summary's PDF (or the line saying why there is none)."""

from __future__ import annotations

import nbformat
import pytest
import yaml

from cardfraud.report.markup import plain_text
from cardfraud.report.quarto_site import quarto_command
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


@pytest.fixture(autouse=True)
def no_pdf_engine(monkeypatch):
    """No Quarto PDF engine and no Chromium, unless a test brings a stand-in."""
    monkeypatch.setattr("cardfraud.report.pdf.quarto_command", lambda: None)
    monkeypatch.setattr("cardfraud.report.pdf.chromium_command", lambda: None)


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
    assert build_site(staging, dict(RECORD), steps, "nbconvert") == "nbconvert"
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
    project = quarto_project(pages, version="1.7.34")
    assert project["project"]["type"] == "website"
    assert project["website"]["page-footer"].endswith("rendered with Quarto 1.7.34")
    html_format = project["format"]["html"]
    assert html_format["embed-resources"] is True  # module scripts are blocked from file://
    assert html_format["theme"] in {"default", "cerulean", "litera", "pulse", "quartz", "slate"}
    assert project["project"]["render"] == ["index.ipynb", "load.ipynb", "eda.ipynb"]
    assert [item["href"] for item in project["website"]["navbar"]["left"]] == project["project"]["render"]
    assert project["execute"]["enabled"] is False
    yaml.safe_dump(project)  # writable as _quarto.yml


def test_renderer_auto_falls_back_to_nbconvert_without_quarto(monkeypatch, tmp_path):
    monkeypatch.setattr("shutil.which", lambda name: None)
    monkeypatch.setattr("sys.executable", str(tmp_path / "venv" / "bin" / "python"))
    assert choose_renderer("auto") == "nbconvert"
    monkeypatch.setattr("shutil.which", lambda name: "/usr/bin/quarto")
    assert choose_renderer("auto") == "quarto"


def test_quarto_installed_in_the_venv_is_found_without_path(monkeypatch, tmp_path):
    """`make report` puts PyPI's quarto-cli into .venv/bin, which is not on PATH."""
    monkeypatch.setattr("shutil.which", lambda name: None)
    venv_quarto = tmp_path / "venv" / "bin" / "quarto"
    venv_quarto.parent.mkdir(parents=True)
    venv_quarto.write_text("#!/bin/sh\n")
    monkeypatch.setattr("sys.executable", str(venv_quarto.parent / "python"))
    assert quarto_command() == str(venv_quarto)
    assert choose_renderer("auto") == "quarto"


def test_quarto_renderer_is_called_without_executing_and_its_site_published(executed, tmp_path,
                                                                          monkeypatch):
    """A stand-in `quarto` records its arguments and writes a page per notebook it is given."""
    staging, steps = executed
    fake = tmp_path / "bin" / "quarto"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\n[ "$1" = --version ] && { echo 9.9.9; exit 0; }\n'
                    'echo "$@" > "$2/../quarto_args"\nmkdir -p "$2/_site"\n'
                    'for nb in "$2"/*.ipynb; do b=$(basename "$nb" .ipynb); '
                    'echo "<html>$b</html>" > "$2/_site/$b.html"; done\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:/usr/bin:/bin")
    record = dict(RECORD)
    assert build_site(staging, record, steps, "auto") == "quarto"
    assert (staging / "quarto_args").read_text().split()[::2] == ["render", "--no-execute"]
    assert sorted(p.name for p in (staging / "site").iterdir()) == ["eda.html", "index.html",
                                                                   "load.html"]
    assert not (staging / "quarto").exists()  # the work dir is cleaned up
    assert record["report"]["renderer"] == "quarto"


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


def test_home_page_says_in_one_line_why_there_is_no_pdf(executed):
    staging, steps = executed
    record = dict(RECORD)
    assert build_site(staging, record, steps, "nbconvert") == "nbconvert"
    home = plain_text((staging / "site" / "index.html").read_text())
    assert home.count("No PDF of this summary") == 1
    assert "neither Quarto's PDF engine (typst or LaTeX) nor Chromium is installed" in home
    assert record["report"]["renderer"] == "nbconvert"
    assert record["report"]["pdf"]["engine"] is None
    assert "Chromium" in record["report"]["pdf"]["reason"]
    assert not (staging / "site" / "summary.pdf").exists() and not (staging / "pdf").exists()
    assert "rendered with nbconvert" in home


def stand_in_chromium(folder, script: str) -> str:
    """A `chromium` that runs ``script`` with the --print-to-pdf=PATH argument as $PDF."""
    fake = folder / "chromium"
    fake.write_text('#!/bin/sh\nfor a in "$@"; do case "$a" in --print-to-pdf=*) '
                    'PDF="${a#--print-to-pdf=}";; esac; done\n' + script)
    fake.chmod(0o755)
    return str(fake)


def test_the_printed_pdf_is_published_in_the_site_and_linked(executed, monkeypatch):
    staging, steps = executed
    chromium = stand_in_chromium(staging, 'printf "%%PDF-1.4 stand-in" > "$PDF"\n')
    monkeypatch.setattr("cardfraud.report.pdf.chromium_command", lambda: chromium)
    record = dict(RECORD)
    build_site(staging, record, steps, "nbconvert")
    assert (staging / "site" / "summary.pdf").read_bytes() == b"%PDF-1.4 stand-in"
    assert 'href="summary.pdf"' in (staging / "site" / "index.html").read_text()
    assert 'summary.pdf' not in (staging / "site" / "load.html").read_text()
    assert record["report"]["pdf"]["engine"] == "chromium"
    assert sorted(p.name for p in (staging / "site").iterdir()) == [
        "eda.html", "index.html", "load.html", "summary.pdf"]  # no temporary file left


def test_a_failed_print_leaves_no_pdf_and_the_home_page_says_why(executed, monkeypatch):
    staging, steps = executed
    chromium = stand_in_chromium(staging, 'printf "half" > "$PDF"; echo "no display" >&2; exit 3\n')
    monkeypatch.setattr("cardfraud.report.pdf.chromium_command", lambda: chromium)
    record = dict(RECORD)
    build_site(staging, record, steps, "nbconvert")
    assert sorted(p.name for p in (staging / "site").iterdir()) == ["eda.html", "index.html",
                                                                   "load.html"]
    assert record["report"]["pdf"]["reason"] == "chromium: chromium exited 3: no display"
    assert "No PDF of this summary: chromium: chromium exited 3: no display." in plain_text(
        (staging / "site" / "index.html").read_text())


def test_quarto_pdf_engine_is_used_when_quarto_has_typst(executed, monkeypatch):
    """A stand-in quarto whose `typst` runs: the PDF comes from `quarto render --to typst`."""
    from cardfraud.report.pdf import summary_pdf

    staging, steps = executed
    fake = staging / "quarto"
    fake.write_text('#!/bin/sh\n[ "$1" = typst ] && exit 0\necho "$@" > args\n'
                    'grep -q papersize "$2" && printf "%%PDF-1.7 typst" > summary.pdf\n')
    fake.chmod(0o755)
    monkeypatch.setattr("cardfraud.report.pdf.quarto_command", lambda: str(fake))
    page = collect_pages(staging / "executed", steps, RECORD)[-1]
    pdf = summary_pdf(page.notebook, page.title, staging / "out" / "summary.pdf", staging / "w")
    assert pdf == {"engine": "quarto (typst)", "file": "summary.pdf"}
    assert (staging / "out" / "summary.pdf").read_bytes() == b"%PDF-1.7 typst"
    assert (staging / "w" / "args").read_text().split()[2:] == ["--to", "typst", "--no-execute"]


def test_quarto_without_a_pdf_engine_falls_back_to_chromium(executed, monkeypatch):
    from cardfraud.report.pdf import summary_pdf

    staging, steps = executed
    fake = staging / "quarto"
    fake.write_text("#!/bin/sh\nexit 1\n")  # `quarto typst --version` fails: no typst
    fake.chmod(0o755)
    monkeypatch.setattr("cardfraud.report.pdf.quarto_command", lambda: str(fake))
    monkeypatch.setattr("shutil.which", lambda name: None)  # and no LaTeX
    chromium = stand_in_chromium(staging, 'printf "%%PDF-1.4" > "$PDF"\n')
    monkeypatch.setattr("cardfraud.report.pdf.chromium_command", lambda: chromium)
    page = collect_pages(staging / "executed", steps, RECORD)[-1]
    pdf = summary_pdf(page.notebook, page.title, staging / "summary.pdf", staging / "w")
    assert pdf["engine"] == "chromium"
    assert pdf["tried"] == ["Quarto has no PDF engine (no typst, no LaTeX)"]
