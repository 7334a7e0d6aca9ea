"""What a language's catalogues lack: ``python -m cardfraud translations --check``.

Two kinds of text reach a reader: the notebooks' markdown cells (catalogue per notebook,
:mod:`.notebook_translation`) and the package's strings marked with ``_("...")`` or
``N_("...")`` (one catalogue, :mod:`.translate`). For each, an entry is **missing** (no
translation), **stale** (a notebook cell whose English changed since it was translated) or
**unused** (a catalogue entry nothing asks for any more). The command prints each with the
English to translate and, for a cell, the hash to write under ``source:``; it exits 1 when
something is missing or stale.
"""

from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import nbformat

from .notebook_translation import markdown_cells, notebook_catalogue, source_hash
from .translate import DEFAULT_LANGUAGE, LANGUAGES, strings_catalogue

PACKAGE_DIR = Path(str(resources.files("cardfraud")))  # the package's own source files
MARKERS = {"_", "N_"}


@dataclass(frozen=True)
class Gap:
    """One text without a current translation: where it is, what kind, the English."""

    kind: str       # missing | stale | unused
    where: str      # notebook and cell id, or the module and line of the string
    english: str
    source: str = ""  # a cell's hash, to write under ``source:``


def marked_strings(package_dir: Path = PACKAGE_DIR) -> dict[str, list[str]]:
    """Return every literal passed to ``_`` or ``N_`` in the package, with where it is."""
    found: dict[str, list[str]] = {}
    for path in sorted(package_dir.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", None) in MARKERS
                    and node.args and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)):
                where = f"{path.relative_to(package_dir.parent)}:{node.lineno}"
                found.setdefault(node.args[0].value, []).append(where)
    return found


def string_gaps(language: str, package_dir: Path = PACKAGE_DIR) -> list[Gap]:
    """Return the marked strings without a translation in ``language``, and unused entries."""
    catalogue = strings_catalogue(language)
    marked = marked_strings(package_dir)
    gaps = [Gap("missing", places[0], text) for text, places in marked.items()
            if not str(catalogue.get(text) or "").strip()]
    gaps += [Gap("unused", "strings.yaml", text) for text in catalogue if text not in marked]
    return gaps


def notebook_gaps(notebooks: list[Path], language: str) -> list[Gap]:
    """Return the notebooks' markdown cells without a current translation, and unused entries."""
    gaps = []
    for path in notebooks:
        notebook = nbformat.read(str(path), as_version=4)
        catalogue = notebook_catalogue(path, language)
        ids = set()
        for cell in markdown_cells(notebook):
            ids.add(cell.get("id"))
            entry, digest = catalogue.get(cell.get("id")), source_hash(cell.source)
            where = f"{path.name} {cell.get('id')}"
            if entry is None or not entry.text.strip():
                gaps.append(Gap("missing", where, cell.source, digest))
            elif entry.source != digest:
                gaps.append(Gap("stale", where, cell.source, digest))
        gaps += [Gap("unused", f"{path.name} {cell_id}", "") for cell_id in catalogue
                 if cell_id not in ids]
    return gaps


def translation_gaps(language: str, notebooks: list[Path] | None = None) -> list[Gap]:
    """Return every gap of ``language``: the notebooks' cells, then the package's strings."""
    if notebooks is None:
        from ..runner.steps import discover_steps

        notebooks = [step.notebook for step in discover_steps()]
    return notebook_gaps(notebooks, language) + string_gaps(language)


def describe(gap: Gap) -> str:
    """Return a gap as the lines the command prints."""
    head = f"{gap.kind}: {gap.where}" + (f" (source: {gap.source})" if gap.source else "")
    return head + "".join(f"\n    {line}" for line in gap.english.splitlines())


def cli(argv: list[str] | None = None) -> int:
    """``translations --check``: list what is missing or stale; exit 1 when anything is."""
    parser = argparse.ArgumentParser(prog="python -m cardfraud translations",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="list missing, stale and unused translations (exit 1 on missing or stale)")
    parser.add_argument("--language", default="es",
                        choices=[x for x in LANGUAGES if x != DEFAULT_LANGUAGE])
    args = parser.parse_args(argv)
    gaps = translation_gaps(args.language)
    for gap in gaps:
        print(describe(gap))
    blocking = [g for g in gaps if g.kind != "unused"]
    counts = {kind: sum(g.kind == kind for g in gaps) for kind in ("missing", "stale", "unused")}
    print(f"{args.language}: " + ", ".join(f"{n} {kind}" for kind, n in counts.items()),
          file=sys.stderr if blocking else sys.stdout)
    return 1 if blocking else 0
