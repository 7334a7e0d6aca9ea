"""Register the chosen model, decide which version is live, and load it back.

The registered model is a pyfunc (:class:`FraudScorer`) wrapping the best candidate's
scikit-learn pipeline and its decision threshold: it returns ``probability`` (P(fraud)) and
``decision`` (1 = hold the purchase for review). Model stages are deprecated in MLflow, so the
live version is the one carrying the alias ``champion``; each newly registered version gets
``challenger`` and becomes champion only when it beats the champion on the same test rows.
"""

from __future__ import annotations

import importlib.metadata
import re
from dataclasses import asdict, dataclass

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient
from sklearn import metrics

from .artifacts import artifacts_dir, transactions_path
from .data import TARGET, model_features
from .tracking import configure_tracking

DEFAULT_MODEL_NAME = "card-fraud-detector"
CHAMPION = "champion"
CHALLENGER = "challenger"
SCORER_NAME = "scorer"
TEST_PREDICTIONS_FILE = "test_predictions.parquet"
SCORE_TOLERANCE = 1e-9
MODEL_DESCRIPTION = (
    "Scores card purchases: returns the probability of fraud and the decision (1 = hold for "
    "review) at the version's threshold. Alias 'champion' is the live version, 'challenger' "
    "the latest registered candidate."
)
_PROBABILITY_METRICS = {"average_precision": metrics.average_precision_score,
                        "roc_auc": metrics.roc_auc_score}
_DECISION_METRICS = {"recall": metrics.recall_score, "precision": metrics.precision_score,
                     "f1": metrics.f1_score, "balanced_accuracy": metrics.balanced_accuracy_score,
                     "accuracy": metrics.accuracy_score}


class FraudScorer(mlflow.pyfunc.PythonModel):
    """Pyfunc returning P(fraud) and the decision at the threshold chosen in modeling."""

    def __init__(self, classifier, threshold: float):
        self.classifier = classifier
        self.threshold = float(threshold)

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        """Return a frame with ``probability`` (float) and ``decision`` (0/1) per purchase."""
        probability = self.classifier.predict_proba(model_features(model_input))[:, 1]
        return pd.DataFrame({"probability": probability.astype("float64"),
                             "decision": (probability >= self.threshold).astype("int64")})


@dataclass
class RegisteredVersion:
    """A registered version of the scorer and where it came from."""

    model_name: str
    version: int
    run_id: str
    scorer_uri: str
    threshold: float
    newly_registered: bool

    @property
    def uri(self) -> str:
        """Return ``models:/<name>/<version>``."""
        return f"models:/{self.model_name}/{self.version}"


@dataclass
class LoadedScorer:
    """A scorer loaded from the registry with its version and threshold (None when unknown)."""

    model: mlflow.pyfunc.PyFuncModel
    uri: str
    version: int | None
    threshold: float | None
    run_id: str | None

    def score(self, features: pd.DataFrame) -> pd.DataFrame:
        """Return ``probability`` and ``decision`` for model input rows."""
        return scorer_output(self.model.predict(model_features(features)), self.threshold, self.uri)


@dataclass
class PromotionDecision:
    """Whether the candidate becomes champion, and why in one sentence."""

    promote: bool
    reason: str
    candidate_score: float
    champion_score: float | None
    champion_version: int | None


def scorer_output(output, threshold: float | None, uri: str) -> pd.DataFrame:
    """Turn a model's output into ``probability``/``decision``, or raise naming the model."""
    if isinstance(output, pd.DataFrame) and {"probability", "decision"} <= set(output.columns):
        return output[["probability", "decision"]].reset_index(drop=True)
    array = np.asarray(output)
    if array.ndim == 2 and array.shape[1] == 2 and threshold is not None:
        probability = array[:, 1].astype("float64")
        return pd.DataFrame({"probability": probability,
                             "decision": (probability >= threshold).astype("int64")})
    raise TypeError(f"{uri} does not return a fraud probability and decision "
                     f"(got {type(output).__name__} of shape {array.shape})")


