"""Publish the executed notebooks as a static site (Quarto when installed, else nbconvert).

Both renderers get the same pages: each executed notebook with the parameters cells removed
and a line giving the run id, date and data fingerprint; the home page also links the
summary's PDF (:mod:`cardfraud.report.pdf`) or says in one line why there is none. Every page
is self-contained and opens from disk offline: figures embedded as PNG, no script and no font
from the network (:mod:`cardfraud.report.quarto_site` for Quarto's); the footer names the
renderer. Strings from the data reach the pages escaped (:mod:`cardfraud.report.markup`); a
page that would still run script, or load from the network, is not published.
"""

from __future__ import annotations

import copy
import html
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml

from ..runner.atomic_write import atomic_path
from ..runner.contract import HOME_PAGE, SUMMARY_PDF, page_file
from ..runner.contract import SUMMARY_STEP as HOME_STEP
from .locale_format import fill
from .markup import active_content, code, sentence
from .pdf import board_pack
from .quarto_site import offline_problems, quarto_command, quarto_notebook, quarto_version
from .translate import N_, _, current_language, in_language, translate

RENDERERS = ("auto", "quarto", "nbconvert")
HIDDEN_CELL_TAGS = {"parameters", "injected-parameters"}


class RenderError(RuntimeError):
    """The site could not be built; nothing is published."""


@dataclass
class Page:
    """One page of the site: the step it shows, its file name, title and notebook."""

    step: str
    filename: str
    title: str
    notebook: nbformat.NotebookNode


def check_renderer(renderer: str) -> None:
    """Raise ConfigError for an unknown renderer or a forced Quarto that is not installed."""
    from ..runner.config import ConfigError

    if renderer not in RENDERERS:
        raise ConfigError(f"unknown renderer {renderer!r} (choose from {', '.join(RENDERERS)})")
    if renderer == "quarto" and quarto_command() is None:
        raise ConfigError("--renderer quarto: the quarto command is not on PATH "
                          "(install it: make quarto, pip install quarto-cli or conda install "
                          "-c conda-forge quarto; or use nbconvert)")


def choose_renderer(renderer: str = "auto") -> str:
    """Return ``quarto`` when asked or when auto finds it (PATH, the venv), else ``nbconvert``."""
    if renderer == "auto":
        return "quarto" if quarto_command() else "nbconvert"
    return renderer


def notebook_title(notebook: nbformat.NotebookNode, default: str) -> str:
    """Return the first markdown heading of a notebook, without the leading hashes."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return default


def run_banner(record: dict) -> str:
    """Return the markdown line giving the run id, date and data fingerprint."""
    data = record.get("data") or {}
    return sentence(_("*Run {run} · {started} UTC · data: {source}, {rows:,} rows, fingerprint "
                      "{fingerprint}*"), run=code(record["run_id"]),
                    started=record["started_at"][:16].replace("T", " "),
                    source=translate(str(data.get("source", "n/a"))), rows=data.get("rows", 0),
                    fingerprint=code(str(data.get("fingerprint", "n/a"))[:23]))


def earlier_run_banner(notebook: nbformat.NotebookNode, record: dict) -> str | None:
    """Return the banner of a page executed by an earlier run (``--only``), else None."""
    papermill = notebook.metadata.get("papermill", {})
    page_run = (papermill.get("parameters") or {}).get("run_id")
    if not page_run or page_run == record["run_id"]:
        return None
    started = str(papermill.get("start_time") or "")[:16].replace("T", " ")
    return sentence(_("*Run {page_run}{started} · this page was not re-run by run {run}, which "
                      "ran {steps}*"), page_run=code(page_run),
                    started=" · " + started + " UTC" if started else "", run=code(record["run_id"]),
                    steps=", ".join(s["name"] for s in record.get("steps", [])) or _("no step"))


def prepare_page(notebook: nbformat.NotebookNode, record: dict) -> nbformat.NotebookNode:
    """Return a copy with the parameters cells removed and the banner of the run that made it."""
    page = copy.deepcopy(notebook)
    page.cells = [c for c in page.cells if not HIDDEN_CELL_TAGS & set(c.metadata.get("tags", []))]
    banner = nbformat.v4.new_markdown_cell(earlier_run_banner(notebook, record)
                                           or run_banner(record))
    page.cells.insert(1 if page.cells and page.cells[0].cell_type == "markdown" else 0, banner)
    return page


def collect_pages(executed_dir: Path, steps, record: dict) -> list[Page]:
    """Return the site's pages in step order; the summary step, when run, is the home page."""
    pages = []
    for step in steps:
        path = executed_dir / step.executed_name
        if not path.is_file():
            continue
        notebook = nbformat.read(path, as_version=4)
        pages.append(Page(step.name, page_file(step.name), notebook_title(notebook, step.name),
                          prepare_page(notebook, record)))
    if not any(p.filename == HOME_PAGE for p in pages):
        pages.insert(0, Page("overview", HOME_PAGE, _("Run overview"), overview_notebook(record)))
    return pages


