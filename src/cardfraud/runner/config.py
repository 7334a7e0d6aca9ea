"""Read params/*.yaml, apply ``--set section.key=value`` overrides, check every key.

Checks run before any notebook starts: a missing file, bad YAML, an unknown section or key,
or a value of the wrong type or range (:func:`.parameter_rules.parameter_rules`, one rule per parameter)
raises :class:`ConfigError` with one clear line. Importing this module has no side effects.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

COMMON_SECTION = "common"
# keys every notebook may declare, like common's: how the pages are written (report.language)
REPORT_SECTION = "report"
SHARED_SECTIONS = (COMMON_SECTION, REPORT_SECTION)


class ConfigError(ValueError):
    """A params file or override that cannot be used; the message says what to fix."""


OVERLAY_KEY = "overlays"  # a params file that overlays another names it here


def read_params(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict:
    """Return the params mapping of a YAML file, or raise ConfigError naming the problem.

    A file whose top-level ``overlays: default.yaml`` names another file (beside it) holds
    only the keys it changes: they are merged, section by section and key by key, over that
    file's params.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"params file not found: {path}")
    if path.resolve() in _seen:
        raise ConfigError(f"{path}: '{OVERLAY_KEY}' loops back to {path.name}")
    params = _read_yaml_mapping(path)
    base = params.pop(OVERLAY_KEY, None)
    if base is not None and not isinstance(base, str):
        raise ConfigError(f"{path}: '{OVERLAY_KEY}' must name a params file, e.g. default.yaml")
    if not all(isinstance(v, dict) for v in params.values()):
        raise ConfigError(f"{path}: expected one mapping per section (section: {{key: value}})")
    if base is None:
        return params
    return overlay(read_params(path.parent / base, (*_seen, path.resolve())), params)


def _read_yaml_mapping(path: Path) -> dict:
    """Return a YAML file's top-level mapping, or raise ConfigError naming the line."""
    try:
        params = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}: invalid YAML{where}: {problem}") from None
    if not isinstance(params, dict):
        raise ConfigError(f"{path}: expected one mapping per section (section: {{key: value}})")
    return params


def overlay(base: dict, changes: dict) -> dict:
    """Return ``base`` with ``changes`` merged in: mappings key by key, other values replaced."""
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = overlay(merged[key], value)
        else:
            merged[key] = value
    return merged


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``section.key[.sub]=value`` into the key path and the YAML-parsed value."""
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected section.key=value")
    dotted, raw = text.split("=", 1)
    keys = [k for k in dotted.strip().split(".") if k]
    if len(keys) < 2:
        raise ConfigError(f"--set {text!r}: expected section.key=value (e.g. load.path=data.csv)")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    return keys, value


def apply_overrides(
    params: dict, overrides: list[str], allowed: dict[str, set[str]]
) -> dict:
    """Return a copy of ``params`` with the overrides applied.

    Args:
        params: the sections read from the YAML file.
        overrides: ``section.key=value`` strings from ``--set``.
        allowed: per section, the parameter names its notebook declares (any top-level key
            there may be set); nested keys must already exist in the file.
    """
    resolved = copy.deepcopy(params)
    for text in overrides:
        keys, value = parse_override(text)
        section, key = keys[0], keys[1]
        if section not in allowed:
            raise ConfigError(
                f"--set {text!r}: unknown section {section!r} (sections: {', '.join(sorted(allowed))})"
            )
        if key not in allowed[section] and key not in resolved.get(section, {}):
            raise ConfigError(
                f"--set {text!r}: unknown key {key!r} in section {section!r} "
                f"(keys: {', '.join(sorted(allowed[section]))})"
            )
        node = resolved.setdefault(section, {})
        for depth, part in enumerate(keys[1:-1], start=2):
            if not isinstance(node.get(part), dict):
                raise ConfigError(
                    f"--set {text!r}: {'.'.join(keys[:depth])!r} is not a mapping in the params file"
                )
            node = node[part]
        if len(keys) > 2 and keys[-1] not in node:
            raise ConfigError(
                f"--set {text!r}: unknown key {'.'.join(keys)!r} (keys there: {', '.join(sorted(node))})"
            )
        node[keys[-1]] = value
    return resolved


def check_sections(params: dict, allowed: dict[str, set[str]], source: str) -> None:
    """Raise when the file has a section or key that no notebook declares."""
    for section, values in params.items():
        if section not in allowed:
            raise ConfigError(
                f"{source}: unknown section {section!r} (sections: {', '.join(sorted(allowed))})"
            )
        if section == COMMON_SECTION:
            continue
        unknown = sorted(set(values) - allowed[section])
        if unknown:
            raise ConfigError(
                f"{source}: section {section!r} has key(s) {', '.join(unknown)} that its notebook "
                f"does not declare (keys: {', '.join(sorted(allowed[section]))})"
            )


def step_parameters(params: dict, step: str, declared: set[str]) -> dict:
    """Return the notebook parameters of a step: its section plus the common and report keys
    it declares."""
    shared = {k: v for section in SHARED_SECTIONS for k, v in params.get(section, {}).items()
              if k in declared}
    return {**shared, **params.get(step, {})}


# --------------------------------------------------------------------------- parameter types
