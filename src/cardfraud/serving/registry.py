"""Register the chosen model, decide which version is live, and load it back.

Model stages are deprecated in MLflow, so the live version is the one carrying the alias
``champion``. Each newly registered version gets ``challenger`` and becomes champion only when
it beats the champion by the selection metric on the same test purchases (both scored now, by
their registered scorers), when there is no champion yet, or when promotion is forced; a
version that catches no fraud at its threshold is never promoted.

The registry step only *decides*: the ``champion`` alias moves when run_all publishes the run
(:func:`promote_pending_champion`), so a run that fails later changes nothing in production.
Opened by hand (``register = False``), the step registers nothing and moves no alias.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import logging
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import pandas as pd
from sklearn import metrics

from ..data.cleaning import FEATURES, TARGET, model_features
from ..modeling.tracking import ALREADY_EXISTS, store_lock
from ..report.markup import code, sentence
from ..runner.artifacts import artifacts_dir, transactions_path
from .promotion import CHAMPION_SINCE_TAG
from .scoring import (
    CHAMPION,
    DEFAULT_MODEL_NAME,
    FraudScorer,
    LoadedScorer,
    configure_quiet_tracking,
    load_registered_scorer,
)

with warnings.catch_warnings():  # tqdm warns "IProgress not found" when MLflow loads in Jupyter
    warnings.filterwarnings("ignore", message="IProgress not found")
    import mlflow
    import mlflow.sklearn
    from mlflow.exceptions import MlflowException
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

CHALLENGER = "challenger"
SCORER_NAME = "scorer"
TEST_PREDICTIONS_FILE = "test_predictions.parquet"
SCORE_TOLERANCE = 1e-9
MODEL_DESCRIPTION = (
    "Scores card purchases: returns the probability of fraud and the decision (1 = hold for "
    "review) at the version's threshold. Alias 'champion' is the live version, 'challenger' "
    "the latest registered candidate.")
_DISTRIBUTION_OF_MODULE = {"imblearn": "imbalanced-learn", "sklearn": "scikit-learn"}
_PROBABILITY_METRICS = {"average_precision": metrics.average_precision_score,
                        "roc_auc": metrics.roc_auc_score}
_DECISION_METRICS = {"recall": metrics.recall_score, "precision": metrics.precision_score,
                     "f1": metrics.f1_score, "balanced_accuracy": metrics.balanced_accuracy_score,
                     "accuracy": metrics.accuracy_score}


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


@dataclass
class PromotionDecision:
    """Whether the candidate becomes champion, and why in one sentence."""

    promote: bool
    reason: str
    candidate_score: float
    champion_score: float | None
    champion_version: int | None


def selection_score(metric: str, fraud, probability, decision) -> float:
    """Return the selection metric (sklearn name) of scores against the fraud labels."""
    if metric in _PROBABILITY_METRICS:
        return float(_PROBABILITY_METRICS[metric](fraud, probability))
    if metric in _DECISION_METRICS:
        return float(_DECISION_METRICS[metric](fraud, decision))
    known = ", ".join([*_PROBABILITY_METRICS, *_DECISION_METRICS])
    raise ValueError(f"unknown selection metric {metric!r} (known: {known})")


def held_out_test_rows(output_dir=None) -> pd.DataFrame:
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


def scorer_signature() -> ModelSignature:
    """Return the served schema: 7 double inputs; probability (double), decision (long)."""
    return ModelSignature(inputs=Schema([ColSpec("double", name) for name in FEATURES]),
                          outputs=Schema([ColSpec("double", "probability"),
                                          ColSpec("long", "decision")]))


def scorer_requirements(classifier) -> list[str]:
    """Return pinned pip requirements: MLflow, pandas and the classifier's libraries."""
    parts = [classifier]
    if hasattr(classifier, "get_params"):
        parts += list(classifier.get_params(deep=True).values())
    modules = {type(p).__module__.split(".")[0] for p in parts}
    wanted = {"mlflow", "cloudpickle", "numpy", "pandas", "scikit-learn"}
    for module in modules - {"builtins", "cardfraud", "sklearn", "numpy", "pandas"}:
        name = _DISTRIBUTION_OF_MODULE.get(module, module)
        try:
            importlib.metadata.version(name)
            wanted.add(name)
        except importlib.metadata.PackageNotFoundError:
            continue  # a local module, not a pip package
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
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            tags[f"test_{name}"] = f"{float(value):.6f}"
    return tags


