"""Candidate models, their grids, cross-validated selection and the final refit.

Honest evaluation: the test set is cut off first (:mod:`.holdout`) and never resampled nor
used in selection. Each candidate is an
imbalanced-learn pipeline, so SMOTE or undersampling run inside the training folds only;
the model handed on for scoring is the same pipeline without its sampler.
"""

from __future__ import annotations

import functools
import itertools
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from imblearn.over_sampling import SMOTENC
from imblearn.pipeline import Pipeline as ResamplingPipeline
from imblearn.under_sampling import RandomUnderSampler
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold, TimeSeriesSplit, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.tree import DecisionTreeClassifier
from threadpoolctl import threadpool_limits

from ..data.schema import FEATURES, FLAG_FEATURES, TARGET, available_inputs, model_features
from .feature_sets import LONG_TAILED, candidate_of, feature_set_models, feature_set_of
from .gaps import gap_filler, has_gaps
from .holdout import ModelingError, Split, check_both_classes, check_frauds_for_cv

CANDIDATES = ("logistic_regression", "decision_tree", "hist_gradient_boosting", "random_forest")
RESAMPLING = ("none", "smote", "undersample", "class_weight")
SELECTION_METRICS = {"average_precision": average_precision_score, "roc_auc": roc_auc_score}
def one_openmp_thread(func):
    """Run ``func`` with OpenMP limited to one thread.

    On a shared two-core machine gradient boosting's OpenMP threads spin-wait for each other
    and fit many times slower than a single thread; one thread is steady everywhere.
    """

    @functools.wraps(func)
    def limited(*args, **kwargs):
        with threadpool_limits(limits=1, user_api="openmp"):
            return func(*args, **kwargs)

    return limited


@dataclass
class CrossValidation:
    """Cross-validation results: one table row per candidate and settings, plus the winners."""

    table: pd.DataFrame
    best_settings: dict
    best_candidate: str
    validation: dict
    sample_rows: np.ndarray
    selection_metric: str
    resampling: str
    seed: int
    time_ordered: bool
    folds: int
    inputs: dict = field(default_factory=dict)  # model key -> the inputs it is fitted on


@dataclass
class FittedModels:
    """Each candidate's prediction pipeline (no sampler) and the rows it was fitted on."""

    pipelines: dict
    fit_rows: dict
    best: str
    inputs: dict = field(default_factory=dict)  # model key -> its inputs


def _classifier(candidate: str, seed: int, balanced: bool):
    """Return the unfitted classifier of a candidate with its fixed, bounded settings."""
    weight = "balanced" if balanced else None
    if candidate == "logistic_regression":
        return LogisticRegression(max_iter=1000, class_weight=weight)
    if candidate == "decision_tree":
        return DecisionTreeClassifier(min_samples_leaf=20, class_weight=weight, random_state=seed)
    if candidate == "hist_gradient_boosting":
        return HistGradientBoostingClassifier(class_weight=weight, random_state=seed)
    # bounded: few shallow trees on a share of the rows each, so it fits in seconds
    return RandomForestClassifier(n_estimators=40, max_depth=10, min_samples_leaf=10,
                                  max_samples=0.3, n_jobs=-1, class_weight=weight,
                                  random_state=seed)


def _sampler(resampling: str, seed: int, inputs: list[str]):
    """Return the sampler for ``smote`` (flags kept 0/1 by SMOTE-NC) or ``undersample``."""
    if resampling == "smote":
        flags = [inputs.index(c) for c in FLAG_FEATURES if c in inputs]
        if not flags:  # SMOTE-NC needs a flag; without one, plain SMOTE
            from imblearn.over_sampling import SMOTE

            return SMOTE(random_state=seed)
        return SMOTENC(categorical_features=flags, random_state=seed)
    return RandomUnderSampler(random_state=seed)


def make_pipeline(candidate: str, resampling: str = "none", seed: int = 42,
                  settings: dict | None = None,
                  inputs: list[str] | None = None, gaps: bool = False) -> ResamplingPipeline:
    """Return a candidate's imbalanced-learn pipeline: [sampler] -> [preprocess] -> classify.

    Logistic regression gets log1p of the long-tailed inputs (distances, ratio, the history's
    counts, amount ratios, minutes and speed), then scaling.
    ``settings`` are classifier parameters (e.g. from the grid); ``inputs`` the columns it is
    fitted on, in order (the extract's available inputs; None = all seven); ``gaps``: some
    inputs are unknown on some rows, filled first (:mod:`cardfraud.modeling.gaps`).
    """
    inputs = list(FEATURES if inputs is None else inputs)
    if candidate not in CANDIDATES:
        raise ModelingError(f"modeling: unknown candidate {candidate!r} "
                            f"(candidates: {', '.join(CANDIDATES)})")
    if resampling not in RESAMPLING:
        raise ModelingError(f"modeling: resampling must be one of {', '.join(RESAMPLING)}, "
                            f"not {resampling!r}")
    steps = [("fill_gaps", gap_filler())] if gaps else []
    if resampling in {"smote", "undersample"}:
        steps.append(("resample", _sampler(resampling, seed, inputs)))
    if candidate == "logistic_regression":
        long_tails = [c for c in LONG_TAILED if c in inputs]
        log_long_tails = ColumnTransformer(
            [("log1p", FunctionTransformer(np.log1p), long_tails)],
            remainder="passthrough")
        steps += [("log", log_long_tails), ("scale", StandardScaler())]
    classifier = _classifier(candidate, seed, balanced=resampling == "class_weight")
    try:
        classifier.set_params(**(settings or {}))
    except ValueError as exc:
        raise ModelingError(f"modeling: grid for {candidate}: {exc}".splitlines()[0]) from None
    steps.append(("classify", classifier))
    return ResamplingPipeline(steps)