def overview_notebook(record: dict) -> nbformat.NotebookNode:
    """Return the home page used until the summary step exists: the run and its steps."""
    lines = ["# " + _("Run overview"), "", run_banner(record), "",
             _("| step | notebook | status | seconds |"), "|---|---|---|---|"]
    for step in record.get("steps", []):
        lines.append(sentence("| {name} | {notebook} | {status} | {seconds} |", name=step["name"],
                              notebook=step["notebook"], status=step["status"],
                              seconds=step.get("seconds", "")))
    load = record.get("load", {})
    if load:
        lines += ["", sentence(_("{rows:,} purchases analysed; fraud rate {rate:.2f} %."),
                               rows=load.get("rows", 0), rate=100 * load.get("fraud_rate", 0))]
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("\n".join(lines))])


def report_language(record: dict) -> str:
    """Return the language the run's pages are written in (``report.language``, default en)."""
    return ((record.get("params") or {}).get("report") or {}).get("language") or "en"


def build_site(staging: Path, record: dict, steps, renderer: str = "auto") -> str:
    """Render the pages of the run in ``staging`` into ``staging/site``; return the renderer.

    Also prints the summary's PDF into the site; ``record["report"]`` says which renderer
    made the site and which engine the PDF (or why there is none). The banners,
    navigation and ``<html lang>`` follow the run's ``report.language``.
    """
    with in_language(report_language(record)):
        return _build_site(staging, record, steps, renderer)


def _build_site(staging: Path, record: dict, steps, renderer: str) -> str:
    chosen = choose_renderer(renderer)
    pages = collect_pages(staging / "executed", steps, record)
    target = staging / "site"
    if target.exists():
        shutil.rmtree(target)
    home = next(p for p in pages if p.filename == HOME_PAGE)
    pdf = board_pack(home if home.step == HOME_STEP else None, staging / "pdf")
    try:
        if chosen == "quarto":
            render_with_quarto(pages, staging / "quarto", target)
        else:
            render_with_nbconvert(pages, target)
    except RenderError:
        raise
    except Exception as exc:  # a renderer failure must not publish a half-built site
        raise RenderError(f"rendering with {chosen} failed: {type(exc).__name__}: {exc}") from exc
    if pdf.get("engine"):
        with atomic_path(target / SUMMARY_PDF) as tmp:
            shutil.copyfile(staging / "pdf" / SUMMARY_PDF, tmp)
    shutil.rmtree(staging / "pdf", ignore_errors=True)
    record.setdefault("report", {}).update(renderer=chosen, pdf=pdf)
    return chosen


# --- nbconvert ---------------------------------------------------------------------------

FOOTER = N_("cardfraud report · built from the executed notebooks of this run")
QUARTO_TITLE = N_("cardfraud: credit-card fraud report")  # _quarto.yml's website title

PAGE_CSS = """
body{margin:0;font-family:-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
color:#1f2933;background:#fafbfc;line-height:1.5}
nav{position:sticky;top:0;background:#102a43;padding:.5rem 1rem;display:flex;flex-wrap:wrap;
gap:.25rem 1rem;z-index:10}
nav a{color:#d9e2ec;text-decoration:none;padding:.2rem .4rem;border-radius:3px}
nav a.current{background:#334e68;color:#fff;font-weight:600}
nav span.brand{color:#fff;font-weight:700;margin-right:1rem}
main{max-width:1100px;margin:0 auto;padding:1rem 2rem 3rem;background:#fff}
img{max-width:100%;height:auto}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem;display:block;overflow-x:auto;max-width:100%}
th,td{border:1px solid #d9e2ec;padding:.25rem .6rem;text-align:left;vertical-align:top}
th{background:#f0f4f8}
.anchor-link{visibility:hidden;text-decoration:none;margin-left:.3rem}
h1:hover .anchor-link,h2:hover .anchor-link,h3:hover .anchor-link{visibility:visible}
pre{background:#f5f7fa;padding:.5rem;overflow-x:auto;font-size:.85rem}
.jp-InputArea,.input,.prompt,.jp-InputPrompt,.jp-OutputPrompt{display:none}
footer{color:#627d98;font-size:.8rem;margin-top:2rem;border-top:1px solid #d9e2ec;padding-top:.5rem}
"""


