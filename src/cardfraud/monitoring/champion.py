"""The champion under monitoring: the drift of its fraud probabilities and its performance now.

Reference and current purchases are scored with the registry's champion; the PSI of the scores
says whether what the model sees moved, and on labelled current purchases its PR-AUC and recall
now are set against the ones the registry recorded at training time.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data.schema import TARGET
from ..report.locale_format import fill
from ..report.translate import _
from .drift import BinnedComparison, bin_values, drift_status, population_stability_index
from .window import MonitoringWindow


@dataclass
class ChampionCheck:
    """The champion's score drift and performance on the current data (None when unknown)."""

    available: bool
    message: str
    version: int | None = None
    threshold: float | None = None
    score_psi: float | None = None
    score_status: str | None = None
    score_binned: BinnedComparison | None = None
    now: dict | None = None
    at_training: dict | None = None


def performance_now(fraud: np.ndarray, scored: pd.DataFrame) -> dict | None:
    """Return PR-AUC, recall, precision and share held on labelled purchases (None: one class)."""
    from sklearn.metrics import average_precision_score, precision_score, recall_score

    fraud = np.asarray(fraud, dtype=int)
    if fraud.min() == fraud.max():
        return None
    decision = scored["decision"].to_numpy()
    return {"average_precision": float(average_precision_score(fraud, scored["probability"])),
            "recall": float(recall_score(fraud, decision)),
            "precision": float(precision_score(fraud, decision, zero_division=0)),
            "held_share": float(decision.mean()), "frauds": int(fraud.sum())}


def metrics_at_training(model_name: str, version: int | None,
                        tracking_uri: str | None = None) -> dict | None:
    """Return the test metrics the registry recorded for a version, or None when unknown."""
    from mlflow.exceptions import MlflowException

    from ..serving.registry import registry_table

    try:
        table = registry_table(model_name, tracking_uri=tracking_uri)
    except (MlflowException, LookupError, OSError):
        return None
    row = table.loc[table["version"] == version]
    if row.empty or pd.isna(row["average_precision"].iloc[0]):
        return None
    return {m: float(row[m].iloc[0]) for m in ("average_precision", "recall", "precision")}


def champion_score_drift(scorer, window: MonitoringWindow, bins: int = 10,
                         psi_watch: float = 0.1, psi_alert: float = 0.25,
                         sample_rows: int | None = 50_000, seed: int = 42,
                         at_training: dict | None = None) -> ChampionCheck:
    """Score reference and current purchases with ``scorer``; compare scores and performance.

    Args:
        scorer: anything with ``score(features) -> probability, decision``, ``version`` and
            ``threshold`` (a :class:`cardfraud.serving.scorer.LoadedScorer`).
        sample_rows: reference purchases scored (a random sample) for the score distribution;
            every current purchase is scored, since performance needs them all.
        at_training: the champion's metrics when it was trained (registry tags).
    """
    from ..data.schema import model_features

    reference = window.reference
    inputs, skipped = champion_inputs(scorer, window)
    if skipped is not None:
        return skipped
    if sample_rows and len(reference) > sample_rows:
        reference = reference.sample(n=int(sample_rows), random_state=seed)
    reference_scores = scorer.score(model_features(reference, inputs))["probability"].to_numpy()
    scored = scorer.score(model_features(window.current, inputs))
    binned = bin_values(reference_scores, scored["probability"].to_numpy(), bins)
    psi = population_stability_index(binned.reference_counts, binned.current_counts)
    now = (performance_now(window.current[TARGET].to_numpy(), scored)
           if window.description["current_has_labels"] else None)
    threshold = (fill(_(" (threshold {threshold:.4f})"), threshold=scorer.threshold)
                 if scorer.threshold is not None else "")
    message = fill(_("Champion version {version}{threshold} scored {current:,} current and "
                     "{reference:,} reference purchases."), version=scorer.version,
                   threshold=threshold, current=len(window.current), reference=len(reference))
    return scored_check(message, scorer, window, psi, (psi_watch, psi_alert), binned, now,
                        at_training)


def scored_check(message: str, scorer, window: MonitoringWindow, psi: float,
                 limits: tuple[float, float], binned, now, at_training) -> ChampionCheck:
    """Return the check of a champion that scored the window (either engine): ``message``
    plus what is not measured (one-class labels, no test metrics in the registry); ``limits``
    are the PSI watch and alert levels."""
    if window.description["current_has_labels"] and now is None:
        message += _(" The current fraud labels hold one class only: performance is not measured.")
    if at_training is None:
        message += _(" The registry holds no test metrics for this version.")
    return ChampionCheck(True, message, scorer.version, scorer.threshold, psi,
                         drift_status(psi, *limits), binned, now, at_training)


