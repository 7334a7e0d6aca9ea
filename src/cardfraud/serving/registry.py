"""The model registry: the names it owns and who is champion now.

Model stages are deprecated in MLflow, so the live version is the one carrying the alias
``champion``; each newly registered version gets ``challenger``. This module holds those names
(model, aliases, tags) and reads the registry's state: the current champion, since when, every
version's aliases and the registry table. Registering is :mod:`.registration`, the champion rule
and its move at publish are :mod:`.promotion`, the step's results :mod:`.registry_report`.
"""

from __future__ import annotations

import warnings

import pandas as pd

with warnings.catch_warnings():  # tqdm warns "IProgress not found" when MLflow loads in Jupyter
    warnings.filterwarnings("ignore", message="IProgress not found")
    from mlflow.exceptions import MlflowException

from ..modeling.tracking import resolve_tracking_uri, tracking_client
from .names import (  # noqa: F401  (the registry's names, re-exported where they are used)
    CHALLENGER,
    CHAMPION,
    CHAMPION_SINCE_TAG,
    DEFAULT_MODEL_NAME,
    DEFAULT_MODEL_URI,
)


def registry_client(tracking_uri: str | None = None):
    """Return a client on the store ``tracking_uri`` (None: ``$MLFLOW_TRACKING_URI``, else the
    project's store; see :func:`cardfraud.modeling.tracking.resolve_tracking_uri`)."""
    return tracking_client(resolve_tracking_uri(tracking_uri))


def current_champion(model_name: str, tracking_uri: str | None = None) -> int | None:
    """Return the version number carrying the ``champion`` alias in the store, or None."""
    try:
        found = registry_client(tracking_uri).get_model_version_by_alias(model_name, CHAMPION)
    except MlflowException:
        return None
    return int(found.version)


def champion_since(model_name: str, tracking_uri: str | None = None) -> str | None:
    """When the current champion was promoted (UTC, ISO), from its tag; None without champion."""
    version = current_champion(model_name, tracking_uri)
    if version is None:
        return None
    tags = registry_client(tracking_uri).get_model_version(model_name, str(version)).tags
    return tags.get(CHAMPION_SINCE_TAG)


def version_aliases(model_name: str, tracking_uri: str | None = None) -> dict[int, list[str]]:
    """Return the aliases of each version that has some (none when the model does not exist)."""
    aliases: dict[int, list[str]] = {}
    try:
        found = registry_client(tracking_uri).get_registered_model(model_name).aliases
    except MlflowException:
        return aliases
    for alias, version in found.items():
        aliases.setdefault(int(version), []).append(alias)
    return {v: sorted(a) for v, a in aliases.items()}


def registry_table(model_name: str = DEFAULT_MODEL_NAME, champion_after: int | None = None,
                   tracking_uri: str | None = None) -> pd.DataFrame:
    """Return one row per registered version: aliases, date, model, test metrics, data.

    ``champion_after``: the version this run promotes; the alias it gets when the run
    publishes (and the one the current champion loses) are marked so.
    """
    aliases = pending_aliases(version_aliases(model_name, tracking_uri), champion_after)
    rows = []
    for found in registry_client(tracking_uri).search_model_versions(f"name = '{model_name}'"):
        tags = found.tags
        rows.append({
            "version": int(found.version), "aliases": ", ".join(aliases.get(int(found.version), [])),
            "registered": pd.Timestamp(found.creation_timestamp, unit="ms").floor("s"),
            "model": tags.get("model"), "threshold": _number(tags.get("threshold")),
            **{m: _number(tags.get(f"test_{m}"))
               for m in ("average_precision", "roc_auc", "recall", "precision")},
            "data": (tags.get("data_fingerprint") or "")[:19], "run_id": found.run_id})
    columns = ["version", "aliases", "registered", "model", "threshold", "average_precision",
               "roc_auc", "recall", "precision", "data", "run_id"]
    table = pd.DataFrame(rows, columns=columns)
    return table.sort_values("version", ascending=False).reset_index(drop=True)


def _number(text: str | None) -> float:
    """Return a tag as a float (NaN when absent)."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return float("nan")


def pending_aliases(aliases: dict[int, list[str]], champion_after: int | None,
                    ) -> dict[int, list[str]]:
    """Return the aliases with the champion move this run makes when it publishes."""
    current = next((v for v, names in aliases.items() if CHAMPION in names), None)
    if champion_after is None or champion_after == current:
        return aliases
    marked = {v: list(names) for v, names in aliases.items()}
    if current is not None:
        marked[current] = [f"{CHAMPION} until this run publishes" if a == CHAMPION else a
                           for a in marked[current]]
    marked[champion_after] = sorted([*marked.get(champion_after, []),
                                     f"{CHAMPION} when this run publishes"])
    return marked
