"""Scoring with a history model: the caller computes the card-history features (issue 15).

A history model's inputs are the base inputs plus card-history features
(:data:`cardfraud.modeling.history.HISTORY_FEATURES`; its MLflow signature lists them). The
model never sees a card's earlier purchases: whoever scores computes the features with the
package's own function (:func:`cardfraud.modeling.history.history_features_for`), so batch
scoring, a REST caller and training compute them the same way.

- ``score --history FILE`` computes them for the input purchases from the cards' earlier
  purchases in FILE (CSV or Parquet: ``card_id``, ``timestamp`` and the columns the features
  need; labels optional; it may be the whole extract, new purchases included, when both files
  have ``transaction_id``) and scores;
- ``history-features --input FILE --history FILE --output FILE [--model URI]`` writes the
  input purchases with the features, the columns a REST request to ``mlflow models serve``
  carries (with ``--model``: that model's history inputs, at the label delay it was trained
  with, ``label_delay_days`` in its metadata, as ``score --history`` uses);
- an input that already carries the model's history columns is scored as it is.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.checks import (
    VALUE_BOUNDS,
    DataValidationError,
    check_bounds,
    require_columns,
    rows_text,
    to_timestamps,
)
from ..data.cleaning import missing_values_error, to_number
from ..data.files import read_transactions
from ..data.schema import CARD_ID, CONTEXT_NUMBERS, TARGET, TIMESTAMP, TRANSACTION_ID
from ..modeling.history import (
    FEATURE_NEEDS,
    HISTORY_FEATURES,
    history_columns,
    history_features_for,
)

DEFAULT_LABEL_DELAY_DAYS = 7.0
LABEL_DELAY_KEY = "label_delay_days"  # in a history model's MLflow metadata, like its threshold


def history_inputs(inputs: list[str]) -> list[str]:
    """Return the model inputs that are card-history features."""
    return [name for name in inputs if name in HISTORY_FEATURES]


def model_label_delay(model) -> float:
    """Return the label delay a history model was trained with (its MLflow metadata), else 7."""
    metadata = getattr(getattr(model, "metadata", None), "metadata", None) or {}
    return float(metadata.get(LABEL_DELAY_KEY, DEFAULT_LABEL_DELAY_DAYS))


def refuse_without_history(purchases: pd.DataFrame, source: str, inputs: list[str]) -> None:
    """Raise when the model uses history features the purchases lack (no ``--history``)."""
    lacking = [name for name in history_inputs(inputs) if name not in purchases.columns]
    if lacking:
        raise DataValidationError(
            f"{source}: the model uses card-history features the file lacks "
            f"({', '.join(lacking)}); pass --history FILE (the cards' earlier purchases) to "
            f"compute them")


def needed_columns(features: list[str], labels: bool) -> list[str]:
    """Return the columns the features need (``labels``: with the fraud label, for history)."""
    needed = [CARD_ID, TIMESTAMP]
    for name in features:
        needed += [c for c in FEATURE_NEEDS[name] if c not in needed and (labels or c != TARGET)]
    return needed


def check_history_purchases(frame: pd.DataFrame, source: str, columns: list[str],
                            ) -> pd.DataFrame:
    """Return the columns the history features need, validated like any extract.

    Times, amounts and places are read and range-checked by the load step's rules; a card or
    a time may not be empty; a fraud label, when given, is 0, 1 or empty (unknown).

    Raises:
        DataValidationError: one line naming the file, the column and the rows.
    """
    require_columns(frame, columns, source, hint="needed for the card-history features; ")
    labels = frame[TARGET] if TARGET in columns else None
    clean = frame[[c for c in columns if c != TARGET]].copy()
    for column in [c for c in CONTEXT_NUMBERS if c in clean.columns]:
        clean[column], _ = to_number(clean[column], source, frame.attrs.get("decimal", "."))
        check_bounds(clean[column], source, VALUE_BOUNDS[column])
    clean[TIMESTAMP], _ = to_timestamps(clean[TIMESTAMP], source)
    error = missing_values_error(clean, [CARD_ID, TIMESTAMP], source,
                                 "; every purchase needs a card and a time for its history")
    if error:
        raise error
    if labels is not None:
        numbers = pd.to_numeric(labels, errors="coerce")
        bad = (labels.notna() & ~numbers.isin([0, 1])).to_numpy()
        if bad.any():
            example = labels.iloc[np.flatnonzero(bad)[0]]
            raise DataValidationError(
                f"{source}: column '{TARGET}' must be 0, 1 or empty (unknown) but has "
                f"{example if not isinstance(example, str) else repr(example)} at "
                f"{rows_text(np.flatnonzero(bad))}")
        clean[TARGET] = numbers.to_numpy(dtype="float64")
    return clean


def with_history_features(purchases: pd.DataFrame, source: str, history: pd.DataFrame,
                          history_source: str, features: list[str] | None = None,
                          label_delay_days: float = DEFAULT_LABEL_DELAY_DAYS) -> pd.DataFrame:
    """Return the purchases with their card-history features appended (computed from the
    earlier purchases in ``history``).

    ``features``: the ones to compute (a model's history inputs); None = every feature both
    files allow.

    Raises:
        DataValidationError: a file lacks a column the features need, has a bad value, or the
            purchases already carry history columns.
    """
    carried = [name for name in HISTORY_FEATURES if name in purchases.columns]
    if carried:
        raise DataValidationError(
            f"{source}: already carries card-history columns ({', '.join(carried)}); drop them "
            f"to compute them from {history_source}, or score without --history to use them")
    if features is None:
        shared = set(map(str, purchases.columns)) & set(map(str, history.columns))
        features = history_columns(shared | ({TARGET} & set(map(str, history.columns))))
        if not features:
            require_columns(purchases, [CARD_ID, TIMESTAMP], source,
                            hint="needed for the card-history features; ")
            require_columns(history, [CARD_ID, TIMESTAMP], history_source,
                            hint="needed for the card-history features; ")
    # the transaction ids let a history holding the new purchases themselves drop its copies
    ids = [TRANSACTION_ID] if TRANSACTION_ID in purchases and TRANSACTION_ID in history else []
    new = check_history_purchases(purchases, source, needed_columns(features, False) + ids)
    earlier = check_history_purchases(history, history_source,
                                      needed_columns(features, True) + ids)
    computed = history_features_for(new, earlier, label_delay_days)
    return pd.concat([purchases, computed[features].set_axis(purchases.index)], axis=1)


def model_history_settings(model_uri: str, tracking_uri: str | None = None,
                           label_delay_days: float | None = None,
                           ) -> tuple[list[str], float]:
    """Return a registered history model's card-history inputs and the label delay it was
    trained with (its MLflow metadata), so the features sent to it are the ones it learned.

    Raises:
        DataValidationError: the model uses no history feature, or ``label_delay_days`` is
            given and differs from the model's.
        LookupError: the model cannot be loaded.
    """
    from .scorer import check_model_uri, load_registered_scorer

    scorer = load_registered_scorer(check_model_uri(model_uri), tracking_uri)
    features = history_inputs(scorer.inputs)
    if not features:
        raise DataValidationError(f"--model {model_uri}: uses no card-history features; send "
                                  f"it the purchases as they are")
    delay = model_label_delay(scorer.model)
    if label_delay_days is not None and float(label_delay_days) != delay:
        raise DataValidationError(
            f"--label-delay-days {label_delay_days:g}: {model_uri} was trained with labels "
            f"known {delay:g} day(s) before; leave the option out to use the model's")
    return features, delay


def write_history_features(input_path: str | os.PathLike, history_path: str | os.PathLike,
                           output_path: str | os.PathLike,
                           label_delay_days: float | None = None,
                           sep: str | None = None, decimal: str | None = None,
                           overwrite: bool = False, model_uri: str | None = None,
                           tracking_uri: str | None = None) -> dict:
    """Write the input purchases with every card-history feature the files allow; return a
    summary (rows, features, label delay, seconds). What a REST caller sends to a served
    history model.

    ``model_uri``: the served model; its history inputs are written, with the label delay it
    was trained with (:func:`model_history_settings`). Without it, ``label_delay_days``
    (default 7).

    Raises:
        DataValidationError: a file cannot be used (one line naming file, column, rows).
        ValueError: the output path is unusable (or exists, without ``overwrite``).
        LookupError: the model cannot be loaded.
    """
    from .scoring import check_output_path, write_table_atomic

    input_path, history_path, output_path = Path(input_path), Path(history_path), Path(output_path)
    if output_path.resolve() == history_path.resolve():
        raise ValueError(f"{output_path}: is the history file; write the features to another file")
    check_output_path(input_path, output_path, overwrite)
    features = None
    if model_uri is not None:
        features, label_delay_days = model_history_settings(model_uri, tracking_uri,
                                                            label_delay_days)
    elif label_delay_days is None:
        label_delay_days = DEFAULT_LABEL_DELAY_DAYS
    started = time.perf_counter()
    purchases = read_transactions(input_path, sep=sep, decimal=decimal)
    history = read_transactions(history_path, sep=sep, decimal=decimal)
    result = with_history_features(purchases, str(input_path), history, str(history_path),
                                   features, label_delay_days=label_delay_days)
    write_table_atomic(result, output_path)
    return {"input": str(input_path), "history": str(history_path), "output": str(output_path),
            "rows": len(result), "history_rows": len(history),
            "features": [c for c in HISTORY_FEATURES if c in result.columns],
            "label_delay_days": float(label_delay_days),
            "seconds": round(time.perf_counter() - started, 3)}