def champion_inputs(scorer, window: MonitoringWindow) -> tuple[list[str], ChampionCheck | None]:
    """Return the champion's inputs, and a skipped check when the window cannot be scored.

    Skipped when either side lacks an input (e.g. a history champion and a current extract
    without card_id or timestamp) or the champion was trained for another label delay.
    Works on pandas and Spark frames alike (it reads only their columns).
    """
    from ..data.schema import available_inputs

    reference, current = window.reference, window.current
    inputs = list(getattr(scorer, "inputs", None) or available_inputs(reference))
    lacking = [c for c in inputs if c not in current.columns or c not in reference.columns]
    if lacking:
        side = "current" if all(c in reference.columns for c in lacking) else "reference"
        return inputs, ChampionCheck(
            False, f"Champion version {scorer.version} uses inputs the {side} purchases lack "
                   f"({', '.join(lacking)}; the card's history needs card_id and timestamp): "
                   f"score drift and performance are skipped.", scorer.version, scorer.threshold)
    other_delay = _other_label_delay(scorer, window, inputs)
    if other_delay is not None:
        return inputs, ChampionCheck(False, other_delay, scorer.version, scorer.threshold)
    return inputs, None


def _other_label_delay(scorer, window: MonitoringWindow, inputs: list[str]) -> str | None:
    """Say why a champion whose merchant fraud rate counts labels at another delay than the
    window's history features cannot be scored on them (None when the delays agree)."""
    from ..serving.history_scoring import model_label_delay

    delay = window.description.get("label_delay_days")
    if delay is None or "merchant_fraud_rate_30d" not in inputs:
        return None
    trained = model_label_delay(getattr(scorer, "model", None))
    if trained == float(delay):
        return None
    return (f"Champion version {scorer.version} was trained with fraud labels known "
            f"{trained:g} day(s) before a purchase, but this run's merchant fraud rates count "
            f"those known {float(delay):g} day(s) before (modeling.label_delay_days): score drift "
            f"and performance are skipped; set modeling.label_delay_days to {trained:g} to check "
            f"it.")


def champion_check(window: MonitoringWindow, model_name: str, tracking_uri: str | None = None,
                   bins: int = 10, psi_watch: float = 0.1, psi_alert: float = 0.25,
                   sample_rows: int | None = 50_000, seed: int = 42, output_dir=None,
                   run_id: str | None = None, score_drift=None) -> ChampionCheck:
    """Load the champion once this run publishes and check it; say so when there is none.

    When this run's registry step promoted a version (``run_id`` and ``output_dir`` given),
    that version is checked: it becomes champion when the run publishes. ``score_drift``:
    the function that scores the window (default :func:`champion_score_drift`; a Spark run's
    is :func:`cardfraud.monitoring.spark_champion.champion_score_drift`).
    """
    with warnings.catch_warnings():  # tqdm's "IProgress not found" when mlflow loads in Jupyter
        warnings.filterwarnings("ignore", message="IProgress not found")
        from ..serving.scorer import load_champion, load_registered_scorer

    promoted = promoted_by_this_run(model_name, output_dir, run_id)
    try:
        scorer = (load_champion(model_name, tracking_uri) if promoted is None else
                  load_registered_scorer(f"models:/{model_name}/{promoted}", tracking_uri))
    except LookupError as exc:
        return ChampionCheck(False, fill(_("No champion to check ({error}): score drift and "
                                           "performance are skipped; run the registry step."),
                                         error=str(exc).splitlines()[0]))
    check = (score_drift or champion_score_drift)(
        scorer, window, bins, psi_watch, psi_alert, sample_rows, seed,
        metrics_at_training(model_name, scorer.version, tracking_uri))
    if promoted is not None:
        check.message += fill(_(" Version {version} was promoted by this run's registry step: it "
                                "is the champion once the run is published."), version=promoted)
    return check


def promoted_by_this_run(model_name: str, output_dir, run_id: str | None) -> int | None:
    """Return the version this run's registry step promoted (champion on publishing), if any."""
    from ..runner.artifacts import load_step_results

    if run_id is None:
        return None
    try:
        registry = load_step_results("registry", output_dir)
    except FileNotFoundError:
        return None
    if (registry.get("promotion_pending") and registry.get("report_run_id") == run_id
            and registry.get("model_name") == model_name and registry.get("version") is not None):
        return int(registry["version"])
    return None


def champion_table(champion: ChampionCheck) -> pd.DataFrame:
    """Return the champion's PR-AUC, recall and precision at training and now, and the change."""
    names = {"average_precision": "PR-AUC (average precision)", "recall": "recall",
             "precision": "precision"}
    then, now = champion.at_training or {}, champion.now or {}
    rows = [{"metric": label, "at training": then.get(m, np.nan), "now": now.get(m, np.nan)}
            for m, label in names.items()]
    table = pd.DataFrame(rows).set_index("metric")
    table["change"] = table["now"] - table["at training"]
    return table.round(4)