def nav_label(page: Page) -> str:
    """Short navigation label: the title before its colon; the home page is 'Summary'."""
    if page.step == HOME_STEP:
        return _("Summary")
    return page.title.split(":")[0].strip()


def navigation_html(pages: list[Page], current: Page) -> str:
    """Return the navigation bar, in step order, with the current page marked."""
    links = []
    for page in sorted(pages, key=lambda p: p.filename != HOME_PAGE):
        mark = ' class="current" aria-current="page"' if page is current else ""
        links.append(f'<a href="{page.filename}"{mark} title="{html.escape(page.title)}">'
                     f"{html.escape(nav_label(page))}</a>")
    return '<nav><span class="brand">cardfraud</span>' + "".join(links) + "</nav>"


RENDERED_WITH = N_("rendered with {renderer}")


def footer(renderer: str) -> str:
    """Return the footer line of every page: what the site is and what rendered it."""
    return f"{_(FOOTER)} · {fill(_(RENDERED_WITH), renderer=renderer)}"


def render_with_nbconvert(pages: list[Page], target: Path) -> None:
    """Write one self-contained HTML file per page into ``target``."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="basic", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    target.mkdir(parents=True, exist_ok=True)
    for page in pages:
        body, _resources = exporter.from_notebook_node(page.notebook)
        document = (
            f'<!DOCTYPE html>\n<html lang="{current_language()}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(page.title)} · cardfraud</title><style>{PAGE_CSS}</style>"
            f"</head><body>{navigation_html(pages, page)}<main>{body}"
            f"<footer>{html.escape(footer('nbconvert'))}</footer>"
            "</main></body></html>\n"
        )
        found = active_content(document)
        if found:  # escaping missed a string: refuse to publish a page that runs its script
            raise RenderError(f"{page.filename} would run script from the data or parameters "
                              f"({', '.join(sorted(set(found))[:3])}): nothing published")
        (target / page.filename).write_text(document, encoding="utf-8")


# --- Quarto ------------------------------------------------------------------------------

def quarto_project(pages: list[Page], template: Path | None = None,
                   version: str = "unknown") -> dict:
    """Return the ``_quarto.yml`` of a run: the template (the project's) with this run's pages."""
    from ..runner.project import quarto_template

    project = yaml.safe_load((template or quarto_template()).read_text(encoding="utf-8"))
    pages = sorted(pages, key=lambda p: p.filename != HOME_PAGE)
    sources = [quarto_source(p) for p in pages]
    project["project"]["render"] = sources
    project["project"]["output-dir"] = "_site"
    project["website"]["navbar"]["left"] = [{"href": s, "text": nav_label(p)}
                                            for s, p in zip(sources, pages, strict=True)]
    project["website"]["page-footer"] = footer(f"Quarto {version}")
    if current_language() != "en":  # <html lang> and Quarto's own words (search, contents)
        project["lang"] = current_language()
        project["website"]["title"] = _(project["website"]["title"])
    return project


def quarto_source(page: Page) -> str:
    """Return the notebook file name Quarto renders into ``page.filename``."""
    return page.filename.replace(".html", ".ipynb")


def render_with_quarto(pages: list[Page], workdir: Path, target: Path) -> None:
    """Render the pages as a Quarto website project (never executing them) into ``target``."""
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    for page in pages:
        nbformat.write(quarto_notebook(page.notebook), workdir / quarto_source(page))
    quarto = quarto_command() or "quarto"
    project = quarto_project(pages, version=quarto_version(quarto))
    (workdir / "_quarto.yml").write_text(yaml.safe_dump(project, sort_keys=False))
    done = subprocess.run([quarto, "render", str(workdir), "--no-execute"], capture_output=True,
                          text=True, env={**os.environ, "QUARTO_PYTHON": os.sys.executable})
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RenderError(f"quarto render failed ({done.returncode}): {last[0]}")
    remote = offline_problems(workdir / "_site")
    if remote:  # the site must open offline (a theme importing a web font would not)
        raise RenderError(f"Quarto's {remote[0]} from the network (check the theme in "
                          f"_quarto.yml): nothing published")
    shutil.move(str(workdir / "_site"), str(target))
    shutil.rmtree(workdir, ignore_errors=True)
