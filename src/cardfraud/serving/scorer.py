"""The registered scorer: the model MLflow stores and loading it back by URI.

The scorer returns the probability of fraud, the decision at the threshold chosen in
modeling and the reasons of each purchase (the up to three inputs that raised its score most,
in words: :mod:`cardfraud.modeling.reasons`); loading it back gives its version and threshold.
Purchases are checked first. Reasons cost time (SHAP values: about 1,000 purchases a second for
gradient boosting, a few hundred for the forest): the pyfunc's ``reasons`` param says which purchases get them,
``all`` (the default: REST and small batches), ``alerts`` (those at or above the threshold) or
``none`` (the registry's score check, monitoring).
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data.checks import DataValidationError, check_bounds
from ..data.cleaning import missing_values_error, to_number, validate_transactions
from ..data.schema import FEATURES, TARGET, model_features
from ..modeling.gaps import inputs_filled
from ..modeling.history import HISTORY_BOUNDS
from ..modeling.reasons import purchase_reasons
from ..modeling.tracking import configure_tracking, tracking_client, using_store
from ..runner.config import ConfigError
from ..runner.parameter_rules import check_model_name
from .registry import CHAMPION, DEFAULT_MODEL_NAME

with warnings.catch_warnings():  # tqdm warns "IProgress not found" when MLflow loads in Jupyter
    warnings.filterwarnings("ignore", message="IProgress not found")
    import mlflow
    import mlflow.pyfunc
    import mlflow.sklearn
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
SCORE_COLUMNS = ["probability", "decision"]
REASONS = "reasons"  # one text per purchase: its reasons joined by "; " ("" when none)
REASON_CHOICES = ("all", "alerts", "none")  # which purchases get reasons


class FraudScorer(mlflow.pyfunc.PythonModel):
    """Pyfunc returning P(fraud), the decision at the threshold chosen in modeling and the
    reasons of each purchase."""

    def __init__(self, classifier, threshold: float, inputs: list[str] | None = None):
        self.classifier = classifier
        self.threshold = float(threshold)
        self.inputs = list(FEATURES if inputs is None else inputs)  # what it was fitted on

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        """Return ``probability`` (float), ``decision`` (0/1) and ``reasons`` per purchase.

        ``params={"reasons": "all" | "alerts" | "none"}``: which purchases get reasons (all by
        default); the others get "".

        Raises:
            MlflowException: (HTTP 400 when served) on missing values, infinite, negative or
                out-of-range numbers (e.g. distances above 20,040 km) or flags other than
                0/1, naming the column and the rows; on an unknown ``reasons`` param.
        """
        which = reasons_choice(params)
        try:
            inputs = getattr(self, "inputs", FEATURES)  # versions logged before it was kept
            purchases = check_purchases(model_input, "request", inputs,
                                        may_be_unknown=inputs_filled(self.classifier))
        except DataValidationError as exc:
            raise MlflowException(str(exc), error_code=INVALID_PARAMETER_VALUE) from None
        features = model_features(purchases, inputs)
        probability = self.classifier.predict_proba(features)[:, 1]
        decision = (probability >= self.threshold).astype("int64")
        explain = {"all": None, "alerts": decision == 1, "none": np.zeros(len(decision), bool)}
        return pd.DataFrame({"probability": probability.astype("float64"), "decision": decision,
                             REASONS: purchase_reasons(self.classifier, features, explain[which])})


def reasons_choice(params: dict | None) -> str:
    """The ``reasons`` param of a scoring request (``all`` when not given).

    Raises:
        MlflowException: (HTTP 400 when served) naming the value and the choices.
    """
    which = str((params or {}).get(REASONS, "all"))
    if which not in REASON_CHOICES:
        raise MlflowException(f"request: params reasons must be one of "
                              f"{', '.join(REASON_CHOICES)}, not {which!r}",
                              error_code=INVALID_PARAMETER_VALUE)
    return which


def scorer_output(output, threshold: float | None, uri: str) -> pd.DataFrame:
    """Turn a model's output into ``probability``/``decision`` (and ``reasons`` when it gives
    them), or raise TypeError naming it."""
    if isinstance(output, pd.DataFrame) and set(SCORE_COLUMNS) <= set(output.columns):
        return output[SCORE_COLUMNS + [REASONS] * (REASONS in output)].reset_index(drop=True)
    array = np.asarray(output)
    if array.ndim == 2 and array.shape[1] == 2 and threshold is not None:
        probability = array[:, 1].astype("float64")
        return pd.DataFrame({"probability": probability,
                             "decision": (probability >= threshold).astype("int64")})
    raise TypeError(f"{uri} does not return a fraud probability and decision "
                    f"(got {type(output).__name__} of shape {array.shape})")


@dataclass
class LoadedScorer:
    """A model loaded from MLflow with its registry version and threshold (None if unknown)."""

    model: mlflow.pyfunc.PyFuncModel
    uri: str
    version: int | None
    threshold: float | None
    run_id: str | None
    inputs: list[str] = field(default_factory=lambda: list(FEATURES))  # the model's inputs

    def score(self, purchases: pd.DataFrame, reasons: str = "none") -> pd.DataFrame:
        """Return ``probability`` and ``decision`` for each purchase (the model's inputs), and
        ``reasons`` for those ``reasons`` names (``all``, ``alerts``) when the model gives them.

        ``none`` (the default) keeps the registry's score check and monitoring fast.
        """
        features = model_features(purchases, self.inputs)
        if takes_params(self.model):
            output = self.model.predict(features, params={REASONS: reasons})
        elif isinstance(scorer := unwrapped_scorer(self.model), FraudScorer):
            output = scorer.predict(None, features, {REASONS: reasons})  # logged before params
        else:
            output = self.model.predict(features)
        return scorer_output(output, self.threshold, self.uri)


def takes_params(model) -> bool:
    """Say whether a loaded model's signature declares the ``reasons`` param."""
    metadata = getattr(model, "metadata", None)
    signature = getattr(metadata, "signature", None)
    params = getattr(signature, "params", None)
    return params is not None and REASONS in [p.name for p in params.params]


def unwrapped_scorer(model):
    """The Python model inside a loaded pyfunc (None when it is no Python model)."""
    try:
        return model.unwrap_python_model()
    except (AttributeError, MlflowException):
        return None


def configure_quiet_tracking(tracking_uri: str | None) -> str:
    """Resolve and open the store (see cardfraud.modeling.tracking) without download progress
    bars; return its URI."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    return configure_tracking(tracking_uri)


def registered_version(model_uri: str, tracking_uri: str) -> int | None:
    """Return the registry version behind ``models:/name@alias`` or ``models:/name/N``."""
    match = re.fullmatch(r"models:/([^/@]+)(?:@([^/]+)|/(\d+))", model_uri)
    if not match:
        return None
    name, alias, number = match.groups()
    if number:
        return int(number)
    return int(tracking_client(tracking_uri).get_model_version_by_alias(name, alias).version)


def load_registered_scorer(model_uri: str, tracking_uri: str | None = None) -> LoadedScorer:
    """Load a scorer (``models:/<name>@<alias>``, ``models:/<name>/<version>``, ...).

    Raises:
        LookupError: the model does not exist or cannot be loaded (one line, with the URI).
    """
    uri = configure_quiet_tracking(tracking_uri)
    try:
        with using_store(uri):
            model = mlflow.pyfunc.load_model(model_uri)
        version = registered_version(model_uri, uri)
    except (MlflowException, OSError, ModuleNotFoundError) as exc:
        text = str(getattr(exc, "message", exc)).strip()
        reason = text.splitlines()[0] if text else type(exc).__name__
        raise LookupError(f"cannot load model {model_uri} from {uri}: "
                          f"{reason}") from None
    threshold = (model.metadata.metadata or {}).get("threshold")
    return LoadedScorer(model, model_uri, version,
                        None if threshold is None else float(threshold), model.metadata.run_id,
                        signature_inputs(model))


def signature_inputs(model) -> list[str]:
    """Return the model's inputs from its MLflow signature (all seven when it has none)."""
    schema = model.metadata.get_input_schema()
    return list(schema.input_names()) if schema is not None else list(FEATURES)


def check_model_uri(model_uri: str) -> str:
    """Return a ``models:/<name>@<alias>`` or ``models:/<name>/<version>`` URI, else raise.

    Other URIs (``runs:/...``, a folder) are MLflow's to resolve; a registry URI must name a
    model with the names the parameter check allows (a quote would break MLflow's filters).

    Raises:
        ConfigError: (a ValueError) naming the URI and what is wrong with it.
    """
    if not model_uri.startswith("models:/"):
        return model_uri
    match = re.fullmatch(r"models:/(.+?)(?:@([A-Za-z0-9_-]+)|/(\d+))", model_uri)
    if not match:
        raise ConfigError(f"--model {model_uri!r}: expected models:/<name>@<alias> or "
                          f"models:/<name>/<version>")
    check_model_name(match.group(1), f"--model {model_uri!r}: model name")
    return model_uri


def check_purchases(frame: pd.DataFrame, source: str, inputs: list[str] | None = None,
                    may_be_unknown: list[str] = ()) -> pd.DataFrame:
    """Validate purchases to score with the load step's rules; return the clean frame.

    Unlike the load step, rows with missing inputs fail instead of being dropped (every
    purchase needs a score), and the fraud label is optional and not checked. ``inputs``:
    the model's inputs (None = all seven); a file lacking one is refused naming it, a file
    lacking an input the model does not use is scored. ``may_be_unknown``: inputs the model
    fills itself when empty (it saw them unknown in training); their empty values are kept.
    """
    inputs = list(FEATURES if inputs is None else inputs)
    lacking = [c for c in inputs if c not in frame.columns]
    if lacking:
        raise lacking_inputs_error(source, lacking, inputs)
    present = [c for c in inputs if c in frame.columns and c not in may_be_unknown]
    error = missing_values_error(frame, present, source, every_input_hint(inputs))
    if error:
        raise error
    labels = frame[TARGET].to_numpy() if TARGET in frame.columns else None
    unknown = frame[[c for c in may_be_unknown if c in frame.columns]].isna()
    checked = check_history_inputs(frame.drop(columns=[TARGET], errors="ignore"), source,
                                   inputs)
    if unknown.to_numpy().any():  # the known values are checked; the empty ones stay empty
        checked = checked.mask(unknown.reindex(columns=checked.columns, fill_value=False), 0)
    clean, _ = validate_transactions(checked, source, on_missing="fail", require_target=False,
                                     required_inputs=inputs)
    for column in unknown.columns[unknown.to_numpy().any(axis=0)]:
        clean.loc[unknown[column].to_numpy(), column] = np.nan
    if labels is not None:
        clean.insert(list(frame.columns).index(TARGET), TARGET, labels)
    return clean


def lacking_inputs_error(source: str, lacking: list[str], inputs: list[str]) -> DataValidationError:
    """The one-line error for purchases to score that lack some of the model's inputs."""
    return DataValidationError(
        f"{source}: missing column{'s' if len(lacking) > 1 else ''} {', '.join(lacking)}: "
        f"the model uses {'them' if len(lacking) > 1 else 'it'} (its inputs: "
        f"{', '.join(inputs)})")


def every_input_hint(inputs: list[str]) -> str:
    """What the missing-values error of purchases to score adds: every input is needed."""
    return f"; every purchase needs all {len(inputs)} model inputs to be scored"


def check_history_inputs(frame: pd.DataFrame, source: str, inputs: list[str]) -> pd.DataFrame:
    """Return the frame with the model's card-history inputs as numbers in their ranges
    (:data:`cardfraud.modeling.history.HISTORY_BOUNDS`), or raise naming column and rows."""
    history = [c for c in inputs if c in HISTORY_BOUNDS]
    if not history:
        return frame
    frame = frame.copy()
    for column in history:
        frame[column], _ = to_number(frame[column], source, frame.attrs.get("decimal", "."))
        check_bounds(frame[column], source, HISTORY_BOUNDS[column])
    return frame


def load_champion(model_name: str = DEFAULT_MODEL_NAME, tracking_uri: str | None = None,
                  ) -> LoadedScorer:
    """Load the live version (alias ``champion``): ``.model``, ``.version``, ``.threshold``.

    Raises:
        LookupError: there is no champion (run the registry step) or it cannot be loaded.
    """
    return load_registered_scorer(f"models:/{model_name}@{CHAMPION}", tracking_uri)


class _UnregisteredScorer:
    """The modeling run's classifier at its threshold, scored like a registered FraudScorer."""

    def __init__(self, classifier, threshold: float, inputs: list[str] | None = None):
        self.scorer = FraudScorer(classifier, threshold, inputs)

    def predict(self, features: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        """Return ``probability``, ``decision`` and ``reasons`` per purchase."""
        return self.scorer.predict(None, features, params)

    def unwrap_python_model(self) -> FraudScorer:
        """The FraudScorer inside, as a loaded pyfunc gives it."""
        return self.scorer


def load_candidate_scorer(registered) -> LoadedScorer:
    """Load the candidate (a registration.RegisteredVersion): its registered version, or the
    modeling run's model when unregistered."""
    if registered.version is not None:
        return load_registered_scorer(registered.uri, registered.tracking_uri)
    try:
        with using_store(registered.tracking_uri):
            classifier = mlflow.sklearn.load_model(registered.scorer_uri)
    except (MlflowException, OSError) as exc:
        raise LookupError(f"cannot load model {registered.scorer_uri} from "
                          f"{registered.tracking_uri}: {str(exc).splitlines()[0]}") from None
    inputs = [str(c) for c in getattr(classifier, "feature_names_in_", FEATURES)]
    return LoadedScorer(_UnregisteredScorer(classifier, registered.threshold, inputs),
                        registered.scorer_uri, None, registered.threshold, registered.run_id,
                        inputs)