def selection_score(metric: str, fraud, probability, decision) -> float:
    """Return the selection metric (sklearn name) of scores against the fraud labels."""
    if metric in _PROBABILITY_METRICS:
        return float(_PROBABILITY_METRICS[metric](fraud, probability))
    if metric in _DECISION_METRICS:
        return float(_DECISION_METRICS[metric](fraud, decision))
    known = ", ".join([*_PROBABILITY_METRICS, *_DECISION_METRICS])
    raise ValueError(f"unknown selection metric {metric!r} (known: {known})")


def test_transactions(output_dir=None) -> pd.DataFrame:
    """Return the modeling step's test rows: model inputs, fraud and modeling's P(fraud)."""
    predictions_path = artifacts_dir(output_dir) / TEST_PREDICTIONS_FILE
    if not predictions_path.exists():
        raise FileNotFoundError(f"{predictions_path} not found: run the 'modeling' step first")
    predictions = pd.read_parquet(predictions_path)
    transactions = pd.read_parquet(transactions_path(output_dir))
    rows = predictions["row"].to_numpy()
    if rows.max() >= len(transactions):
        raise ValueError(f"{predictions_path} refers to row {rows.max()} but "
                         f"{transactions_path(output_dir)} has {len(transactions)} rows: "
                         f"re-run the modeling step on the current data")
    test = model_features(transactions.iloc[rows]).reset_index(drop=True)
    test.insert(0, "row", rows)
    test[TARGET] = predictions[TARGET].to_numpy()
    test["modeling_probability"] = predictions["probability"].to_numpy()
    return test


def _distributions(classifier) -> set[str]:
    """Return the installed distributions whose classes make up the classifier."""
    objects = [classifier]
    if hasattr(classifier, "get_params"):
        objects += list(classifier.get_params(deep=True).values())
    modules = {type(o).__module__.split(".")[0] for o in objects}
    owners = importlib.metadata.packages_distributions()
    return {dist for module in modules for dist in owners.get(module, [])}


def scorer_requirements(classifier) -> list[str]:
    """Return pinned pip requirements of the scorer (cardfraud itself is installed locally)."""
    wanted = {"mlflow", "cloudpickle", "numpy", "pandas", "scikit-learn"} | _distributions(classifier)
    wanted -= {"cardfraud"}
    return sorted(f"{d}=={importlib.metadata.version(d)}" for d in wanted)


def version_tags(modeling: dict, data: dict) -> dict[str, str]:
    """Return the tags of a registered version: data, run, threshold and test metrics."""
    tags = {"data_fingerprint": data.get("fingerprint", "unknown"),
            "data_source": data.get("source", "unknown"), "data_rows": str(data.get("rows", "")),
            "run_id": modeling["best_run_id"], "model": modeling["best_model"],
            "threshold": repr(float(modeling["threshold"])),
            "threshold_rule": str(modeling.get("threshold_rule", "")),
            "selection_metric": modeling.get("selection_metric", "average_precision"),
            "test_rows": str(modeling.get("test_rows", ""))}
    for name, value in modeling.get("test_metrics", {}).items():
        if isinstance(value, (int, float)):
            tags[f"test_{name}"] = f"{float(value):.6f}"
    return tags


def version_description(modeling: dict, data: dict) -> str:
    """Return the one-paragraph description shown on the version's registry page."""
    test = modeling.get("test_metrics", {})
    metric = modeling.get("selection_metric", "average_precision")
    return (f"{modeling['best_model']} from run {modeling['best_run_id']}, trained on "
            f"{data.get('source', 'unknown')} data {data.get('fingerprint', '')[:19]}. On "
            f"{modeling.get('test_rows', '?')} held-out test purchases: {metric} "
            f"{test.get(metric, float('nan')):.4f}, recall {test.get('recall', float('nan')):.3f}, "
            f"precision {test.get('precision', float('nan')):.3f} at threshold "
            f"{float(modeling['threshold']):.4f} ({modeling.get('threshold_rule', '')}).")


