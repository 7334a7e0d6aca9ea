"""Register the chosen model: its scorer, signature, requirements, tags and description.

A version is registered once per trained model and data (found again by its tags), with the
scorer that returns probability, decision at the threshold chosen in modeling and reasons (its
signature declares the ``reasons`` column and param; ``shap`` is among its requirements). The held-out
test purchases are what every version is compared on.
"""

from __future__ import annotations

import importlib.metadata
import logging
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import pandas as pd

from ..data.schema import FEATURES, TARGET, model_features
from ..modeling.feature_sets import history_of_rows
from ..modeling.tracking import ALREADY_EXISTS, store_lock, tracking_client, using_store
from ..report.locale_format import fill, format_percent, format_value
from ..report.table_language import key_words, model_label
from ..report.translate import _
from ..runner.artifacts import (
    artifact_path,
    load_step_results,
    resolve_output_dir,
    transactions_path,
)
from ..runner.contract import REGISTRY_STEP, TEST_PREDICTIONS
from ..runner.step_inputs import require_step_inputs
from .history_scoring import DEFAULT_LABEL_DELAY_DAYS, LABEL_DELAY_KEY
from .names import FEATURE_SET_TAG, MODEL_INPUTS_TAG
from .registry import DEFAULT_MODEL_NAME
from .scorer import REASONS, FraudScorer, configure_quiet_tracking

with warnings.catch_warnings():  # tqdm warns "IProgress not found" when MLflow loads in Jupyter
    warnings.filterwarnings("ignore", message="IProgress not found")
    import mlflow
    import mlflow.sklearn
    from mlflow.exceptions import MlflowException
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema


SCORER_NAME = "scorer"

MODEL_DESCRIPTION = (
    "Scores card purchases: returns the probability of fraud and the decision (1 = hold for "
    "review) at the version's threshold. Alias 'champion' is the live version, 'challenger' "
    "the latest registered candidate.")


_DISTRIBUTION_OF_MODULE = {"imblearn": "imbalanced-learn", "sklearn": "scikit-learn"}


@dataclass
class RegisteredVersion:
    """A registered version of the scorer and where it came from."""

    model_name: str
    version: int | None
    run_id: str
    scorer_uri: str
    threshold: float
    newly_registered: bool
    tracking_uri: str
    registers: bool = True

    @property
    def uri(self) -> str:
        """Return ``models:/<name>/<version>`` (the modeling run's model when not registered)."""
        if self.version is None:
            return self.scorer_uri
        return f"models:/{self.model_name}/{self.version}"

    @property
    def label(self) -> str:
        """Return ``v<N>``, or a phrase for a model that is not registered."""
        return f"v{self.version}" if self.version is not None else "this run's model (not registered)"


def held_out_test_rows(output_dir=None) -> pd.DataFrame:
    """Return the modeling step's test rows: model inputs (history features too, from the
    modeling step's hand-over, when the data gave them), fraud and modeling's P(fraud).

    Raises:
        StepInputsMissing: the modeling step's files are missing or were made from other
            data than the transactions in the output dir (the contract's rule).
    """
    require_step_inputs(REGISTRY_STEP, resolve_output_dir(output_dir))
    predictions = pd.read_parquet(artifact_path(TEST_PREDICTIONS, output_dir))
    transactions = pd.read_parquet(transactions_path(output_dir))
    rows = predictions["row"].to_numpy()
    test = history_of_rows(model_features(transactions.iloc[rows]).reset_index(drop=True), rows,
                           modeling_inputs(load_step_results("modeling", output_dir)),
                           REGISTRY_STEP, output_dir)
    test.insert(0, "row", rows)
    test[TARGET] = predictions[TARGET].to_numpy()
    test["modeling_probability"] = predictions["probability"].to_numpy()
    return test


def scorer_signature(inputs: list[str] | None = None) -> ModelSignature:
    """Return the served schema: the model's double inputs (None = all seven); probability
    (double), decision (long), reasons (string); the ``reasons`` param (which purchases get
    reasons: ``all`` by default, ``alerts``, ``none``)."""
    names = FEATURES if inputs is None else inputs
    return ModelSignature(inputs=Schema([ColSpec("double", name) for name in names]),
                          outputs=Schema([ColSpec("double", "probability"),
                                          ColSpec("long", "decision"),
                                          ColSpec("string", REASONS)]),
                          params=ParamSchema([ParamSpec(REASONS, "string", "all")]))


