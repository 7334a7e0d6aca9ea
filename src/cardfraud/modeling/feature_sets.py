"""The feature sets every candidate is trained on: the base inputs, and the base inputs plus
each card's history.

``base`` is the seven inputs of the public card_transdata table (those the extract gives);
``base+history`` adds what each card's earlier purchases say (purchases in the last hour, day
and week, the amount against the card's mean, minutes and speed since the previous purchase,
a first purchase at the merchant, the hour, the merchant's fraud rate from confirmed labels:
:mod:`cardfraud.modeling.history`). The history needs ``card_id`` and ``timestamp``; without
them (the public table) only the base set runs, and :func:`history_unavailable_reason` says why.

A model's key is its candidate's name for the base set and ``<candidate>+history`` for the
other: cross-validation chooses among every (candidate, feature set) pair, as among candidates.
The history features are computed once, over every purchase, and handed on to the registry and
monitoring steps (``history_features.parquet``), which score a history champion with them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data.schema import CARD_ID, CONTINUOUS_FEATURES, TIMESTAMP, available_inputs
from ..report.locale_format import fill
from ..report.table_language import key_words, model_label
from ..report.table_words import CANDIDATE_NAMES
from ..report.translate import _, translate
from .history import HISTORY_FEATURES, card_history_features, history_columns

BASE = "base"
WITH_HISTORY = "base+history"
HISTORY_SUFFIX = "+history"
# inputs with long tails: logistic regression takes their log1p before scaling
LONG_TAILED = [*CONTINUOUS_FEATURES, "purchases_last_1h", "purchases_last_24h",
               "purchases_last_7d", "amount_to_card_mean_7d", "amount_to_card_mean_30d",
               "minutes_since_previous", "speed_from_previous_kmh"]


@dataclass
class FeatureSets:
    """The inputs of each feature set, why history is missing (None when it is there) and the
    history features of every purchase (same rows as the transactions; None without them)."""

    inputs: dict[str, list[str]]
    reason: str | None = None
    history: pd.DataFrame | None = None
    label_delay_days: float = 7.0

    def all_inputs(self) -> list[str]:
        """Every input some feature set uses, base first."""
        return list(dict.fromkeys(c for names in self.inputs.values() for c in names))


def candidate_key(candidate: str, feature_set: str) -> str:
    """Return a model's key: ``candidate`` (base set) or ``candidate+history``."""
    return candidate + (HISTORY_SUFFIX if feature_set == WITH_HISTORY else "")


def candidate_of(key: str) -> str:
    """Return the candidate of a model key (``hist_gradient_boosting+history`` gives
    ``hist_gradient_boosting``)."""
    return key.removesuffix(HISTORY_SUFFIX)


def feature_set_of(key: str) -> str:
    """Return the feature set of a model key."""
    return WITH_HISTORY if key.endswith(HISTORY_SUFFIX) else BASE


def feature_set_models(candidates: list[str], feature_sets: dict | None,
                       base: list[str]) -> dict[str, tuple[str, list[str]]]:
    """Return every model to fit: key -> (candidate, inputs), for each candidate and set.

    ``feature_sets`` None: the ``base`` inputs only. Keys are ordered candidate by candidate,
    base set first (a tie in cross-validation goes to the simpler model).
    """
    feature_sets = feature_sets or {BASE: list(base)}
    return {candidate_key(candidate, name): (candidate, list(inputs))
            for candidate in candidates for name, inputs in feature_sets.items()}


def model_in_words(key: str) -> str:
    """Return a model key for a reader: ``hist gradient boosting with the card's history``."""
    candidate = candidate_of(key)
    words = translate(CANDIDATE_NAMES.get(candidate) or candidate.replace("_", " "))
    if feature_set_of(key) != WITH_HISTORY:
        return words
    return fill(_("{model} with the card's history"), model=words)


def history_unavailable_reason(columns) -> str | None:
    """Say in one sentence why the purchases give no history features (None when they do):
    no card_id or timestamp column, or purchases where one is empty."""
    present = set(map(str, getattr(columns, "columns", columns)))
    if history_columns(list(present)):
        empty = {c: int(columns[c].isna().sum()) for c in (CARD_ID, TIMESTAMP)
                 if isinstance(columns, pd.DataFrame)}
        return empty_history_reason(empty)
    lacking = _(" and ").join(c for c in (CARD_ID, TIMESTAMP) if c not in present) or \
        _(" and ").join((CARD_ID, TIMESTAMP))
    return fill(_("Only the base inputs are used: the purchases have no {lacking}, so no card's "
                  "earlier purchases (its history) can be followed."), lacking=lacking)


def empty_history_reason(empty: dict[str, int]) -> str | None:
    """Say why there is no history when some purchases lack a card_id or timestamp
    (``empty``: column -> purchases where it is empty); None when none do."""
    if not any(empty.values()):
        return None
    shown = _(" and ").join(fill(_("{n:,} purchases have no {column}"), n=n, column=c)
                            for c, n in empty.items() if n)
    return fill(_("Only the base inputs are used: {shown}, so the card's earlier purchases "
                  "(its history) cannot be followed for every purchase."), shown=shown)


