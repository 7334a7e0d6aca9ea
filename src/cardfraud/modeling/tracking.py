"""MLflow tracking: where runs go, one experiment, one run per candidate model.

The tracking URI comes from the params, else ``MLFLOW_TRACKING_URI``, else an SQLite file
``<project root>/mlruns/mlflow.db`` with artifacts beside it, both absolute (papermill changes
the working directory). Nothing happens at import time; telemetry is turned off when tracking
is configured.

Every function is given the store it works on: registry reads and writes go through
:func:`tracking_client` (``MlflowClient(tracking_uri=..., registry_uri=...)``), never through
MLflow's process-wide URI. MLflow's fluent calls (``start_run``, ``log_model``,
``load_model``) read only that global, so they run inside :func:`using_store`, the one place
that points it at a store, and only for the duration of the call.

An SQLite store may be shared by runs started at once (two terminals, CI jobs). MLflow creates
its tables on first open and numbers registry writes without coordinating processes, so the
first open of an SQLite store and the registry's read-then-write sequences run under
:func:`store_lock`, an ``fcntl`` lock on ``mlflow.db.lock`` beside the database. A tracking
server (``http://...``) serializes writes in its own database; there the lock is a no-op.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata

import pandas as pd

from ..runner.project import home_dir
from ..serving.names import FEATURE_SET_TAG, MODEL_INPUTS_TAG
from .feature_sets import feature_set_of
from .store_lock import (  # noqa: F401  store_lock_path: callers import it from here too
    SQLITE_PREFIX,
    sqlite_path,
    store_lock,
    store_lock_path,
)

MODEL_NAME = "model"
ALREADY_EXISTS = "RESOURCE_ALREADY_EXISTS"
_opened_stores: set[str] = set()  # SQLite stores whose tables this process has checked
_MODEL_DISTRIBUTIONS = ("scikit-learn", "numpy", "pandas", "scipy", "cloudpickle")


def tracking_client(tracking_uri: str):
    """Return an MLflow client whose tracking and registry are the store ``tracking_uri``."""
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


@contextmanager
def using_store(tracking_uri: str) -> Iterator[None]:
    """Point MLflow's fluent API (``start_run``, ``log_model``, ``load_model``) at a store
    while the body runs, then give the process-wide tracking and registry URIs back.

    The only place the package sets MLflow's global URIs (MLflow's own variables, restored
    exactly, "never set" included): everything else is given a client.
    """
    from mlflow.tracking import _model_registry, _tracking_service

    tracking, registry = _tracking_service.utils, _model_registry.utils
    before = (tracking._tracking_uri, registry._registry_uri)  # None when never set
    tracking._tracking_uri, registry._registry_uri = tracking_uri, tracking_uri
    try:
        yield
    finally:
        tracking._tracking_uri, registry._registry_uri = before


def _import_mlflow():
    """Import MLflow quietly: inside Jupyter without ipywidgets its progress bars warn."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="IProgress not found")
        import mlflow
        import mlflow.sklearn
        import tqdm.auto  # noqa: F401  (the import that warns)
    return mlflow


def default_tracking_uri() -> str:
    """Return ``sqlite:////<project>/mlruns/mlflow.db`` (the project of :mod:`cardfraud.runner.project`)."""
    return SQLITE_PREFIX + str(home_dir() / "mlruns" / "mlflow.db")


def open_store(tracking_uri: str) -> None:
    """Create (or check) an SQLite store's tables once per process, one process at a time.

    Two first runs creating the tables at once leave a half-migrated database that every
    later run fails on (``table _alembic_tmp_... already exists``).
    """
    if sqlite_path(tracking_uri) is None or tracking_uri in _opened_stores:
        return
    with store_lock(tracking_uri), _quiet_mlflow():
        client = tracking_client(tracking_uri)
        client.search_experiments(max_results=1)
        client.search_registered_models(max_results=1)
    _opened_stores.add(tracking_uri)


def resolve_tracking_uri(tracking_uri: str | None = None) -> str:
    """Return the tracking URI to use: the param, else MLFLOW_TRACKING_URI, else the project's
    SQLite file; SQLite paths made absolute."""
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri()
    database = sqlite_path(uri)
    return uri if database is None else SQLITE_PREFIX + str(database.resolve())


def configure_tracking(tracking_uri: str | None = None) -> str:
    """Resolve the tracking URI (see :func:`resolve_tracking_uri`), turn telemetry off, create
    an SQLite store's folder and tables (under its lock) and return the URI; MLflow's
    process-wide URI is left as it is (callers pass the URI on)."""
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    _import_mlflow()
    uri = resolve_tracking_uri(tracking_uri)
    database = sqlite_path(uri)
    if database is not None:
        database.parent.mkdir(parents=True, exist_ok=True)
    open_store(uri)
    return uri