def scorer_requirements(classifier) -> list[str]:
    """Return pinned pip requirements: MLflow, pandas and the classifier's libraries."""
    parts = [classifier]
    if hasattr(classifier, "get_params"):
        parts += list(classifier.get_params(deep=True).values())
    modules = {type(p).__module__.split(".")[0] for p in parts}
    wanted = {"mlflow", "cloudpickle", "numpy", "pandas", "scikit-learn", "shap"}  # shap: reasons
    for module in modules - {"builtins", "cardfraud", "sklearn", "numpy", "pandas"}:
        name = _DISTRIBUTION_OF_MODULE.get(module, module)
        try:
            importlib.metadata.version(name)
            wanted.add(name)
        except importlib.metadata.PackageNotFoundError:
            continue  # a local module, not a pip package
    return sorted(f"{d}=={importlib.metadata.version(d)}" for d in wanted)


def modeling_inputs(modeling: dict) -> list[str]:
    """The inputs the modeling step fitted the models on (all seven for older results)."""
    return list(modeling.get("model_inputs") or FEATURES)


def version_tags(modeling: dict, data: dict) -> dict[str, str]:
    """Return the tags of a registered version: data, run, threshold and test metrics."""
    tags = {"data_fingerprint": data.get("fingerprint", "unknown"),
            "data_source": data.get("source", "unknown"), "data_rows": str(data.get("rows", "")),
            "run_id": modeling["best_run_id"], "model": modeling["best_model"],
            "threshold": repr(float(modeling["threshold"])),
            "threshold_rule": str(modeling.get("threshold_rule", "")),
            "selection_metric": modeling.get("selection_metric", "average_precision"),
            "test_rows": str(modeling.get("test_rows", "")),
            FEATURE_SET_TAG: modeling.get("feature_set", "base"),
            MODEL_INPUTS_TAG: ",".join(modeling_inputs(modeling))}
    for name, value in modeling.get("test_metrics", {}).items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            tags[f"test_{name}"] = f"{float(value):.6f}"
    return tags


def version_description(modeling: dict, data: dict) -> str:
    """Return the paragraph shown on the version's registry page."""
    test = modeling.get("test_metrics", {})
    metric = modeling.get("selection_metric", "average_precision")
    shown = {m: format_value(test[m], ".4f") if m in test else format_percent(None)
             for m in (metric, "recall", "precision")}
    return fill(_("{model} from run {run}, trained on {source} data {fingerprint} with the {set} "
                  "inputs ({inputs}). On {rows} held-out test purchases: {metric} {score}, recall "
                  "{recall}, precision {precision} at threshold {threshold:.4f} ({rule})."),
                model=model_label(modeling["best_model"]), run=modeling["best_run_id"],
                source=_(data.get("source", "unknown")), fingerprint=data.get("fingerprint", "")[:19],
                set=key_words(modeling.get("feature_set", "base")),
                inputs=", ".join(modeling_inputs(modeling)), rows=modeling.get("test_rows", "?"),
                metric=key_words(metric), score=shown[metric], recall=shown["recall"],
                precision=shown["precision"], threshold=float(modeling["threshold"]),
                rule=_(modeling.get("threshold_rule", "")))


def find_registered_version(client, model_name: str, tags: dict) -> int | None:
    """Return the version already registered for this run, threshold and data, if any."""
    keys = ("run_id", "threshold", "data_fingerprint")
    for found in client.search_model_versions(f"name = '{model_name}'"):
        if all(found.tags.get(k) == tags[k] for k in keys):
            return int(found.version)
    return None


@contextmanager
def _quiet_pyfunc_logging():
    """Silence MLflow's pickle advice and example validation notes while logging the scorer."""
    logger = logging.getLogger("mlflow.pyfunc")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def create_model_unless_present(client, model_name: str) -> None:
    """Create the registered model unless it exists (another run may create it this moment)."""
    try:
        client.get_registered_model(model_name)
        return
    except MlflowException:
        pass
    try:
        client.create_registered_model(model_name, description=MODEL_DESCRIPTION)
    except MlflowException as exc:
        if exc.error_code != ALREADY_EXISTS:
            raise


def _log_scorer(run_id: str, classifier, threshold: float, tags: dict, modeling: dict,
                test: pd.DataFrame):
    """Log the FraudScorer into the modeling run (inside :func:`using_store`); return its info.

    Its signature and tag ``model_inputs`` are the inputs the model was fitted on.
    """
    inputs = modeling_inputs(modeling)
    with mlflow.start_run(run_id=run_id):
        return mlflow.pyfunc.log_model(
            name=SCORER_NAME, python_model=FraudScorer(classifier, threshold, inputs),
            signature=scorer_signature(inputs), input_example=model_features(test.head(3), inputs),
            pip_requirements=scorer_requirements(classifier),
            metadata={"threshold": threshold, "threshold_rule": tags["threshold_rule"],
                      "feature_set": tags[FEATURE_SET_TAG],
                      LABEL_DELAY_KEY: float(modeling.get(LABEL_DELAY_KEY,
                                                          DEFAULT_LABEL_DELAY_DAYS)),
                      "selection_metric": tags["selection_metric"],
                      "classifier_uri": modeling["model_uri"]})