def version_description(modeling: dict, data: dict) -> str:
    """Return the paragraph shown on the version's registry page."""
    test = modeling.get("test_metrics", {})
    metric = modeling.get("selection_metric", "average_precision")
    shown = {m: f"{test[m]:.4f}" if m in test else "n/a" for m in (metric, "recall", "precision")}
    return (f"{modeling['best_model']} from run {modeling['best_run_id']}, trained on "
            f"{data.get('source', 'unknown')} data {data.get('fingerprint', '')[:19]}. On "
            f"{modeling.get('test_rows', '?')} held-out test purchases: {metric} {shown[metric]}, "
            f"recall {shown['recall']}, precision {shown['precision']} at threshold "
            f"{float(modeling['threshold']):.4f} ({modeling.get('threshold_rule', '')}).")


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
    client = mlflow.MlflowClient()
    with store_lock(uri):
        create_model_unless_present(client, model_name)
    tags, run_id = version_tags(modeling, data), modeling["best_run_id"]
    threshold = float(modeling["threshold"])
    existing = find_registered_version(client, model_name, tags)
    if existing is not None:
        source = client.get_model_version(model_name, str(existing)).source
        return RegisteredVersion(model_name, existing, run_id, source, threshold, False, uri)
    classifier = mlflow.sklearn.load_model(modeling["model_uri"])
    with mlflow.start_run(run_id=run_id), _quiet_pyfunc_logging():
        info = mlflow.pyfunc.log_model(
            name=SCORER_NAME, python_model=FraudScorer(classifier, threshold),
            signature=scorer_signature(), input_example=model_features(test.head(3)),
            pip_requirements=scorer_requirements(classifier),
            metadata={"threshold": threshold, "threshold_rule": tags["threshold_rule"],
                      "selection_metric": tags["selection_metric"],
                      "classifier_uri": modeling["model_uri"]})
    if report_run_id:
        tags["report_run_id"] = str(report_run_id)
    with store_lock(uri):
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
    client = mlflow.MlflowClient()
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


class _UnregisteredScorer:
    """The modeling run's classifier at its threshold, scored like a registered FraudScorer."""

    def __init__(self, classifier, threshold: float):
        self.scorer = FraudScorer(classifier, threshold)

    def predict(self, features: pd.DataFrame) -> pd.DataFrame:
        """Return ``probability`` and ``decision`` per purchase."""
        return self.scorer.predict(None, features)


def load_candidate_scorer(registered: RegisteredVersion) -> LoadedScorer:
    """Load the candidate: its registered version, or the modeling run's model when unregistered."""
    if registered.version is not None:
        return load_registered_scorer(registered.uri)
    try:
        classifier = mlflow.sklearn.load_model(registered.scorer_uri)
    except (MlflowException, OSError) as exc:
        raise LookupError(f"cannot load model {registered.scorer_uri} from "
                          f"{mlflow.get_tracking_uri()}: {str(exc).splitlines()[0]}") from None
    return LoadedScorer(_UnregisteredScorer(classifier, registered.threshold),
                        registered.scorer_uri, None, registered.threshold, registered.run_id)


def version_details(registered: RegisteredVersion) -> pd.DataFrame:
    """Return what the registry holds for the version: URIs, description and tags."""
    if registered.version is None:
        details = {"registered model": f"none: {registered.model_name} has no version of this "
                                       f"run, and register = False registers nothing",
                   "candidate": registered.scorer_uri, "run": registered.run_id,
                   "threshold": f"{registered.threshold:.4f}"}
        return pd.Series(details, name="value").rename_axis("field").to_frame()
    found = mlflow.MlflowClient().get_model_version(registered.model_name,
                                                     str(registered.version))
    newly = ("yes" if registered.newly_registered else
             "no, this run and data were already registered" if registered.registers else
             "no, register = False (opened by hand): the version registered by run_all is shown")
    details = {"registered model": registered.uri, "newly registered": newly,
               "scorer": registered.scorer_uri, "description": found.description,
               **{f"tag: {k}": v for k, v in sorted(found.tags.items())}}
    return pd.Series(details, name="value").rename_axis("field").to_frame()


