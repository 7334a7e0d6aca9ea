"""Drift monitoring: are this period's purchases still like the ones the champion learned from?

The reference is the training rows of the modeling step; the current data is the latest
``current_days`` days (when the purchases have timestamps) or a separate extract
(:mod:`.window`). The seven features are compared with the metrics of :mod:`.drift`;
the champion's fraud probabilities by their PSI and, when the current data has fraud labels, its
PR-AUC and recall now against those measured at training time (:mod:`.champion`).
This module turns these into an overall status, a recommendation and the step's results, and
runs ``python -m cardfraud drift``; the log is :mod:`.log`, the figures :mod:`.figures`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.checks import DataValidationError
from ..data.cleaning import load_file
from ..data.schema import FEATURES, FLAG_FEATURES, unknown_input_text
from ..report.locale_format import fill
from ..report.markup import plain_text, sentence
from ..report.table_language import key_words
from ..report.translate import _, translate
from ..runner.artifacts import (
    resolve_output_dir,
    save_step_results,
    tracking_uri_from_caller,
)
from ..runner.contract import ARTIFACTS_FOLDER, TRANSACTIONS
from ..runner.parameter_rules import check_model_name
from .champion import ChampionCheck, champion_table
from .drift import FeatureDrift, check_monitoring_params, worst_status
from .window import SPLIT_FILE, MonitoringWindow, describe_window, monitoring_window

# --------------------------------------------------------------------------- status and advice


def data_feed_problems(window: MonitoringWindow) -> list[str]:
    """Return signs of a broken feed rather than a change in behaviour, one phrase each.

    A flag stuck at 0 or 1 that varied in the reference, a continuous feature that became
    constant, or most current values outside everything seen in the reference (units?).
    """
    problems = []
    for feature in [f for f in FEATURES if f in window.reference and f in window.current]:
        ref = window.reference[feature].to_numpy(dtype=float)
        cur = window.current[feature].to_numpy(dtype=float)
        if feature in FLAG_FEATURES:
            if cur.min() == cur.max() and 0.01 < ref.mean() < 0.99:
                problems.append(fill(_("{feature} is {value:g} on every current purchase "
                                       "(reference share of 1: {share:.1%})"),
                                     feature=key_words(feature), value=cur[0], share=ref.mean()))
        elif cur.min() == cur.max() and ref.min() < ref.max():
            problems.append(fill(_("{feature} is {value:g} on every current purchase"),
                                 feature=key_words(feature), value=cur[0]))
        else:
            outside = float(np.mean((cur < ref.min()) | (cur > ref.max())))
            if outside > 0.5:
                problems.append(fill(_("{outside:.0%} of current {feature} values are outside "
                                       "the reference range {low:.3g}–{high:.3g}"),
                                     outside=outside, feature=key_words(feature), low=ref.min(),
                                     high=ref.max()))
    return problems


def _performance_status(champion: ChampionCheck, performance_drop: float) -> str | None:
    """Return ``alert`` when PR-AUC or recall fell by more than ``performance_drop`` and by more
    than chance on this many frauds explains (2 rough binomial standard errors), else ``ok``.

    None when the current purchases have no labels or the training metrics are unknown.
    """
    if not (champion.now and champion.at_training):
        return None
    frauds = champion.now["frauds"]
    for metric in ("average_precision", "recall"):
        then, now = champion.at_training[metric], champion.now[metric]
        noise = 2 * np.sqrt(max(then * (1 - then), 1e-12) / frauds)
        if then - now > max(performance_drop, noise):
            return "alert"
    return "ok"


def _listed(table: pd.DataFrame, statuses: tuple) -> str:
    """Return 'a (PSI 0.31, alert), b (PSI 0.12, watch)' for features with these statuses."""
    chosen = table.loc[table["status"].isin(statuses)].sort_values("psi", ascending=False)
    return ", ".join(fill("{feature} (PSI {psi:.2f}, {status})", feature=key_words(f), psi=r.psi,
                          status=translate(r.status)) for f, r in chosen.iterrows())


def recommendation(overall: str, performance: str | None, problems: list[str], changed: str,
                   champion: ChampionCheck, table: pd.DataFrame) -> tuple[str, str]:
    """Return the action (none, watch, investigate, check_data_feed, retrain) and why, in words."""
    now, then = champion.now or {}, champion.at_training or {}
    if problems:
        return "check_data_feed", fill(
            _("Check the data feed before anything else: {problems}. A broken feed looks like "
              "drift, and retraining on it would teach the model the error."),
            problems="; ".join(problems))
    if performance == "alert":
        cause = (fill(_("Drifted: {changed}. "), changed=changed) if changed else
                 _("The purchases look stable, so the fraud itself has probably changed. "))
        return "retrain", fill(
            _("Retrain: the champion's PR-AUC is {pr_auc:.3f} against {pr_auc_then:.3f} at "
              "training (recall {recall:.3f} against {recall_then:.3f}). {cause}Train on recent "
              "labelled purchases and let the registry step compare the challenger with the "
              "champion."), pr_auc=now["average_precision"], pr_auc_then=then["average_precision"],
            recall=now["recall"], recall_then=then["recall"], cause=cause)
    if overall == "alert" and performance == "ok":
        return "investigate", fill(
            _("The purchases changed ({changed}) but the champion still performs (PR-AUC "
              "{pr_auc:.3f} against {pr_auc_then:.3f} at training): no retraining yet; find out "
              "with the fraud team why, and check again next period."), changed=changed,
            pr_auc=now["average_precision"], pr_auc_then=then["average_precision"])
    if overall == "alert":
        return "retrain", fill(
            _("Prepare a retraining: the purchases moved beyond the alert level ({changed}) and "
              "the champion's performance on them is not known yet. Get their fraud labels, "
              "retrain on recent purchases and compare the challenger with the champion."),
            changed=changed)
    if overall == "watch":
        return "watch", fill(_("Keep watching: {changed} moved moderately; no action yet, check "
                               "again next period."), changed=changed)
    top = table["psi"].idxmax()
    return "none", fill(_("No action: the current purchases look like the training data (largest "
                          "PSI {psi:.3f}, {feature})."), psi=table.loc[top, "psi"],
                feature=key_words(top))


def monitoring_status(window: MonitoringWindow, drift: FeatureDrift, champion: ChampionCheck,
                      performance_drop: float = 0.05, problems: list[str] | None = None) -> dict:
    """Return the overall status (worst of features, scores, performance) and the advice.

    ``problems``: the data feed's problems when already found (a Spark run counts them on
    Spark); None finds them with :func:`data_feed_problems`.
    """
    table = drift.table
    feature_status = worst_status(table["status"])
    performance = _performance_status(champion, performance_drop)
    overall = worst_status([feature_status, champion.score_status, performance])
    problems = data_feed_problems(window) if problems is None else problems
    score = (fill(_("the champion's scores shifted (score PSI {psi:.2f})"), psi=champion.score_psi)
             if champion.score_status in ("watch", "alert") else "")
    changed = "; ".join(p for p in (_listed(table, ("alert", "watch")), score) if p)
    action, text = recommendation(overall, performance, problems, changed, champion, table)
    return {"overall_status": overall, "feature_status": feature_status,
            "score_status": champion.score_status, "performance_status": performance,
            "drifted_features": list(table.index[table["status"] != "ok"]),
            "data_feed_problems": problems, "action": action, "recommendation": text}


def status_summary(status: dict) -> str:
    """Return the overall status and the recommendation as one Markdown paragraph."""
    return sentence(_("**Overall status: {status}.** {recommendation}"),
                    status=translate(status["overall_status"].upper()),
                    recommendation=status["recommendation"])


# --------------------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    """Return the ``drift`` command's argument parser."""
    default_reference = resolve_output_dir(None) / ARTIFACTS_FOLDER / TRANSACTIONS.file
    parser = argparse.ArgumentParser(
        prog="python -m cardfraud drift",
        description="Compare new purchases with the training data: PSI per feature and status.")
    parser.add_argument("--current", default=None,
                        help="new extract (.csv or .parquet); default: the latest --current-days "
                             "days of the reference data")
    parser.add_argument("--reference", default=str(default_reference),
                        help="training data (default: reports/artifacts/transactions.parquet; "
                             "its training rows when split.parquet lies beside it)")
    parser.add_argument("--current-days", type=int, default=14,
                        help="latest days compared when --current is not given (default 14)")
    parser.add_argument("--bins", type=int, default=10, help="quantile bins for PSI (default 10)")
    parser.add_argument("--psi-watch", type=float, default=0.1, help="watch from this PSI (0.1)")
    parser.add_argument("--psi-alert", type=float, default=0.25, help="alert from this PSI (0.25)")
    parser.add_argument("--champion", action="store_true",
                        help="also score with the registry's champion: score PSI and, with fraud "
                             "labels, PR-AUC and recall now against at training")
    parser.add_argument("--model-name", default="card-fraud-detector")
    parser.add_argument("--tracking-uri", default=None,
                        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else mlruns/)")
    return parser


