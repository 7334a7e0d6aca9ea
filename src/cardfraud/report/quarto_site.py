"""Quarto for the site: where the command is, which PDF engine it has, offline pages.

The site must open from disk with no network: Quarto's pages embed their resources
(``embed-resources`` in ``_quarto.yml``: module scripts opened from ``file://`` would be
blocked), use a theme that imports no web font, and get the notebooks' HTML outputs (pandas
tables) as raw HTML blocks, since an HTML output makes Quarto load require.js and jQuery
from a CDN. :func:`remote_resources` is the last check of a finished page.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat

QUARTO = "quarto"
TEX_ENGINES = ("xelatex", "lualatex", "pdflatex")
PROBE_SECONDS = 60
_REMOTE = re.compile(r"^\s*(https?:|wss?:|ftp:|//)", re.IGNORECASE)
_CSS_REMOTE = re.compile(r"(?:@import\s+|url\()\s*['\"]?\s*((?:https?:)?//[^'\")\s]+)",
                         re.IGNORECASE)
# attributes by which a page loads something when it opens (links to follow are not loads)
_LOADING_ATTRIBUTES = {"script": ("src",), "img": ("src", "srcset"), "iframe": ("src",),
                       "link": ("href",), "source": ("src", "srcset"), "video": ("src", "poster"),
                       "audio": ("src",), "embed": ("src",), "object": ("data",)}


def quarto_command() -> str | None:
    """Return the ``quarto`` to run: on PATH, else beside this Python (``make report``'s venv)."""
    found = shutil.which(QUARTO)
    if found:
        return found
    beside = Path(sys.executable).parent / QUARTO
    return str(beside) if beside.is_file() else None


def quarto_version(command: str) -> str:
    """Return ``quarto --version`` (e.g. ``1.7.34``), or ``unknown``."""
    try:
        done = subprocess.run([command, "--version"], capture_output=True, text=True,
                              timeout=PROBE_SECONDS)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip() or "unknown"


def quarto_pdf_format(command: str) -> tuple[str | None, str]:
    """Return (Quarto's PDF format, why) : ``typst`` when its typst runs, ``pdf`` with LaTeX.

    Returns (None, why not) when Quarto has neither: then the PDF is printed another way.
    """
    try:
        done = subprocess.run([command, "typst", "--version"], capture_output=True, text=True,
                              timeout=PROBE_SECONDS)
        if done.returncode == 0:
            return "typst", "Quarto's typst"
    except (OSError, subprocess.SubprocessError):
        pass
    tex = next((name for name in TEX_ENGINES if shutil.which(name)), None)
    if tex:
        return "pdf", f"Quarto with {tex}"
    return None, "Quarto has no PDF engine (no typst, no LaTeX)"


def raw_html_block(text: str) -> str:
    """Return ``text`` as a pandoc raw HTML block, fenced longer than any backtick run in it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{{=html}}\n{text}\n{fence}"


def quarto_notebook(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return a copy whose HTML outputs are raw HTML markdown (no CDN script from Quarto)."""
    page = copy.deepcopy(notebook)
    for cell in page.cells:
        for output in cell.get("outputs", []):
            data = output.get("data")
            if data and "text/html" in data:
                html_text = data.pop("text/html")
                html_text = "".join(html_text) if isinstance(html_text, list) else html_text
                data.pop("text/markdown", None)
                data["text/markdown"] = raw_html_block(html_text)
    return page


class _ResourceFinder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self._in_style = tag == "style"
        for name, value in attrs:
            if name == "style":
                self.found += _CSS_REMOTE.findall(value or "")
            elif name in _LOADING_ATTRIBUTES.get(tag, ()) and _REMOTE.match(value or ""):
                self.found.append(value.strip())

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.found += _CSS_REMOTE.findall(data)


def remote_resources(page: str) -> list[str]:
    """Return the URLs off the machine that an HTML page loads when it opens (CSS included)."""
    finder = _ResourceFinder()
    finder.feed(page)
    finder.close()
    return finder.found


def offline_problems(site: Path) -> list[str]:
    """Return ``<page> loads <url>`` for every page of ``site`` that loads from the network."""
    problems = []
    for page in sorted(site.glob("*.html")):
        for url in remote_resources(page.read_text(encoding="utf-8", errors="replace")):
            problems.append(f"{page.name} loads {url}")
    return problems