def prediction_pipeline(fitted: ResamplingPipeline) -> Pipeline:
    """Return the fitted preprocessing + classifier as a scikit-learn Pipeline, sampler removed."""
    return Pipeline([(name, step) for name, step in fitted.steps
                     if not hasattr(step, "fit_resample")])


def expand_grid(grid: dict | None) -> list[dict]:
    """Return every combination of a {parameter: [values]} grid (one empty dict when none)."""
    grid = grid or {}
    names = list(grid)
    values = [v if isinstance(v, (list, tuple)) else [v] for v in grid.values()]
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]


def cv_sample(frame: pd.DataFrame, split: Split, rows: int | None, seed: int) -> np.ndarray:
    """Return the training rows used for cross-validation: all, or a stratified sample.

    The sample keeps time order (positions sorted by time for a time split).
    """
    train = split.train_rows
    if not rows or rows >= len(train):
        return train
    fraud = frame[TARGET].to_numpy()[train]
    picked, _ = train_test_split(np.arange(len(train)), train_size=int(rows), stratify=fraud,
                                 random_state=seed)
    return train[np.sort(picked)]


def _folds(fraud: np.ndarray, folds: int, time_ordered: bool, seed: int,
           min_frauds: int = 1) -> list:
    """Return (fit, validate) index pairs: time-ordered folds or stratified ones.

    Each fold's training part must hold ``min_frauds`` frauds (SMOTE needs neighbours).
    """
    if folds < 2:
        raise ModelingError(f"modeling: cv_folds must be at least 2, not {folds}")
    splitter = (TimeSeriesSplit(n_splits=folds) if time_ordered
                else StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed))
    pairs = list(splitter.split(np.zeros(len(fraud)), fraud))
    for number, (fit, validate) in enumerate(pairs, start=1):
        check_both_classes(fraud[fit], f"training part of cross-validation fold {number}")
        check_both_classes(fraud[validate], f"validation part of cross-validation fold {number}")
        if fraud[fit].sum() < min_frauds:
            raise ModelingError(
                f"modeling: SMOTE needs at least {min_frauds} frauds in the training part of "
                f"cross-validation fold {number} but it has {int(fraud[fit].sum())}; use fewer "
                f"folds, more rows or another resampling")
    return pairs


def _score_settings(pipeline, features, fraud, pairs) -> tuple[dict, np.ndarray, np.ndarray]:
    """Fit on each fold's training part; return fold metrics and out-of-fold scores."""
    metrics = {name: [] for name in SELECTION_METRICS}
    positions, scores, started = [], [], time.perf_counter()
    for fit, validate in pairs:
        model = clone(pipeline).fit(features.iloc[fit], fraud[fit])
        score = model.predict_proba(features.iloc[validate])[:, 1]
        for name, metric in SELECTION_METRICS.items():
            metrics[name].append(metric(fraud[validate], score))
        positions.append(validate)
        scores.append(score)
    metrics["fit_seconds"] = [(time.perf_counter() - started) / len(pairs)]
    return metrics, np.concatenate(positions), np.concatenate(scores)


