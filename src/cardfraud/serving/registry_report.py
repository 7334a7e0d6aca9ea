"""What the registry step reports: the comparison with the champion, the check that the
registered scorer gives the scores of modeling, the results saved for the summary, the decision
in a sentence and the aliases each version will carry once the run is published.
"""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd

from ..data.schema import TARGET
from ..report.locale_format import fill
from ..report.markup import code, sentence
from ..report.translate import _
from .champion_rule import PromotionDecision, champion_after_run
from .registration import RegisteredVersion
from .registry import CHAMPION, champion_since
from .scorer import (
    load_candidate_scorer,
    load_champion,
)

with warnings.catch_warnings():  # tqdm warns "IProgress not found" when MLflow loads in Jupyter
    warnings.filterwarnings("ignore", message="IProgress not found")


SCORE_TOLERANCE = 1e-9


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
    sample = test.sample(n=min(sample_rows, len(test)), random_state=seed).sort_values("row")
    return compare_registered_scores(registered, lambda _inputs: sample,
                                     lambda _sample, _inputs: sample["modeling_probability"],
                                     rows=sample["row"])


def compare_registered_scores(registered: RegisteredVersion, draw_sample, modeling_probability,
                              rows=None) -> tuple[pd.DataFrame, str]:
    """Score the purchases ``draw_sample(inputs)`` gives with the registered model (the
    champion when it is this version, else the candidate) and compare with
    ``modeling_probability(sample, inputs)``; the champion's scores are added beside them when
    it is another version. ``rows``: the purchases' row numbers, kept in the table when given.

    Raises:
        AssertionError: when a probability differs from the modeling step's by more than 1e-9.
    """
    try:
        champion = load_champion(registered.model_name, registered.tracking_uri)
    except LookupError:
        champion = None
    is_champion = champion is not None and champion.version == registered.version
    checked = champion if is_champion else load_candidate_scorer(registered)
    sample = draw_sample(checked.inputs)
    scored = checked.score(sample)
    table = pd.DataFrame({} if rows is None else {"row": pd.Series(rows).to_numpy()})
    table[TARGET] = sample[TARGET].to_numpy()
    table["modeling_probability"] = np.asarray(modeling_probability(sample, checked.inputs))
    table["registered_probability"] = scored["probability"].to_numpy()
    table["decision"] = scored["decision"].to_numpy()
    table["difference"] = (table["registered_probability"] - table["modeling_probability"]).abs()
    lacking = [c for c in champion.inputs if c not in sample] if champion is not None else []
    if champion is not None and not is_champion and not lacking:
        table[f"champion_v{champion.version}_probability"] = \
            champion.score(sample)["probability"].to_numpy()
    worst = float(table["difference"].max())
    which = (fill(_("{uri} (version {version})"), uri=checked.uri, version=checked.version)
             if checked.version is not None else
             fill(_("{uri} (not registered)"), uri=checked.uri))
    if worst > SCORE_TOLERANCE:
        raise AssertionError(f"{which} does not reproduce the modeling step's scores: largest "
                             f"difference {worst:.3g}")
    # e.g. a history champion replaced by force on an extract without card_id or timestamp
    unscored = (" " + fill(_("Champion version {version} is not scored beside it: its inputs "
                             "{inputs} are not in these purchases."), version=champion.version,
                           inputs=", ".join(lacking)) if lacking and not is_champion else "")
    return table, fill(_("{which} reproduces the modeling step's probabilities on {rows} test "
                         "purchases: largest difference {worst:.1e}."), which=which,
                       rows=len(table), worst=worst) + unscored


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
            "champion_since": None if pending else champion_since(registered.model_name,
                                                                   registered.tracking_uri),
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
    text = sentence(_("**Decision:** {reason}."), reason=decision.reason)
    if decision.promote and registered.registers:
        text += sentence(_(" The {alias} alias moves to {label} when the whole run succeeds and "
                           "is published; a run that fails leaves the champion where it was."),
                         alias=code(CHAMPION), label=registered.label)
    elif decision.promote:
        text += _(" Nothing is applied: this notebook was opened by hand (`register = False`), "
                  "so it registers no version and moves no alias.")
    return text