def load_champion(model_name: str = DEFAULT_MODEL_NAME, tracking_uri: str | None = None,
                  ) -> LoadedScorer:
    """Load the live version (alias ``champion``): ``.model``, ``.version``, ``.threshold``.

    Raises:
        LookupError: there is no champion (run the registry step) or it cannot be loaded.
    """
    return load_registered_scorer(f"models:/{model_name}@{CHAMPION}", tracking_uri)


def current_champion(model_name: str) -> int | None:
    """Return the version number carrying the ``champion`` alias, or None."""
    try:
        return int(mlflow.MlflowClient().get_model_version_by_alias(model_name, CHAMPION).version)
    except MlflowException:
        return None


def score_on_test(scorer: LoadedScorer, test: pd.DataFrame, metric: str) -> float:
    """Return a scorer's selection metric on the test purchases."""
    scored = scorer.score(test)
    return selection_score(metric, test[TARGET], scored["probability"], scored["decision"])


def compare_with_champion(registered: RegisteredVersion, test: pd.DataFrame, metric: str,
                          force: bool = False, min_improvement: float = 0.0) -> PromotionDecision:
    """Score the candidate and the current champion on the same test rows; decide promotion.

    A candidate that holds none of the test frauds for review at its threshold is never
    promoted, not even with ``force``.
    """
    scored = load_candidate_scorer(registered).score(test)
    candidate = selection_score(metric, test[TARGET], scored["probability"], scored["decision"])
    champion_version = current_champion(registered.model_name)
    champion_score = None
    if champion_version not in (None, registered.version):
        uri = f"models:/{registered.model_name}/{champion_version}"
        try:
            champion_score = score_on_test(load_registered_scorer(uri), test, metric)
        except (LookupError, TypeError, KeyError) as exc:
            if not force:
                raise RuntimeError(f"champion version {champion_version} cannot score the test "
                                   f"purchases ({exc}); set force_promotion to replace it"
                                   ) from None
    decision = decide_promotion(registered.version, candidate, champion_version, champion_score,
                                metric, len(test), force, min_improvement)
    if decision.promote:
        decision = refuse_if_no_fraud_caught(decision, registered, test[TARGET],
                                             scored["decision"])
    if champion_version not in (None, registered.version) and registered.version is not None:
        decision.reason += _other_data_note(registered, champion_version)
    return decision


def refuse_if_no_fraud_caught(decision: PromotionDecision, registered: RegisteredVersion,
                              fraud: pd.Series, held: pd.Series) -> PromotionDecision:
    """Return the decision, or a refusal when the candidate holds no test fraud for review."""
    frauds = int(fraud.sum())
    caught = int(((fraud.to_numpy() == 1) & (held.to_numpy() == 1)).sum())
    if not frauds or caught:
        return decision
    stays = (f"champion v{decision.champion_version} stays" if decision.champion_version
             is not None else "there is still no champion")
    reason = (f"{registered.label} catches no fraud at its threshold {registered.threshold:.4f} "
              f"(recall 0: none of the {frauds:,} frauds among the {int(fraud.size):,} test "
              f"purchases is held for review), and a model that catches no fraud is never "
              f"promoted, even with force_promotion; {stays}. Check the modeling step's cost "
              f"threshold (modeling.cost_review against the purchase amounts)")
    return PromotionDecision(False, reason, decision.candidate_score, decision.champion_score,
                             decision.champion_version)


def _other_data_note(registered: RegisteredVersion, champion_version: int) -> str:
    """Warn when the champion was trained on other data: its test score may be optimistic."""
    client = mlflow.MlflowClient()
    champion_data, candidate_data = (
        client.get_model_version(registered.model_name, str(v)).tags.get("data_fingerprint")
        for v in (champion_version, registered.version))
    if champion_data == candidate_data:
        return ""
    return (f" (the champion was trained on other data, {str(champion_data)[:19]}: some of "
            f"these test purchases may have been in its training set)")


