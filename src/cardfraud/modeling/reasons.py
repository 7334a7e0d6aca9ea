"""Why a purchase was flagged: each input's SHAP value for a fitted prediction pipeline, and
the (up to) three inputs that raised its score most, in the fraud team's words.

Trees (decision tree, random forest, gradient boosting) are explained by ``shap``'s
TreeExplainer with its path-dependent algorithm: the expected value is the training rows'
mean, taken from the rows each node saw in fitting, so no background sample is stored.
Logistic regression is explained exactly: coefficient x (transformed value - its mean over a
background sample) in the model's transformed space (after log1p and scaling); the
background is the rows the scaler was fitted on (its ``mean_``), or a sample given.
A transformed column is mapped back to the input it came from (log1p reorders the columns;
the gap filler's was-unknown columns count for their input), and the values of the columns of
one input are added. Only inputs with a positive value (raising the score) are reasons.
"""

from __future__ import annotations

import warnings
import weakref

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import StandardScaler

from ..data.schema import TARGET, TRANSACTION_ID, model_features
from ..report.translate import DEFAULT_LANGUAGE, current_language
from .reason_words import reasons_text

TOP_REASONS = 3
CHUNK_ROWS = 50_000  # rows explained at once: bounds the memory of the SHAP arrays
_TREE_EXPLAINERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def pipeline_parts(model) -> tuple[list, object]:
    """Return a fitted pipeline's preprocessing steps and its classifier (a bare model: none)."""
    steps = getattr(model, "steps", None)
    if not steps:
        return [], model
    return [step for _, step in steps[:-1]], steps[-1][1]


def _positions(columns, names: list[str] | None, width: int) -> list[int]:
    """The positions a ColumnTransformer's column selection picks among its input columns."""
    if isinstance(columns, slice):
        return list(range(width))[columns]
    picked = list(np.atleast_1d(columns))
    if picked and isinstance(picked[0], (bool, np.bool_)):
        return [int(i) for i in np.flatnonzero(picked)]
    if picked and isinstance(picked[0], str):
        return [names.index(c) for c in picked]
    return [int(c) for c in picked]


def _step_origins(step, origins: list[str]) -> list[str]:
    """The input each output column of one fitted preprocessing step comes from."""
    if isinstance(step, SimpleImputer):
        kept = ([i for i, s in enumerate(step.statistics_) if not np.isnan(s)]
                if not step.keep_empty_features else list(range(len(origins))))
        indicator = getattr(step, "indicator_", None)
        flagged = list(indicator.features_) if indicator is not None else []
        return [origins[i] for i in kept] + [origins[i] for i in flagged]
    if isinstance(step, ColumnTransformer):
        names = [str(c) for c in getattr(step, "feature_names_in_", [])] or None
        out: dict[int, str] = {}
        for name, _, columns in step.transformers_:
            if name not in step.output_indices_:
                continue
            placed = list(range(len(origins)))[step.output_indices_[name]]
            if not placed:
                continue
            sources = _positions(columns, names, len(origins))
            if len(sources) != len(placed):
                raise TypeError(f"cannot map the columns of step {name!r} back to the inputs")
            out.update({p: origins[s] for p, s in zip(placed, sources, strict=True)})
        return [out[p] for p in sorted(out)]
    return list(origins)  # one column out per column in (scaling, log1p)


def column_origins(model, inputs: list[str]) -> list[str]:
    """The model input each column reaching the classifier comes from, in the classifier's order.

    Raises:
        TypeError: a preprocessing step does not keep one output per input column.
    """
    steps, classifier = pipeline_parts(model)
    origins = list(inputs)
    for step in steps:
        origins = _step_origins(step, origins)
    width = getattr(classifier, "n_features_in_", len(origins))
    if len(origins) != width:
        raise TypeError(f"cannot map the {width} columns the classifier sees back to the inputs")
    return origins


def transformed_values(model, features: pd.DataFrame) -> np.ndarray:
    """The purchases as the classifier sees them (after every preprocessing step)."""
    steps, _ = pipeline_parts(model)
    values = features
    for step in steps:
        values = step.transform(values)
    return np.asarray(values, dtype="float64")


def _tree_explainer(classifier):
    """The classifier's TreeExplainer, built once per fitted classifier."""
    explainer = _TREE_EXPLAINERS.get(classifier)
    if explainer is None:
        with warnings.catch_warnings():  # its colour maps use soon-deprecated matplotlib calls
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            import shap  # heavy (numba): only when a tree model is explained
        explainer = shap.TreeExplainer(classifier)
        _TREE_EXPLAINERS[classifier] = explainer
    return explainer