def _ensure_registered_model(client: MlflowClient, model_name: str) -> None:
    """Create the registered model with its description unless it exists."""
    try:
        client.get_registered_model(model_name)
    except MlflowException:
        client.create_registered_model(model_name, description=MODEL_DESCRIPTION)


def find_registered_version(client: MlflowClient, model_name: str, tags: dict) -> int | None:
    """Return the version already registered for this run, threshold and data, if any."""
    keys = ("run_id", "threshold", "data_fingerprint")
    for found in client.search_model_versions(f"name = '{model_name}'"):
        if all(found.tags.get(k) == tags[k] for k in keys):
            return int(found.version)
    return None


def register_candidate(modeling: dict, data: dict, test: pd.DataFrame,
                       model_name: str = DEFAULT_MODEL_NAME, tracking_uri: str | None = None,
                       ) -> RegisteredVersion:
    """Register the best candidate as a version of ``model_name`` (once per run and data).

    The run's scikit-learn model is wrapped with its threshold in a :class:`FraudScorer`,
    logged into the same run as ``scorer`` with a signature (so serving checks columns and
    types) and registered with tags and a description. Re-running reuses the version.
    """
    configure_tracking(tracking_uri or modeling.get("tracking_uri"))
    client = MlflowClient()
    _ensure_registered_model(client, model_name)
    tags = version_tags(modeling, data)
    threshold, run_id = float(modeling["threshold"]), modeling["best_run_id"]
    existing = find_registered_version(client, model_name, tags)
    if existing is not None:
        source = client.get_model_version(model_name, str(existing)).source
        return RegisteredVersion(model_name, existing, run_id, source, threshold, False)
    classifier = mlflow.sklearn.load_model(modeling["model_uri"])
    scorer = FraudScorer(classifier, threshold)
    example = model_features(test.head(5))
    with mlflow.start_run(run_id=run_id):
        info = mlflow.pyfunc.log_model(
            name=SCORER_NAME, python_model=scorer, input_example=example,
            signature=infer_signature(example, scorer.predict(None, example)),
            pip_requirements=scorer_requirements(classifier),
            metadata={"threshold": threshold, "threshold_rule": tags["threshold_rule"],
                      "selection_metric": tags["selection_metric"], "classifier": modeling["model_uri"]})
    version = mlflow.register_model(info.model_uri, model_name, tags=tags)
    client.update_model_version(model_name, version.version, version_description(modeling, data))
    return RegisteredVersion(model_name, int(version.version), run_id, info.model_uri, threshold, True)


