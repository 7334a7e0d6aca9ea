"""The notebooks' narrative in the reader's language, applied when a run executes a notebook.

The notebooks keep one narrative, in English. A language's translation of a notebook is one
YAML file, ``translations/<language>/notebooks/<notebook stem>.yaml``, keyed by the id of each
markdown cell (nbformat 4.5 cell ids)::

    cell-04:
      source: 3f2a9c0d1b7e   # hash of the English text this translates (source_hash)
      es: |-
        ## Balance de clases
        ...

When the English of a cell changes, its hash no longer matches and the entry is stale: the
run then shows the English cell, and ``python -m cardfraud translations --check`` (and
``tests/unit/test_translations.py``) names it with its new hash and text.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml

from .translate import DEFAULT_LANGUAGE, TRANSLATIONS_DIR, check_language

HASH_LENGTH = 12


@dataclass(frozen=True)
class CellTranslation:
    """What a catalogue says of one markdown cell: the hash of its English and its translation."""

    source: str
    text: str


def source_hash(text: str) -> str:
    """Return the short SHA-256 of a cell's English text (what a translation was made from)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:HASH_LENGTH]


def catalogue_path(notebook: str | Path, language: str) -> Path:
    """Return the catalogue file of a notebook (a path or its stem) in ``language``."""
    return TRANSLATIONS_DIR / check_language(language) / "notebooks" / f"{Path(notebook).stem}.yaml"


@functools.cache
def _read_catalogue(path: Path, language: str) -> dict[str, CellTranslation]:
    if not path.is_file():
        return {}
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(cell_id): CellTranslation(str(entry.get("source", "")), str(entry.get(language) or ""))
            for cell_id, entry in entries.items()}


def notebook_catalogue(notebook: str | Path, language: str) -> dict[str, CellTranslation]:
    """Return a notebook's translations in ``language``, keyed by markdown cell id."""
    return _read_catalogue(catalogue_path(notebook, language), language)


def markdown_cells(notebook: nbformat.NotebookNode) -> list:
    """Return the notebook's markdown cells (each with its ``id``)."""
    return [cell for cell in notebook.cells if cell.cell_type == "markdown"]


def cell_translation(cell, catalogue: dict[str, CellTranslation]) -> str | None:
    """Return the translation of a markdown cell, or None when missing or stale."""
    entry = catalogue.get(cell.get("id"))
    if entry is None or not entry.text.strip() or entry.source != source_hash(cell.source):
        return None
    return entry.text


def translated_notebook(path: str | Path, language: str) -> tuple[nbformat.NotebookNode, list[str]]:
    """Return the notebook with its markdown in ``language``, and the ids left in English.

    A cell without a current translation (missing or stale) keeps its English text.
    """
    notebook = nbformat.read(str(path), as_version=4)
    if language == DEFAULT_LANGUAGE:
        return notebook, []
    catalogue = notebook_catalogue(path, language)
    untranslated = []
    for cell in markdown_cells(notebook):
        text = cell_translation(cell, catalogue)
        if text is None:
            untranslated.append(cell.get("id", "?"))
        else:
            cell.source = text
    notebook.metadata["cardfraud"] = {"report_language": language}
    return notebook, untranslated