def get_or_create_experiment(name: str, tracking_uri: str) -> str:
    """Return the id of experiment ``name``, creating it (or restoring it if deleted).

    For SQLite URIs artifacts go to ``<dir of the sqlite file>/mlflow-artifacts`` (absolute path);
    for servers the server's default applies.
    """
    from mlflow.exceptions import MlflowException

    client = tracking_client(tracking_uri)
    with store_lock(tracking_uri):
        found = client.get_experiment_by_name(name)
        if found is not None:
            if found.lifecycle_stage == "deleted":
                client.restore_experiment(found.experiment_id)
            return found.experiment_id
        database = sqlite_path(tracking_uri)
        location = str(database.resolve().parent / "mlflow-artifacts") if database else None
        try:
            return client.create_experiment(name, artifact_location=location)
        except MlflowException as exc:  # a run on the same server created it a moment ago
            if exc.error_code != ALREADY_EXISTS:
                raise
            return client.get_experiment_by_name(name).experiment_id


def model_requirements() -> list[str]:
    """Return the pinned packages a logged scikit-learn pipeline needs to load and predict."""
    return [f"{name}=={metadata.version(name)}" for name in _MODEL_DISTRIBUTIONS]


@contextmanager
def _quiet_mlflow():
    """Keep MLflow's INFO lines (database set-up) and its advice on pickle formats, which the
    contract requires for pipelines, out of the report."""
    levels = {name: logging.getLogger(name).level for name in ("mlflow", "mlflow.sklearn")}
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("mlflow.sklearn").setLevel(logging.ERROR)
    try:
        yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def log_candidate_run(tracking_uri: str, experiment_id: str, candidate: str, params: dict,
                      metrics: dict, model, input_example: pd.DataFrame,
                      artifacts: list | None = None, tags: dict | None = None) -> str:
    """Log one candidate as a run in the store ``tracking_uri``: params, metrics, figure files
    and the fitted pipeline.

    The pipeline (preprocessing + classifier, no sampler) is logged as ``model`` with a
    signature and input example, in cloudpickle format, predicting P(fraud) via predict_proba.
    Returns the run id.
    """
    mlflow = _import_mlflow()
    from mlflow.models import infer_signature

    signature = infer_signature(input_example, model.predict_proba(input_example))
    with using_store(tracking_uri), \
            mlflow.start_run(experiment_id=experiment_id, run_name=candidate) as run:
        mlflow.set_tags({"candidate": candidate, **(tags or {})})
        mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if v is not None
                            and pd.notna(v)})
        for path in artifacts or []:
            mlflow.log_artifact(str(path), artifact_path="figures" if str(path).endswith(
                ".png") else None)
        with _quiet_mlflow():
            mlflow.sklearn.log_model(model, name=MODEL_NAME, signature=signature,
                                     input_example=input_example,
                                     serialization_format="cloudpickle",
                                     pyfunc_predict_fn="predict_proba",
                                     pip_requirements=model_requirements())
    return run.info.run_id


def candidate_metrics(cv_row: pd.Series, threshold_row: pd.Series, test_row: pd.Series) -> dict:
    """Return a candidate's cross-validation, threshold and test metrics under MLflow names."""
    metrics = {name: cv_row[name] for name in cv_row.index if name.startswith("cv_")}
    metrics["threshold"] = threshold_row["threshold"]
    metrics["threshold_target_recall"] = threshold_row["threshold_target_recall"]
    metrics["validation_cost_per_1000"] = threshold_row["validation_cost_per_1000"]
    skip = {"best", "feature_set", "fit_rows", "threshold", "cv_average_precision", "cv_roc_auc"}
    metrics.update({f"test_{name}": value for name, value in test_row.items() if name not in skip})
    return metrics