def load_registered_scorer(model_uri: str, tracking_uri: str | None = None) -> LoadedScorer:
    """Load a scorer by URI (``models:/<name>@<alias>``, ``models:/<name>/<version>``, ...)."""
    configure_tracking(tracking_uri)
    try:
        model = mlflow.pyfunc.load_model(model_uri)
    except (MlflowException, OSError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LookupError(f"cannot load model {model_uri} from {mlflow.get_tracking_uri()}: "
                          f"{first_line}") from None
    metadata = model.metadata.metadata or {}
    threshold = metadata.get("threshold")
    return LoadedScorer(model, model_uri, _registered_version(model_uri),
                        None if threshold is None else float(threshold), model.metadata.run_id)


def _registered_version(model_uri: str) -> int | None:
    """Return the registry version behind ``models:/name@alias`` or ``models:/name/N``."""
    match = re.fullmatch(r"models:/([^/@]+)(?:@([^/]+)|/(\d+))", model_uri)
    if not match:
        return None
    name, alias, number = match.groups()
    if number:
        return int(number)
    return int(MlflowClient().get_model_version_by_alias(name, alias).version)


def load_champion(model_name: str = DEFAULT_MODEL_NAME, tracking_uri: str | None = None,
                  ) -> LoadedScorer:
    """Load the live version (alias ``champion``) with its version number and threshold."""
    return load_registered_scorer(f"models:/{model_name}@{CHAMPION}", tracking_uri)


def current_champion(model_name: str) -> int | None:
    """Return the version number carrying the ``champion`` alias, or None."""
    try:
        return int(MlflowClient().get_model_version_by_alias(model_name, CHAMPION).version)
    except MlflowException:
        return None


def score_on_test(scorer: LoadedScorer, test: pd.DataFrame, metric: str) -> float:
    """Return a scorer's selection metric on the test rows."""
    scored = scorer.score(test)
    return selection_score(metric, test[TARGET], scored["probability"], scored["decision"])


def compare_with_champion(registered: RegisteredVersion, test: pd.DataFrame, metric: str,
                          force: bool = False, min_improvement: float = 0.0) -> PromotionDecision:
    """Score candidate and current champion on the same test rows and decide promotion."""
    candidate = score_on_test(load_registered_scorer(registered.uri), test, metric)
    champion_version = current_champion(registered.model_name)
    champion_score = None
    if champion_version is not None and champion_version != registered.version:
        uri = f"models:/{registered.model_name}/{champion_version}"
        try:
            champion_score = score_on_test(load_registered_scorer(uri), test, metric)
        except (LookupError, TypeError, KeyError) as exc:
            if not force:
                raise RuntimeError(f"champion version {champion_version} cannot score the test "
                                   f"rows ({exc}); set force_promotion to replace it") from None
    decision = decide_promotion(registered.version, candidate, champion_version, champion_score,
                                metric, len(test), force, min_improvement)
    if champion_version is not None and champion_version != registered.version:
        decision.reason += _data_note(registered, champion_version)
    return decision


def _data_note(registered: RegisteredVersion, champion_version: int) -> str:
    """Warn when the champion was trained on other data: its test score may be optimistic."""
    client = MlflowClient()
    champion_data, candidate_data = (
        client.get_model_version(registered.model_name, str(v)).tags.get("data_fingerprint")
        for v in (champion_version, registered.version))
    if champion_data == candidate_data:
        return ""
    return (f" (the champion was trained on other data, {str(champion_data)[:19]}; some of "
            f"these test purchases may have been in its training set)")


def decide_promotion(candidate_version: int, candidate_score: float,
                     champion_version: int | None, champion_score: float | None, metric: str,
                     test_rows: int, force: bool = False, min_improvement: float = 0.0,
                     ) -> PromotionDecision:
    """Return whether the candidate becomes champion: better by the metric, none yet, or forced."""
    both = (f"candidate v{candidate_version} {metric} {candidate_score:.4f} vs champion "
            f"v{champion_version} {champion_score if champion_score is None else f'{champion_score:.4f}'}"
            f" on the same {test_rows} test purchases")
    if champion_version is None:
        reason = f"no champion yet: v{candidate_version} ({metric} {candidate_score:.4f}) becomes champion"
        return PromotionDecision(True, reason, candidate_score, None, None)
    if champion_version == candidate_version:
        reason = f"v{candidate_version} is already the champion ({metric} {candidate_score:.4f}); nothing changes"
        return PromotionDecision(False, reason, candidate_score, candidate_score, champion_version)
    if force:
        return PromotionDecision(True, f"promotion forced (force_promotion): {both}",
                                 candidate_score, champion_score, champion_version)
    if champion_score is not None and candidate_score > champion_score + min_improvement:
        return PromotionDecision(True, f"candidate is better: {both}",
                                 candidate_score, champion_score, champion_version)
    margin = f" by more than {min_improvement:g}" if min_improvement else ""
    reason = f"champion v{champion_version} stays, the candidate does not beat it{margin}: {both}"
    return PromotionDecision(False, reason, candidate_score, champion_score, champion_version)


def apply_aliases(registered: RegisteredVersion, decision: PromotionDecision) -> list[str]:
    """Point ``challenger`` (and ``champion`` when promoted) at the version; return its aliases."""
    client = MlflowClient()
    client.set_registered_model_alias(registered.model_name, CHALLENGER, str(registered.version))
    if decision.promote:
        client.set_registered_model_alias(registered.model_name, CHAMPION, str(registered.version))
    return sorted(client.get_model_version(registered.model_name, str(registered.version)).aliases)


def verify_registered_scores(scorer: LoadedScorer, test: pd.DataFrame, sample_rows: int,
                             seed: int = 0) -> pd.DataFrame:
    """Score a sample of test rows with a loaded scorer and compare with modeling's scores.

    Raises:
        AssertionError: when any probability differs from the modeling step's by > 1e-9.
    """
    sample = test.sample(n=min(sample_rows, len(test)), random_state=seed).sort_values("row")
    scored = scorer.score(sample)
    table = pd.DataFrame({"row": sample["row"].to_numpy(), "fraud": sample[TARGET].to_numpy(),
                          "modeling_probability": sample["modeling_probability"].to_numpy(),
                          "registered_probability": scored["probability"].to_numpy(),
                          "decision": scored["decision"].to_numpy()})
    table["difference"] = (table["registered_probability"] - table["modeling_probability"]).abs()
    worst = float(table["difference"].max())
    if worst > SCORE_TOLERANCE:
        raise AssertionError(f"{scorer.uri} (version {scorer.version}) does not reproduce the "
                             f"modeling step's scores: largest difference {worst:.3g}")
    return table


def registry_table(model_name: str = DEFAULT_MODEL_NAME) -> pd.DataFrame:
    """Return one row per registered version: aliases, date, model, test metrics, data."""
    client = MlflowClient()
    aliases: dict[str, list[str]] = {}
    for alias, version in client.get_registered_model(model_name).aliases.items():
        aliases.setdefault(str(version), []).append(alias)
    rows = []
    for found in client.search_model_versions(f"name = '{model_name}'"):
        tags = found.tags
        rows.append({
            "version": int(found.version), "aliases": ", ".join(sorted(aliases.get(found.version, []))),
            "registered": pd.Timestamp(found.creation_timestamp, unit="ms").floor("s"),
            "model": tags.get("model"), "threshold": _number(tags.get("threshold")),
            **{m: _number(tags.get(f"test_{m}"))
               for m in ("average_precision", "roc_auc", "recall", "precision")},
            "data_fingerprint": (tags.get("data_fingerprint") or "")[:19],
            "run_id": found.run_id})
    return pd.DataFrame(rows).sort_values("version", ascending=False).reset_index(drop=True)


def _number(text: str | None) -> float:
    """Return a tag as a float (NaN when absent)."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return float("nan")


def registry_results(registered: RegisteredVersion, decision: PromotionDecision,
                     aliases: list[str], check: pd.DataFrame, metric: str) -> dict:
    """Return the step's results for run.json."""
    return {"model_name": registered.model_name, "version": registered.version,
            "model_uri": registered.uri, "champion_uri": f"models:/{registered.model_name}@{CHAMPION}",
            "newly_registered": registered.newly_registered, "aliases": aliases,
            "promoted": decision.promote, "reason": decision.reason, "selection_metric": metric,
            "candidate_score": decision.candidate_score, "champion_score": decision.champion_score,
            "previous_champion_version": decision.champion_version,
            "champion_version": current_champion(registered.model_name),
            "run_id": registered.run_id, "threshold": registered.threshold,
            "scorer_uri": registered.scorer_uri, "tracking_uri": mlflow.get_tracking_uri(),
            "checked_rows": len(check), "max_score_difference": float(check["difference"].max())}


def describe(record) -> pd.DataFrame:
    """Return a dataclass as a two-column table (field, value) for the notebook."""
    return pd.Series(asdict(record), name="value").rename_axis("field").to_frame()
