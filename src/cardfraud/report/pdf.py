"""The board pack: the summary page as an A4 PDF of one to two pages, beside the site.

Made with Quarto's PDF engine where Quarto has one (typst, or LaTeX), else printed by headless
Chromium from a print version of the page (A4, margins, no navigation, figures kept whole);
when neither can, there is no PDF and the home page says why in one line. The PDF is written
through :func:`~cardfraud.runner.atomic_write.atomic_path` into the staging site, so it is
published with the site or not at all.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import yaml

from ..runner.atomic_write import atomic_path
from ..runner.contract import SUMMARY_PDF
from .locale_format import fill
from .markup import sentence
from .quarto_site import quarto_command, quarto_notebook, quarto_pdf_format
from .translate import N_, _, current_language

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PRINT_SECONDS = 180
NO_ENGINE = N_("neither Quarto's PDF engine (typst or LaTeX) nor Chromium is installed")

PRINT_CSS = """
@page{size:A4;margin:14mm 15mm}
body{margin:0;font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;font-size:9.5pt;
line-height:1.35;color:#1f2933}
h1{font-size:16pt;margin:0 0 .3em}
h2{font-size:11.5pt;margin:.8em 0 .2em;color:#102a43;break-after:avoid}
p,ol,ul{margin:.2em 0 .4em}
li{break-inside:avoid}
img{max-width:100%;max-height:70mm;display:block;margin:.3em auto;break-inside:avoid}
table{border-collapse:collapse;font-size:8.5pt;break-inside:avoid}
th,td{border:1px solid #d9e2ec;padding:.1rem .4rem;text-align:left}
nav,.anchor-link,.jp-InputArea,.input,.prompt,.jp-InputPrompt,.jp-OutputPrompt{display:none}
"""
# Quarto's PDF: A4, the same margins; typst and LaTeX read different keys
QUARTO_PDF_OPTIONS = {
    "typst": {"papersize": "a4", "margin": {"x": "15mm", "y": "14mm"}, "fontsize": "9.5pt"},
    "pdf": {"papersize": "a4", "geometry": ["margin=15mm"], "fontsize": "10pt"},
}


def chromium_command() -> str | None:
    """Return Chromium (or Chrome) on PATH, else None."""
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


def print_document(notebook: nbformat.NotebookNode, title: str) -> str:
    """Return the page as one HTML document for printing: figures embedded, links as text."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="basic", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    body = exporter.from_notebook_node(notebook)[0]
    # a link in a printed page leads nowhere (and Chromium would make it an absolute file path);
    # the headings' ¶ anchors go altogether
    body = re.sub(r'<a\b[^>]*class="anchor-link"[^>]*>.*?</a>', "", body, flags=re.DOTALL)
    body = re.sub(r"<a\b[^>]*>", "<span>", body).replace("</a>", "</span>")
    return (f'<!DOCTYPE html>\n<html lang="{current_language()}"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title><style>{PRINT_CSS}</style></head>"
            f"<body><main>{body}</main></body></html>\n")


def print_with_chromium(chromium: str, document: Path, target: Path, workdir: Path) -> None:
    """Print ``document`` to the PDF ``target`` with headless Chromium (A4 from the CSS)."""
    with atomic_path(target) as tmp:
        done = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update",
             f"--user-data-dir={workdir / 'chromium-profile'}", "--no-pdf-header-footer",
             f"--print-to-pdf={tmp}", document.as_uri()],
            capture_output=True, text=True, timeout=PRINT_SECONDS)
        if done.returncode != 0 or not tmp.is_file() or tmp.read_bytes()[:5] != b"%PDF-":
            last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise RuntimeError(f"chromium exited {done.returncode}: {last[0][:200]}")


def render_with_quarto_pdf(quarto: str, pdf_format: str, notebook: nbformat.NotebookNode,
                           target: Path, workdir: Path) -> None:
    """Render the page to the PDF ``target`` with ``quarto render --to typst|pdf``."""
    page = quarto_notebook(notebook)
    front = yaml.safe_dump({"format": {pdf_format: QUARTO_PDF_OPTIONS[pdf_format]},
                            "execute": {"enabled": False}}, sort_keys=False)
    page.cells.insert(0, nbformat.v4.new_raw_cell(f"---\n{front}---"))
    source = workdir / "summary.ipynb"
    nbformat.write(page, source)
    done = subprocess.run([quarto, "render", str(source), "--to", pdf_format, "--no-execute"],
                          capture_output=True, text=True, timeout=PRINT_SECONDS, cwd=workdir)
    made = source.with_suffix(".pdf")
    if done.returncode != 0 or not made.is_file():
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"quarto render --to {pdf_format} exited {done.returncode}: "
                           f"{last[0][:200]}")
    with atomic_path(target) as tmp:
        shutil.copyfile(made, tmp)


def summary_pdf(notebook: nbformat.NotebookNode, title: str, target: Path,
                workdir: Path) -> dict:
    """Write the summary page as the PDF ``target``; return how (``engine``) or why not.

    Tries Quarto's PDF engine, then Chromium; returns ``{"engine": None, "reason": ...}``
    when neither made it (the run goes on: the home page says so). ``tried`` lists the
    engines that failed and why.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    tried = []
    quarto = quarto_command()
    if quarto:
        pdf_format, why = quarto_pdf_format(quarto)
        if pdf_format:
            try:
                render_with_quarto_pdf(quarto, pdf_format, notebook, target, workdir)
                return {"engine": f"quarto ({pdf_format})", "file": target.name}
            except (OSError, subprocess.SubprocessError, RuntimeError) as exc:
                tried.append(f"quarto: {exc}")
        else:
            tried.append(why)
    chromium = chromium_command()
    if chromium:
        document = workdir / "summary_print.html"
        document.write_text(print_document(notebook, title), encoding="utf-8")
        try:
            print_with_chromium(chromium, document, target, workdir)
            return {"engine": "chromium", "file": target.name, "tried": tried}
        except (OSError, subprocess.SubprocessError, RuntimeError) as exc:
            tried.append(f"chromium: {exc}")
    if not (quarto or chromium):
        reason = NO_ENGINE
    else:
        reason = "; ".join(tried + ([] if chromium else ["Chromium is not installed"]))
    return {"engine": None, "reason": reason, "tried": tried}


def pdf_note(pdf: dict) -> str:
    """Return the home page's one line: the link to the PDF, or why there is none."""
    if pdf.get("engine"):
        return fill(_("*[This summary as a PDF for the board (A4)]({file})*"), file=SUMMARY_PDF)
    return sentence(_("*No PDF of this summary: {reason}.*"), reason=_(pdf["reason"]))


def board_pack(home, workdir: Path) -> dict:
    """Print the summary page (a site ``Page``) as a PDF in ``workdir``; put its link on it.

    The page gets one line after its run banner: the link to the PDF, or why there is none.
    Returns what :func:`summary_pdf` returns (no PDF when ``home`` is None: no summary step).
    """
    if home is None:
        return {"engine": None, "reason": N_("the summary step did not run")}
    pdf = summary_pdf(home.notebook, home.title, workdir / SUMMARY_PDF, workdir)
    cells = home.notebook.cells
    after_banner = 2 if cells and cells[0].cell_type == "markdown" else 1
    cells.insert(after_banner, nbformat.v4.new_markdown_cell(pdf_note(pdf)))
    return pdf