def track_candidates(experiment_name: str, tracking_uri: str | None, cv, fitted, thresholds,
                     test, input_example: pd.DataFrame, settings: dict,
                     shared_figures: list, best_figures: list, run_id: str | None = None,
                     output_dir=None) -> dict:
    """Log every candidate as a run of one experiment; return URI, experiment and run ids.

    Args:
        cv, fitted, thresholds, test: the cross-validation, fitted models, threshold table
            and test evaluation of this step.
        input_example: a few rows of model input (float64, every input of every feature set;
            each run keeps its model's inputs, logged as the signature, as tag
            ``model_inputs`` and, with the feature set's name, as param and tag
            ``feature_set``).
        settings: the step's parameters, logged on every run (split, costs, budget...).
        shared_figures: names of saved figures logged on every run (they compare all
            candidates), found under ``artifacts/figures`` of ``output_dir``.
        best_figures: names of saved figures about the best model only, logged on its run.
        run_id: the report run's id, set as tag ``report_run_id``.
        output_dir: the step's output dir (holds the figures).
    """
    from ..runner.artifacts import figure_path

    shared = [figure_path(name, output_dir) for name in shared_figures]
    best_only = [figure_path(name, output_dir) for name in best_figures]
    uri = configure_tracking(tracking_uri)
    with _quiet_mlflow():
        experiment_id = get_or_create_experiment(experiment_name, uri)
    best_cv = cv.table.loc[cv.table.groupby("candidate")[f"cv_{cv.selection_metric}"].idxmax()]
    runs = {}
    for candidate, model in fitted.pipelines.items():
        cv_row = best_cv.loc[best_cv["candidate"] == candidate].iloc[0]
        example = input_example[fitted.inputs.get(candidate) or list(input_example.columns)]
        feature_set = feature_set_of(candidate)
        params = {**{k: v for k, v in settings.items() if not isinstance(v, dict)},
                  **settings.get("costs", {}), "candidate": candidate, "feature_set": feature_set,
                  "fit_rows": fitted.fit_rows[candidate],
                  **{f"classify__{k}": v for k, v in cv.best_settings[candidate].items()}}
        is_best = candidate == fitted.best
        runs[candidate] = log_candidate_run(
            uri, experiment_id, candidate, params,
            candidate_metrics(cv_row, thresholds.loc[candidate], test.comparison.loc[candidate]),
            model, example, shared + (best_only if is_best else []),
            tags={"best": str(is_best).lower(), "report_run_id": str(run_id or ""),
                  FEATURE_SET_TAG: feature_set, MODEL_INPUTS_TAG: ",".join(example.columns)})
    return {"tracking_uri": uri, "experiment_name": experiment_name,
            "experiment_id": experiment_id, "runs": runs, "best_run_id": runs[fitted.best]}


def log_candidate_models(experiment_name: str, tracking_uri: str | None, cv, fitted,
                         thresholds, input_example: pd.DataFrame, settings: dict,
                         run_id: str | None = None) -> dict:
    """Log every candidate's run before its test (a Spark run scores the test period with
    the logged models): parameters, tags, cross-validation and threshold metrics, the model.

    :func:`log_test_results` then adds the test metrics and figures, so each run ends up with
    what :func:`track_candidates` logs. Returns URI, experiment and run ids as it does.
    """
    uri = configure_tracking(tracking_uri)
    with _quiet_mlflow():
        experiment_id = get_or_create_experiment(experiment_name, uri)
    best_cv = cv.table.loc[cv.table.groupby("candidate")[f"cv_{cv.selection_metric}"].idxmax()]
    runs = {}
    for candidate, model in fitted.pipelines.items():
        cv_row = best_cv.loc[best_cv["candidate"] == candidate].iloc[0]
        example = input_example[fitted.inputs.get(candidate) or list(input_example.columns)]
        feature_set = feature_set_of(candidate)
        params = {**{k: v for k, v in settings.items() if not isinstance(v, dict)},
                  **settings.get("costs", {}), "candidate": candidate, "feature_set": feature_set,
                  "fit_rows": fitted.fit_rows[candidate],
                  **{f"classify__{k}": v for k, v in cv.best_settings[candidate].items()}}
        is_best = candidate == fitted.best
        runs[candidate] = log_candidate_run(
            uri, experiment_id, candidate, params,
            candidate_metrics(cv_row, thresholds.loc[candidate], pd.Series(dtype=float)),
            model, example, [],
            tags={"best": str(is_best).lower(), "report_run_id": str(run_id or ""),
                  FEATURE_SET_TAG: feature_set, MODEL_INPUTS_TAG: ",".join(example.columns)})
    return {"tracking_uri": uri, "experiment_name": experiment_name,
            "experiment_id": experiment_id, "runs": runs, "best_run_id": runs[fitted.best]}


def log_test_results(tracked: dict, test, fitted, shared_figures: list, best_figures: list,
                     output_dir=None) -> None:
    """Add each candidate's test metrics (``test_<name>``) and the figures to its run logged
    by :func:`log_candidate_models`."""
    from mlflow.entities import Metric

    from ..runner.artifacts import figure_path

    client = tracking_client(tracked["tracking_uri"])
    skip = {"best", "feature_set", "fit_rows", "threshold", "cv_average_precision", "cv_roc_auc"}
    for candidate, run in tracked["runs"].items():
        row = test.comparison.loc[candidate]
        metrics = [Metric(f"test_{name}", float(value), 0, 0) for name, value in row.items()
                   if name not in skip and value is not None and pd.notna(value)]
        client.log_batch(run, metrics=metrics)
        names = shared_figures + (best_figures if candidate == fitted.best else [])
        for name in names:
            client.log_artifact(run, str(figure_path(name, output_dir)), artifact_path="figures")
