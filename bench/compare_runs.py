#!/usr/bin/env python
"""Print every difference between two run records (``run.json``), ignoring what changes from
run to run by design: times, ids, paths and timestamps.

    .venv/bin/python bench/compare_runs.py before/run.json after/run.json [--tolerance 1e-9]

Ignored: keys that hold times (``seconds``, ``*_seconds``, ``*_at``, ``champion_since``), ids
(``run_id``, ``*_run_id``, ``experiment_id``, ``git_commit``, the candidates' MLflow run ids),
the run's own output dir and tracking store (and every path under them), MLflow ids inside
values (``runs:/<id>/...``, ``models:/m-<id>``) and ISO timestamps inside sentences. Numbers
are equal within ``--tolerance`` (relative, and absolute near zero). Exit 0 when the records
agree, 1 when they differ (each difference printed as ``path: A != B``), 2 on a bad file.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path

IGNORED_KEYS = re.compile(r"(^|_)(seconds|at|since|run_id|runs|experiment_id|model_id)$|"
                          r"^(git_commit|output_dir|params_file|tracking_uri)$")
MLFLOW_ID = re.compile(r"\b(m-)?[0-9a-f]{32}\b")
RUN_ID = re.compile(r"\b\d{8}T\d{6}Z-[0-9a-f]{4}\b")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)?")


def read_record(path: str) -> dict:
    """Return a run record, or raise ValueError naming the file and what is wrong."""
    try:
        record = json.loads(Path(path).read_text())
    except OSError as exc:
        raise ValueError(f"{path}: cannot read ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(record, dict):
        raise ValueError(f"{path}: not a run record (a JSON object)")
    return record


def run_places(record: dict) -> list[tuple[str, str]]:
    """Return (text, placeholder) for the run's own output dir and tracking store."""
    places = []
    store = str(record.get("params", {}).get("common", {}).get("tracking_uri") or "")
    if store.startswith("sqlite:///"):
        places.append((str(Path(store[len("sqlite:///"):]).parent), "<store>"))
    if record.get("output_dir"):
        places.append((str(record["output_dir"]), "<output>"))
    return sorted(places, key=lambda p: -len(p[0]))  # the longest path first


def normalized(text: str, places: list[tuple[str, str]]) -> str:
    """Return a text with the run's paths, MLflow ids, run ids and timestamps replaced."""
    for place, name in places:
        text = text.replace(place, name)
    text = RUN_ID.sub("<run>", MLFLOW_ID.sub("<id>", text))
    return TIMESTAMP.sub("<time>", text)


class Rules:
    """What a comparison skips and how close numbers must be: ``ignored`` (a pattern of the
    dotted paths skipped) and ``tolerances`` ((pattern of paths, tolerance), first match
    wins; else ``tolerance``)."""

    def __init__(self, tolerance: float = 1e-9, ignored: re.Pattern | None = None,
                 tolerances: tuple = ()):
        self.tolerance, self.ignored, self.tolerances = tolerance, ignored, tolerances

    def tolerance_at(self, path: str) -> float:
        """The tolerance of the number at ``path``."""
        return next((tol for pattern, tol in self.tolerances if pattern.search(path)),
                    self.tolerance)


def differences(a, b, places_a, places_b, tolerance: float | Rules, path: str = "") -> list[str]:
    """Return one line per difference between two JSON values (ignored keys skipped)."""
    rules = tolerance if isinstance(tolerance, Rules) else Rules(tolerance)
    if isinstance(a, dict) and isinstance(b, dict):
        found = []
        for key in sorted(set(a) | set(b), key=str):
            where = f"{path}.{key}" if path else str(key)
            if IGNORED_KEYS.search(str(key)) or (rules.ignored and rules.ignored.search(where)):
                continue
            if key not in a or key not in b:
                side = "only in B" if key not in a else "only in A"
                found.append(f"{where}: {side} ({_shown(a.get(key, b.get(key)), 80)})")
                continue
            found += differences(a[key], b[key], places_a, places_b, rules, where)
        return found
    if isinstance(a, list) and isinstance(b, list):
        found = [] if len(a) == len(b) else [f"{path}: {len(a)} items != {len(b)} items"]
        for index, (x, y) in enumerate(zip(a, b, strict=False)):  # extra items: said above
            found += differences(x, y, places_a, places_b, rules, f"{path}[{index}]")
        return found
    if _is_number(a) and _is_number(b):
        tol = rules.tolerance_at(path)
        same = (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=tol, abs_tol=tol)
        return [] if same else [f"{path}: {a!r} != {b!r}"]
    if isinstance(a, str) and isinstance(b, str):
        a, b = normalized(a, places_a), normalized(b, places_b)
    return [] if a == b else [f"{path}: {_shown(a)} != {_shown(b)}"]


def _shown(value, width: int = 200) -> str:
    """Return a value as JSON text, cut to ``width`` characters."""
    return json.dumps(value, ensure_ascii=False)[:width]


def _is_number(value) -> bool:
    """True for JSON numbers (not booleans)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def compare_records(a: dict, b: dict, tolerance: float | Rules = 1e-9) -> list[str]:
    """Return every difference between two run records beyond times, ids and paths."""
    return differences(a, b, run_places(a), run_places(b), tolerance)


def main(argv: list[str] | None = None) -> int:
    """Compare two run records; print the differences; return 0 (same), 1 (differ) or 2."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", help="the first run.json (A)")
    parser.add_argument("b", help="the second run.json (B)")
    parser.add_argument("--tolerance", type=float, default=1e-9,
                        help="relative (and absolute) tolerance for numbers (default 1e-9)")
    args = parser.parse_args(argv)
    try:
        a, b = read_record(args.a), read_record(args.b)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    found = compare_records(a, b, args.tolerance)
    for line in found:
        print(line)
    print(f"{len(found)} difference(s) between {args.a} (A) and {args.b} (B) beyond times, "
          f"ids and paths (tolerance {args.tolerance:g})" if found else
          f"no difference between {args.a} and {args.b} beyond times, ids and paths "
          f"(tolerance {args.tolerance:g})")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