def register_candidate(modeling: dict, data: dict, test: pd.DataFrame,
                       model_name: str = DEFAULT_MODEL_NAME, tracking_uri: str | None = None,
                       report_run_id: str | None = None) -> RegisteredVersion:
    """Register the best candidate as a version of ``model_name`` (once per run and data).

    The run's scikit-learn pipeline is wrapped with its threshold in a FraudScorer, logged
    into the same run as ``scorer`` with a signature (so serving checks columns and types) and
    registered with tags and a description. Re-running reuses the version already registered.
    Without ``tracking_uri`` the store where modeling logged the run is used;
    ``report_run_id`` (the report run that registered it) is kept as a tag.
    """
    uri = configure_quiet_tracking(tracking_uri or modeling.get("tracking_uri"))
    client = tracking_client(uri)
    with store_lock(uri):
        create_model_unless_present(client, model_name)
    tags, run_id = version_tags(modeling, data), modeling["best_run_id"]
    threshold = float(modeling["threshold"])
    existing = find_registered_version(client, model_name, tags)
    if existing is not None:
        source = client.get_model_version(model_name, str(existing)).source
        return RegisteredVersion(model_name, existing, run_id, source, threshold, False, uri)
    with using_store(uri), _quiet_pyfunc_logging():
        classifier = mlflow.sklearn.load_model(modeling["model_uri"])
        info = _log_scorer(run_id, classifier, threshold, tags, modeling, test)
    if report_run_id:
        tags["report_run_id"] = str(report_run_id)
    with store_lock(uri), using_store(uri):  # MLflow finds the logged model via the global URI
        version = client.create_model_version(
            model_name, info.model_uri, run_id=run_id, tags=tags,
            description=version_description(modeling, data), model_id=info.model_id)
    return RegisteredVersion(model_name, int(version.version), run_id, info.model_uri, threshold,
                             True, uri)


def find_candidate(modeling: dict, data: dict, model_name: str = DEFAULT_MODEL_NAME,
                   tracking_uri: str | None = None) -> RegisteredVersion:
    """Return the version already registered for the modeling run, registering nothing.

    When the run is not registered under ``model_name`` the candidate is the modeling run's
    model itself (``version`` None), scored at its threshold without entering the registry.
    """
    uri = configure_quiet_tracking(tracking_uri or modeling.get("tracking_uri"))
    client = tracking_client(uri)
    tags, run_id = version_tags(modeling, data), modeling["best_run_id"]
    threshold = float(modeling["threshold"])
    try:
        existing = find_registered_version(client, model_name, tags)
    except MlflowException:
        existing = None
    if existing is None:
        return RegisteredVersion(model_name, None, run_id, modeling["model_uri"], threshold,
                                 False, uri, registers=False)
    source = client.get_model_version(model_name, str(existing)).source
    return RegisteredVersion(model_name, existing, run_id, source, threshold, False, uri,
                             registers=False)


def register_or_find_candidate(modeling: dict, data: dict, test: pd.DataFrame,
                               model_name: str = DEFAULT_MODEL_NAME,
                               tracking_uri: str | None = None, report_run_id: str | None = None,
                               register: bool = True) -> RegisteredVersion:
    """Register the candidate (run_all) or only look it up (a notebook opened by hand)."""
    if register:
        return register_candidate(modeling, data, test, model_name, tracking_uri, report_run_id)
    return find_candidate(modeling, data, model_name, tracking_uri)


def version_details(registered: RegisteredVersion) -> pd.DataFrame:
    """Return what the registry holds for the version: URIs, description and tags."""
    if registered.version is None:
        details = {"registered model": f"none: {registered.model_name} has no version of this "
                                       f"run, and register = False registers nothing",
                   "candidate": registered.scorer_uri, "run": registered.run_id,
                   "threshold": f"{registered.threshold:.4f}"}
        return pd.Series(details, name="value").rename_axis("field").to_frame()
    found = tracking_client(registered.tracking_uri).get_model_version(
        registered.model_name, str(registered.version))
    newly = ("yes" if registered.newly_registered else
             "no, this run and data were already registered" if registered.registers else
             "no, register = False (opened by hand): the version registered by run_all is shown")
    details = {"registered model": registered.uri, "newly registered": newly,
               "scorer": registered.scorer_uri, "description": found.description,
               **{f"tag: {k}": v for k, v in sorted(found.tags.items())}}
    return pd.Series(details, name="value").rename_axis("field").to_frame()