def _linear_background_mean(model, background: pd.DataFrame | None) -> np.ndarray:
    """The mean transformed value the linear contributions are measured from."""
    steps, _ = pipeline_parts(model)
    if background is not None:
        return transformed_values(model, background).mean(axis=0)
    if steps and isinstance(steps[-1], StandardScaler) and steps[-1].mean_ is not None:
        scaler = steps[-1]  # its training rows are the background
        return scaler.transform(scaler.mean_.reshape(1, -1))[0]
    raise TypeError("a linear model without a scaler needs a background sample to explain it")


def column_contributions(model, features: pd.DataFrame,
                         background: pd.DataFrame | None = None) -> np.ndarray:
    """SHAP values (rows x classifier columns) of the score: log-odds for logistic regression
    and gradient boosting, P(fraud) for a tree or a forest.

    Raises:
        TypeError: the classifier is neither linear nor a tree model shap can read.
    """
    _, classifier = pipeline_parts(model)
    values = transformed_values(model, features)
    coefficients = getattr(classifier, "coef_", None)
    if coefficients is not None:
        return np.asarray(coefficients)[0] * (values - _linear_background_mean(model, background))
    try:
        explainer = _tree_explainer(classifier)
    except Exception as exc:  # shap raises a bare Exception for a model it cannot read
        raise TypeError(f"cannot explain a {type(classifier).__name__}: {exc}") from None
    shap_values = explainer.shap_values(values, check_additivity=False)
    if isinstance(shap_values, list):  # older shap: one array per class
        shap_values = shap_values[1]
    shap_values = np.asarray(shap_values)
    return shap_values[:, :, 1] if shap_values.ndim == 3 else shap_values


def input_contributions(model, features: pd.DataFrame,
                        background: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each input's SHAP value per purchase (columns: the model's inputs, in their order).

    The columns a preprocessing step made of one input (its value, its was-unknown flag)
    are added up. Positive values raise the fraud score.
    """
    inputs = [str(c) for c in features.columns]
    origins = column_origins(model, inputs)
    by_input = np.zeros((len(features), len(inputs)))
    if len(features):
        contributions = column_contributions(model, features, background)
        for column, origin in enumerate(origins):
            by_input[:, inputs.index(origin)] += contributions[:, column]
    return pd.DataFrame(by_input, columns=inputs, index=features.index)


def top_reason_inputs(contributions: pd.DataFrame, top: int = TOP_REASONS) -> list[list[str]]:
    """Per purchase, the inputs with the largest positive SHAP values, largest first."""
    values = contributions.to_numpy()
    names = np.asarray(contributions.columns)
    order = np.argsort(-values, axis=1, kind="stable")[:, :top]
    return [[str(names[j]) for j in row if values[i, j] > 0] for i, row in enumerate(order)]


def purchase_reasons(model, features: pd.DataFrame, explain=None,
                     background: pd.DataFrame | None = None,
                     language: str = DEFAULT_LANGUAGE) -> list[str]:
    """Each purchase's reasons in words, joined by "; " ("" for a purchase not explained).

    Args:
        features: the purchases as the model takes them (its inputs, float64).
        explain: which purchases to explain (a boolean mask); None = all.
        language: the words' language (a page's; the scorer's answers stay English).
    """
    explain = np.ones(len(features), bool) if explain is None else np.asarray(explain, bool)
    reasons = [""] * len(features)
    positions = np.flatnonzero(explain)
    for start in range(0, len(positions), CHUNK_ROWS):
        chunk = positions[start:start + CHUNK_ROWS]
        rows = features.iloc[chunk]
        tops = top_reason_inputs(input_contributions(model, rows, background))
        values = rows.to_numpy()
        column = {name: j for j, name in enumerate(rows.columns)}
        for i, (position, names) in enumerate(zip(chunk, tops, strict=True)):
            reasons[position] = reasons_text(names, [values[i, column[n]] for n in names],
                                             language)
    return reasons


def top_alert_reasons(model, purchases: pd.DataFrame, probability: np.ndarray,
                      inputs: list[str] | None = None, rows: int = 5) -> pd.DataFrame:
    """The ``rows`` purchases of highest fraud probability with their reasons and fraud label.

    ``inputs``: the model's inputs (None: those it was fitted on). Columns: purchase
    (``transaction_id``, else the row's position in ``purchases``), probability, reasons, fraud
    (when labelled).
    """
    if inputs is None:
        inputs = [str(c) for c in model.feature_names_in_]
    top = np.argsort(-np.asarray(probability), kind="stable")[:rows]
    chosen = purchases.iloc[top]
    table = pd.DataFrame({
        "purchase": (chosen[TRANSACTION_ID].astype(str).to_numpy()
                     if TRANSACTION_ID in chosen else top),
        "probability": np.round(np.asarray(probability)[top], 4),
        "reasons": purchase_reasons(model, model_features(chosen, inputs),
                                    language=current_language())})
    if TARGET in chosen:
        table[TARGET] = chosen[TARGET].to_numpy()
    return table
