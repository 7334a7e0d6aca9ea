"""The reader's language: the package's user-facing strings in English or Spanish.

The package writes its text in English; what a reader sees (table headers, figure titles,
labels and legends, the summary's sentences, messages printed on a page) goes through
:func:`_`, which returns the text in the language in use. Spanish lives in one catalogue,
``translations/es/strings.yaml`` (English text -> Spanish text). A template keeps its fields:
``_("{n:,} purchases").format(n=...)`` or ``sentence(_("..."), ...)``; the numbers then follow
the language's format (:mod:`.locale_format`).

- :func:`_` marks a literal and translates it; :func:`N_` only marks a literal defined before
  the language is known (a dict of labels), translated where it is shown with :func:`translate`.
- :func:`use_language` sets the language for the rest of a notebook (each notebook calls it
  after its ``parameters`` cell with ``report.language``); :func:`in_language` for a block.

A string marked with :func:`_` or :func:`N_` without an entry in the catalogue is listed by
``python -m cardfraud translations --check`` and fails ``tests/unit/test_translations.py``.
The language is a module setting rather than a context variable: a Jupyter kernel may run
each cell in its own context, and the language must hold from one cell to the next.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import yaml

LANGUAGES = ("en", "es")
DEFAULT_LANGUAGE = "en"
# shipped with the package (package data), read where the package is installed
TRANSLATIONS_DIR = Path(str(resources.files("cardfraud.report") / "translations"))
STRINGS_FILE = "strings.yaml"

_language = DEFAULT_LANGUAGE


def check_language(language: str) -> str:
    """Return ``language`` when it is one the report is written in, else raise ValueError."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown report language {language!r} (choose from "
                         f"{', '.join(LANGUAGES)})")
    return language


def use_language(language: str | None) -> None:
    """Write what follows (tables, figures, sentences) in ``language`` (None: English)."""
    global _language
    _language = check_language(language or DEFAULT_LANGUAGE)
    _show_frames_in(_language)


def _show_frames_in(language: str) -> None:
    """In a notebook, show every DataFrame a cell returns in ``language`` (English: as pandas does)."""
    import sys

    if "IPython" not in sys.modules:  # a command or a test: nothing is displayed
        return
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return
    import pandas as pd

    formatter = shell.display_formatter.formatters["text/html"]
    if language == DEFAULT_LANGUAGE:
        formatter.pop(pd.DataFrame, None)
    else:
        formatter.for_type(pd.DataFrame, _frame_html)


def _frame_html(frame) -> str:
    """A DataFrame's HTML in the language in use; pandas' own when it cannot be translated."""
    from .table_language import frame_in_language

    try:
        return frame_in_language(frame)._repr_html_()
    except Exception:  # a frame shape the translation does not handle: shown as it is
        return frame._repr_html_()


def current_language() -> str:
    """Return the language in use: ``en`` unless :func:`use_language` said otherwise."""
    return _language


@contextmanager
def in_language(language: str) -> Iterator[None]:
    """Use ``language`` inside the block, then the one used before."""
    before = current_language()
    use_language(language)
    try:
        yield
    finally:
        use_language(before)


@functools.cache
def strings_catalogue(language: str) -> dict[str, str]:
    """Return the catalogue of a language: English text -> translated text."""
    path = TRANSLATIONS_DIR / check_language(language) / STRINGS_FILE
    if language == DEFAULT_LANGUAGE or not path.is_file():
        return {}
    return dict(yaml.safe_load(path.read_text(encoding="utf-8")) or {})


def translate(text: str, language: str | None = None) -> str:
    """Return ``text`` in ``language`` (default: the one in use); English when not catalogued."""
    language = language or current_language()
    if language == DEFAULT_LANGUAGE or not isinstance(text, str):
        return text
    return strings_catalogue(language).get(text) or text


def _(text: str) -> str:
    """Return the user-facing ``text`` in the language in use (marks it for the catalogue)."""
    return translate(text)


def N_(text: str) -> str:  # noqa: N802 - gettext's name for a marker that does not translate
    """Return ``text`` unchanged: marks a label for the catalogue, translated where shown."""
    return text