def decide_promotion(candidate_version: int | None, candidate_score: float,
                     champion_version: int | None, champion_score: float | None, metric: str,
                     test_rows: int, force: bool = False, min_improvement: float = 0.0,
                     ) -> PromotionDecision:
    """Return whether the candidate becomes champion: none yet, better by the metric, or forced.

    ``candidate_version`` is None for a modeling run that is not registered (opened by hand).
    """
    shown = "n/a" if champion_score is None else f"{champion_score:.4f}"
    label = "the unregistered candidate" if candidate_version is None else f"v{candidate_version}"
    both = (f"candidate {label} {metric} {candidate_score:.4f} vs champion "
            f"v{champion_version} {shown} on the same {test_rows:,} test purchases")
    if champion_version is None:
        reason = (f"no champion yet: {label} ({metric} {candidate_score:.4f} on "
                  f"{test_rows:,} test purchases) becomes champion")
        return PromotionDecision(True, reason, candidate_score, None, None)
    if champion_version == candidate_version:
        reason = (f"v{candidate_version} is already the champion ({metric} "
                  f"{candidate_score:.4f}); nothing changes")
        return PromotionDecision(False, reason, candidate_score, candidate_score, champion_version)
    if force:
        return PromotionDecision(True, f"promotion forced (force_promotion): {both}",
                                 candidate_score, champion_score, champion_version)
    if champion_score is not None and candidate_score > champion_score + min_improvement:
        return PromotionDecision(True, f"the candidate is better, it becomes champion: {both}",
                                 candidate_score, champion_score, champion_version)
    margin = f" by more than {min_improvement:g}" if min_improvement else ""
    reason = f"champion v{champion_version} stays, the candidate does not beat it{margin}: {both}"
    return PromotionDecision(False, reason, candidate_score, champion_score, champion_version)


def apply_aliases(registered: RegisteredVersion, decision: PromotionDecision) -> list[str]:
    """Point ``challenger`` at the new version; return the aliases it has once the run publishes.

    The ``champion`` alias is not moved here: run_all moves it when the whole run succeeds
    (:func:`cardfraud.serving.promotion.promote_pending_champion`). Nothing is changed when
    the step registers nothing (``register = False``).
    """
    if registered.version is None:
        return []
    if registered.registers:
        with store_lock(registered.tracking_uri):
            mlflow.MlflowClient().set_registered_model_alias(registered.model_name, CHALLENGER,
                                                             str(registered.version))
    aliases = set(version_aliases(registered.model_name).get(registered.version, []))
    if decision.promote and registered.registers:
        aliases.add(CHAMPION)
    return sorted(aliases)


def champion_after_run(registered: RegisteredVersion, decision: PromotionDecision) -> int | None:
    """Return the version that is champion once this run publishes (the candidate if promoted)."""
    if decision.promote and registered.registers:
        return registered.version
    return current_champion(registered.model_name)


def champion_since(model_name: str) -> str | None:
    """When the current champion was promoted (UTC, ISO), from its tag; None without champion."""
    version = current_champion(model_name)
    if version is None:
        return None
    tags = mlflow.MlflowClient().get_model_version(model_name, str(version)).tags
    return tags.get(CHAMPION_SINCE_TAG)


def version_aliases(model_name: str) -> dict[int, list[str]]:
    """Return the aliases of each version that has some (none when the model does not exist)."""
    aliases: dict[int, list[str]] = {}
    try:
        found = mlflow.MlflowClient().get_registered_model(model_name).aliases
    except MlflowException:
        return aliases
    for alias, version in found.items():
        aliases.setdefault(int(version), []).append(alias)
    return {v: sorted(a) for v, a in aliases.items()}


def comparison_table(decision: PromotionDecision, registered: RegisteredVersion,
                     metric: str) -> pd.DataFrame:
    """Return candidate and champion side by side with the selection metric on the test rows."""
    rows = [{"role": "candidate", "version": registered.version, metric: decision.candidate_score}]
    if decision.champion_version not in (None, registered.version):
        rows.append({"role": "champion before this run", "version": decision.champion_version,
                     metric: decision.champion_score})
    table = pd.DataFrame(rows).set_index("role")
    after = champion_after_run(registered, decision)
    table["champion after this run"] = [after is not None and v == after
                                        for v in table["version"]]
    return table