def cli_window(args: argparse.Namespace) -> MonitoringWindow:
    """Read the reference (its training rows when split.parquet lies beside it) and the current."""
    reference_path = Path(args.reference)
    reference = load_file(reference_path, require_target=False)[0]
    split_path = reference_path.parent / SPLIT_FILE
    split = None
    if split_path.exists() and reference_path.name == TRANSACTIONS.file:
        split = pd.read_parquet(split_path)["split"].to_numpy()
        split = split if len(split) == len(reference) else None
    current = load_file(args.current, require_target=False)[0] if args.current else None
    return monitoring_window(reference, split, args.current_days, current, args.current)


def cli(argv: list[str] | None = None) -> int:
    """``python -m cardfraud drift``: print the drift per feature and the overall status.

    Returns 0 when the comparison ran (whatever the status), 2 on a bad file or parameter.
    """
    from .page import assess_window  # the step's assessment, as the notebook runs it

    args = build_parser().parse_args(argv)
    try:
        check_monitoring_params(args.bins, args.psi_watch, args.psi_alert, args.current_days)
        check_model_name(args.model_name, "--model-name")
        window = cli_window(args)
        tracking_uri = args.tracking_uri and tracking_uri_from_caller(args.tracking_uri,
                                                                      Path.cwd())
        found = assess_window(window, model_name=args.model_name, tracking_uri=tracking_uri,
                              bins=args.bins, psi_watch=args.psi_watch,
                              psi_alert=args.psi_alert, check_champion=args.champion)
    except (DataValidationError, ValueError, FileNotFoundError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    drift, champion, status = found.drift, found.champion, found.status
    print(plain_text(describe_window(window)))
    table = drift.table[["kind", "reference", "current", "psi", "js_distance", "test", "p_value",
                         "status"]]
    print(table.to_string(formatters={"reference": "{:.3g}".format, "current": "{:.3g}".format,
                                      "psi": "{:.4f}".format, "js_distance": "{:.4f}".format,
                                      "p_value": "{:.2e}".format}))
    print(champion.message)
    if champion.available:
        print(f"score PSI {champion.score_psi:.4f} ({champion.score_status})")
        print(champion_table(champion).to_string())
    print(f"overall: {status['overall_status'].upper()}. {status['recommendation']}")
    return 0


def monitoring_results(window: MonitoringWindow, drift: FeatureDrift, champion: ChampionCheck,
                       status: dict, settings: dict) -> dict:
    """Return the step's results for run.json (saved as ``monitoring``)."""
    d = window.description
    features = {f: {"status": r.status, "psi": float(r.psi), "js_distance": float(r.js_distance),
                    "test": r.test, "p_value": float(r.p_value)} for f, r in drift.table.iterrows()}
    return {**{k: status[k] for k in ("overall_status", "action", "recommendation",
                                      "feature_status", "score_status", "performance_status",
                                      "drifted_features", "data_feed_problems")},
            "features": features, "score_psi": champion.score_psi,
            "features_unknown": {f: unknown_input_text(f) for f in drift.unknown},
            "current": {"source": d["current_source"], "path": d["current_path"],
                        "period": d["current_period"], "rows": d["current_rows"],
                        "has_labels": bool(d["current_has_labels"])},
            "reference": {"rows": d["reference_rows"], "period": d["reference_period"],
                          "overlap_excluded_rows": d["overlap_excluded_rows"]},
            "champion": {"available": champion.available, "message": champion.message,
                         "version": champion.version, "threshold": champion.threshold,
                         "now": champion.now, "at_training": champion.at_training},
            "settings": settings}


def save_monitoring_results(results: dict, output_dir=None) -> dict:
    """Save the results as the ``monitoring`` step and return them."""
    save_step_results("monitoring", results, output_dir)
    return results