def feature_sets_for(transactions: pd.DataFrame, label_delay_days: float = 7.0) -> FeatureSets:
    """Return the feature sets the purchases allow, computing the history features once.

    ``label_delay_days``: days before a fraud label is known; the merchant's fraud rate uses
    only labels confirmed by then.
    """
    base = available_inputs(transactions)
    reason = history_unavailable_reason(transactions)
    if reason is not None:
        return FeatureSets({BASE: base}, reason, None, float(label_delay_days))
    history = card_history_features(transactions, label_delay_days)
    names = [c for c in HISTORY_FEATURES if c in history.columns]
    return FeatureSets({BASE: base, WITH_HISTORY: base + names}, None, history[names],
                       float(label_delay_days))


def with_history(transactions: pd.DataFrame, history: pd.DataFrame | None) -> pd.DataFrame:
    """Return the purchases with their history features as extra columns (no copy of the rest).

    Matched by position: ``history`` has one row per purchase, in the same order.
    """
    if history is None or not len(history.columns):
        return transactions
    if len(history) != len(transactions):
        raise ValueError(f"the history features have {len(history):,} rows but the purchases "
                         f"{len(transactions):,}: re-run the modeling step on the current data")
    frame = transactions.copy(deep=False)
    for column in history.columns:
        frame[column] = history[column].to_numpy(dtype="float64")
    return frame


def save_history_features(sets: FeatureSets, output_dir=None) -> None:
    """Write ``history_features.parquet``: one row per purchase (the order of
    transactions.parquet), one column per history feature (no columns without history)."""
    from ..runner.artifacts import artifact_path
    from ..runner.atomic_write import atomic_path
    from ..runner.contract import CARD_HISTORY

    history = sets.history if sets.history is not None else pd.DataFrame()
    with atomic_path(artifact_path(CARD_HISTORY, output_dir)) as tmp:
        history.reset_index(drop=True).to_parquet(tmp, index=False)


def read_history_features(output_dir=None) -> pd.DataFrame | None:
    """Read the modeling step's history features (None when the file is missing or empty)."""
    from ..runner.artifacts import artifact_path
    from ..runner.contract import CARD_HISTORY

    path = artifact_path(CARD_HISTORY, output_dir)
    if not path.is_file():
        return None
    history = pd.read_parquet(path)
    return history if len(history.columns) else None


def history_of_rows(frame: pd.DataFrame, rows, inputs: list[str], step: str,
                    output_dir=None) -> pd.DataFrame:
    """Return ``frame``, the purchases at positions ``rows`` of transactions.parquet, with
    their history features from the modeling step's hand-over (when it has them).

    Raises:
        StepInputsMissing: the model's ``inputs`` need a history feature the hand-over lacks.
    """
    from ..runner.artifacts import resolve_output_dir
    from ..runner.contract import CARD_HISTORY
    from ..runner.step_inputs import StepInputsMissing

    history = read_history_features(output_dir)
    if history is not None:
        frame = with_history(frame, history.iloc[np.asarray(rows)].set_axis(frame.index))
    lacking = [c for c in inputs if c not in frame]
    if lacking:
        raise StepInputsMissing(
            f"step '{step}' needs artifacts/{CARD_HISTORY.file} (written by the 'modeling' step)"
            f" for the model's inputs {', '.join(lacking)}, which it lacks in "
            f"{resolve_output_dir(output_dir)}: run 'modeling' first")
    return frame


def history_lift(comparison: pd.DataFrame, best: str, reason: str | None = None) -> str:
    """Say in plain words what the card's history changes on the test period.

    ``comparison``: the test comparison (one row per model key); ``best``: the chosen model.
    For the chosen model's candidate, its test PR-AUC and recall at the alert budget on the
    base set against base+history; ``reason`` when only the base set ran.
    """
    if reason is not None:
        return reason
    candidate = candidate_of(best)
    base, history = candidate, candidate_key(candidate, WITH_HISTORY)
    if base not in comparison.index or history not in comparison.index:
        return fill(_("{best} was trained on one feature set only: there is no lift to show."),
                    best=model_label(best))
    before, after = comparison.loc[base], comparison.loc[history]
    template = (_("With the card's history, {candidate}'s test PR-AUC rises from {ap_before:.2f} "
                  "to {ap_after:.2f} and its recall at the alert budget from {recall_before:.1%} "
                  "to {recall_after:.1%}. The chosen model is {best} ({inputs} inputs).")
                if after["average_precision"] >= before["average_precision"] else
                _("With the card's history, {candidate}'s test PR-AUC falls from {ap_before:.2f} "
                  "to {ap_after:.2f} and its recall at the alert budget from {recall_before:.1%} "
                  "to {recall_after:.1%}. The chosen model is {best} ({inputs} inputs)."))
    return fill(template, candidate=model_label(candidate), ap_before=before["average_precision"],
                ap_after=after["average_precision"], recall_before=before["recall_at_budget"],
                recall_after=after["recall_at_budget"], best=model_label(best),
                inputs=key_words(feature_set_of(best)))