def check_registered_scores(registered: RegisteredVersion, test: pd.DataFrame,
                            sample_rows: int, seed: int = 0) -> tuple[pd.DataFrame, str]:
    """Score a sample of test rows with the registered model; compare with modeling's scores.

    Loads ``models:/<name>@champion`` when the candidate is champion, else the candidate by
    version (the champion's scores, when there is one, are added for comparison). Returns the
    table and a sentence.

    Raises:
        AssertionError: when a probability differs from the modeling step's by more than 1e-9.
    """
    try:
        champion = load_champion(registered.model_name)
    except LookupError:
        champion = None
    is_champion = champion is not None and champion.version == registered.version
    checked = champion if is_champion else load_candidate_scorer(registered)
    sample = test.sample(n=min(sample_rows, len(test)), random_state=seed).sort_values("row")
    scored = checked.score(sample)
    table = pd.DataFrame({"row": sample["row"].to_numpy(), TARGET: sample[TARGET].to_numpy(),
                          "modeling_probability": sample["modeling_probability"].to_numpy(),
                          "registered_probability": scored["probability"].to_numpy(),
                          "decision": scored["decision"].to_numpy()})
    table["difference"] = (table["registered_probability"] - table["modeling_probability"]).abs()
    if champion is not None and not is_champion:
        table[f"champion_v{champion.version}_probability"] = \
            champion.score(sample)["probability"].to_numpy()
    worst = float(table["difference"].max())
    which = f"{checked.uri} (version {checked.version})" if checked.version is not None else \
        f"{checked.uri} (not registered)"
    if worst > SCORE_TOLERANCE:
        raise AssertionError(f"{which} does not reproduce the modeling step's scores: largest "
                             f"difference {worst:.3g}")
    return table, (f"{which} reproduces the modeling step's probabilities on {len(table)} test "
                   f"purchases: largest difference {worst:.1e}.")


def registry_table(model_name: str = DEFAULT_MODEL_NAME,
                   champion_after: int | None = None) -> pd.DataFrame:
    """Return one row per registered version: aliases, date, model, test metrics, data.

    ``champion_after``: the version this run promotes; the alias it gets when the run
    publishes (and the one the current champion loses) are marked so.
    """
    aliases = pending_aliases(version_aliases(model_name), champion_after)
    rows = []
    for found in mlflow.MlflowClient().search_model_versions(f"name = '{model_name}'"):
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


def _number(text: str | None) -> float:
    """Return a tag as a float (NaN when absent)."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return float("nan")


def registry_results(registered: RegisteredVersion, decision: PromotionDecision,
                     aliases: list[str], check: pd.DataFrame, metric: str,
                     report_run_id: str | None = None) -> dict:
    """Return the step's results for run.json: the registry as it is once the run publishes.

    ``promotion_pending`` says that run_all moves ``champion`` to ``version`` when it publishes
    the run ``report_run_id``; ``champion_since`` is filled in then.
    """
    pending = bool(decision.promote and registered.registers)
    return {"model_name": registered.model_name, "version": registered.version,
            "model_uri": registered.uri,
            "champion_uri": f"models:/{registered.model_name}@{CHAMPION}",
            "champion_version": champion_after_run(registered, decision),
            "champion_since": None if pending else champion_since(registered.model_name),
            "newly_registered": registered.newly_registered, "aliases": aliases,
            "registered": registered.registers, "promotion_pending": pending,
            "report_run_id": report_run_id,
            "decided_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "promoted": pending, "reason": decision.reason, "selection_metric": metric,
            "candidate_score": decision.candidate_score, "champion_score": decision.champion_score,
            "previous_champion_version": decision.champion_version,
            "run_id": registered.run_id, "threshold": registered.threshold,
            "scorer_uri": registered.scorer_uri, "tracking_uri": registered.tracking_uri,
            "checked_rows": len(check), "max_score_difference": float(check["difference"].max())}


def decision_sentence(registered: RegisteredVersion, decision: PromotionDecision) -> str:
    """Return the decision in one markdown paragraph, saying when it takes effect."""
    text = sentence("**Decision:** {reason}.", reason=decision.reason)
    if decision.promote and registered.registers:
        text += sentence(" The {alias} alias moves to {label} when the whole run succeeds and "
                         "is published; a run that fails leaves the champion where it was.",
                         alias=code(CHAMPION), label=registered.label)
    elif decision.promote:
        text += (" Nothing is applied: this notebook was opened by hand (`register = False`), "
                 "so it registers no version and moves no alias.")
    return text