@one_openmp_thread
def cross_validate_candidates(frame: pd.DataFrame, split: Split, candidates: list[str],
                              grids: dict | None = None, resampling: str = "none",
                              cv_folds: int = 3, cv_sample_rows: int | None = None,
                              selection_metric: str = "average_precision", seed: int = 42,
                              feature_sets: dict | None = None) -> CrossValidation:
    """Cross-validate every candidate, feature set and grid setting on the training rows only.

    Folds are time-ordered (train on earlier, validate on later) for a time split, else
    stratified. ``feature_sets`` maps a set's name to its inputs (None: the frame's inputs as
    ``base``); each (candidate, set) pair is a model, keyed ``candidate`` or
    ``candidate+history`` (:mod:`.feature_sets`). Each model keeps the settings with the best
    mean ``selection_metric``; the best model is the one whose best mean is highest. The
    out-of-fold scores of each model's best settings are the validation data for thresholds.
    """
    if selection_metric not in SELECTION_METRICS:
        raise ModelingError(f"modeling: selection_metric must be one of "
                            f"{', '.join(SELECTION_METRICS)} (threshold-free, fit for rare "
                            f"fraud), not {selection_metric!r}")
    candidates = [candidates] if isinstance(candidates, str) else list(candidates or [])
    if not candidates:
        raise ModelingError("modeling: the candidates list is empty")
    unknown = sorted(set(grids or {}) - set(candidates) - set(CANDIDATES))
    if unknown:
        raise ModelingError(f"modeling: grids has unknown candidate(s) {', '.join(unknown)}")
    time_ordered = split.kind == "time"
    check_frauds_for_cv(int(frame[TARGET].to_numpy()[split.train_rows].sum()), cv_folds,
                        time_ordered, "training rows", "the training rows have")
    sample = cv_sample(frame, split, cv_sample_rows, seed)
    models = feature_set_models(candidates, feature_sets, available_inputs(frame))
    needed = list(dict.fromkeys(c for _, inputs in models.values() for c in inputs))
    features, fraud = model_features(frame.iloc[sample], needed), frame[TARGET].to_numpy()[sample]
    check_frauds_for_cv(int(fraud.sum()), cv_folds, time_ordered,
                        f"cross-validation sample (modeling.cv_sample_rows={cv_sample_rows})",
                        "the sample has")
    smote_neighbours = 6 if resampling == "smote" else 1  # SMOTE's 5 neighbours + itself
    pairs = _folds(fraud, int(cv_folds), time_ordered, seed, smote_neighbours)
    rows, best_settings, validation, best_value = [], {}, {}, {}
    for key, (candidate, inputs) in models.items():
        for settings in expand_grid((grids or {}).get(candidate)):
            pipeline = make_pipeline(candidate, resampling, seed, settings, inputs=inputs,
                                     gaps=has_gaps(features[inputs]))
            metrics, positions, scores = _score_settings(pipeline, features[inputs], fraud, pairs)
            row = {"candidate": key, "feature_set": feature_set_of(key), "settings": settings}
            for name in SELECTION_METRICS:
                row[f"cv_{name}"] = float(np.mean(metrics[name]))
                row[f"cv_{name}_std"] = float(np.std(metrics[name]))
            row["fit_seconds"] = metrics["fit_seconds"][0]
            rows.append(row)
            if row[f"cv_{selection_metric}"] > best_value.get(key, -np.inf):
                best_value[key], best_settings[key] = row[f"cv_{selection_metric}"], settings
                validation[key] = pd.DataFrame(
                    {"row": sample[positions], TARGET: fraud[positions], "score": scores})
    table = pd.DataFrame(rows)
    best = max(models, key=lambda name: best_value[name])  # first listed wins a tie
    return CrossValidation(table=table, best_settings=best_settings, best_candidate=best,
                           validation=validation, sample_rows=sample,
                           selection_metric=selection_metric, resampling=resampling,
                           seed=seed, time_ordered=time_ordered, folds=int(cv_folds),
                           inputs={key: inputs for key, (_, inputs) in models.items()})


def cv_table(cv: CrossValidation) -> pd.DataFrame:
    """Return the cross-validation table for reading: settings as text, best rows marked."""
    table = cv.table.copy()
    table["settings"] = [", ".join(f"{k}={v}" for k, v in s.items()) or "defaults"
                         for s in table["settings"]]
    chosen = [cv.best_settings[c] == s for c, s in zip(cv.table["candidate"],
                                                        cv.table["settings"], strict=True)]
    table["kept"] = np.where(chosen, "yes", "")
    table.loc[(table["candidate"] == cv.best_candidate) & table["kept"].eq("yes"),
              "kept"] = "yes, best"
    return table.round(4)


def refit_rows_of(frame: pd.DataFrame, split: Split, rows: int | None, seed: int) -> np.ndarray:
    """Return the training rows the chosen model is refitted on: all of them, or at most
    ``rows``: the latest purchases for a time split (recent behaviour is what the model will
    meet), a stratified sample otherwise; in time order as the training rows are."""
    train = split.train_rows
    if not rows or rows >= len(train):
        return train
    if split.kind == "time":  # train_rows are in time order
        return train[-int(rows):]
    return cv_sample(frame, split, rows, seed)  # the same stratified draw


@one_openmp_thread
def fit_final_models(frame: pd.DataFrame, split: Split, cv: CrossValidation,
                     refit_rows: int | None = None) -> FittedModels:
    """Fit each model's best settings on the cross-validation rows; the best on the training
    rows of :func:`refit_rows_of` (all of them when ``refit_rows`` is None)."""
    pipelines, fit_rows, fraud = {}, {}, frame[TARGET].to_numpy()
    inputs = {key: cv.inputs.get(key) or available_inputs(frame) for key in cv.best_settings}
    best_rows = refit_rows_of(frame, split, refit_rows, cv.seed)
    for key, settings in cv.best_settings.items():
        rows = best_rows if key == cv.best_candidate else cv.sample_rows
        features = model_features(frame.iloc[rows], inputs[key])
        pipeline = make_pipeline(candidate_of(key), cv.resampling, cv.seed, settings,
                                 inputs=inputs[key], gaps=has_gaps(features))
        pipelines[key] = prediction_pipeline(pipeline.fit(features, fraud[rows]))
        fit_rows[key] = len(rows)
    return FittedModels(pipelines=pipelines, fit_rows=fit_rows, best=cv.best_candidate,
                        inputs=inputs)
