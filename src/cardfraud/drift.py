"""Drift monitoring: are this period's purchases still like the ones the champion learned from?

The reference is the training rows of the modeling step; the current data is the latest
``current_days`` days (when the purchases have timestamps) or a separate extract. Per feature:
the population stability index (PSI) over quantile bins of the reference (category shares for
the 0/1 flags), the Jensen-Shannon distance on the same bins, and the KS test (continuous) or
chi-square test (flags). Statuses come from the PSI alone: on hundreds of thousands of rows the
tests' p-values are tiny for shifts nobody would act on, so they are shown as information only.
Also the PSI of the champion's fraud probabilities and, when the current data has fraud labels,
its PR-AUC and recall now against those measured at training time. Only numpy and scipy.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from scipy import stats
from scipy.spatial.distance import jensenshannon

from .artifacts import (
    TRANSACTIONS_FILE,
    artifacts_dir,
    resolve_output_dir,
    save_step_results,
    transactions_path,
)
from .data import (
    FEATURES,
    FLAG_FEATURES,
    REQUIRED_COLUMNS,
    TARGET,
    DataValidationError,
    load_file,
)
from .plots import feature_label, label_axes, percent_axis

PSI_EPSILON = 1e-4  # share given to an empty bin, so the log stays finite
STATUSES = ("ok", "watch", "alert")
MONITORING_LOG = "monitoring_log.csv"
SPLIT_FILE = "split.parquet"
REFERENCE_COLOR, CURRENT_COLOR = "#4C72B0", "#DD8452"
STATUS_COLORS = {"ok": "#55A868", "watch": "#CCB974", "alert": "#C8423B"}


@dataclass
class MonitoringWindow:
    """The reference purchases (training rows), the current ones and where each came from."""

    reference: pd.DataFrame
    current: pd.DataFrame
    description: dict


@dataclass
class BinnedComparison:
    """Reference and current counts per bin of one variable, for PSI and the figures."""

    labels: list
    reference_counts: np.ndarray
    current_counts: np.ndarray

    def shares(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the reference and current shares per bin."""
        return (self.reference_counts / self.reference_counts.sum(),
                self.current_counts / self.current_counts.sum())


@dataclass
class FeatureDrift:
    """The per-feature drift table and each feature's binned counts."""

    table: pd.DataFrame
    binned: dict = field(default_factory=dict)


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


# --------------------------------------------------------------------------- metrics


def check_monitoring_params(bins: int, psi_watch: float, psi_alert: float,
                            current_days: int | None = None) -> None:
    """Raise ValueError (one line) on thresholds or bins that cannot give a status."""
    if isinstance(bins, bool) or not float(bins).is_integer() or bins < 2:
        raise ValueError(f"monitoring: bins must be an integer >= 2, not {bins!r}")
    if not 0 < psi_watch < psi_alert:
        raise ValueError(f"monitoring: need 0 < psi_watch < psi_alert, got psi_watch={psi_watch} "
                         f"and psi_alert={psi_alert}")
    if current_days is not None and (not float(current_days).is_integer() or current_days < 1):
        raise ValueError(f"monitoring: current_days must be an integer >= 1, not {current_days!r}")


def quantile_edges(reference: np.ndarray, bins: int = 10) -> np.ndarray:
    """Return the inner cut points of ``bins`` quantile bins of the reference (ties merged)."""
    return np.unique(np.quantile(reference, np.linspace(0.0, 1.0, int(bins) + 1)[1:-1]))


def _edge_labels(edges: np.ndarray) -> list[str]:
    """Return bin labels such as ``< 1.7``, ``1.7–3.2``, ``≥ 263``."""
    if len(edges) == 0:
        return ["all"]
    text = [f"{e:.3g}" for e in edges]
    return [f"< {text[0]}"] + [f"{a}–{b}" for a, b in zip(text[:-1], text[1:], strict=True)] \
        + [f"≥ {text[-1]}"]


def bin_values(reference: np.ndarray, current: np.ndarray, bins: int = 10,
               flag: bool = False) -> BinnedComparison:
    """Count reference and current values per bin: quantile bins, or the 0/1 categories of a flag.

    Quantile bins collapse on a 0/1 flag (most cut points are equal), so flags are compared
    by their category frequencies instead.
    """
    if flag:
        ref = np.bincount(np.asarray(reference, dtype=np.int64), minlength=2)[:2]
        cur = np.bincount(np.asarray(current, dtype=np.int64), minlength=2)[:2]
        return BinnedComparison(["no (0)", "yes (1)"], ref, cur)
    edges = quantile_edges(reference, bins)
    size = len(edges) + 1
    ref = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=size)
    cur = np.bincount(np.searchsorted(edges, current, side="right"), minlength=size)
    return BinnedComparison(_edge_labels(edges), ref, cur)


def population_stability_index(reference_counts, current_counts,
                               epsilon: float = PSI_EPSILON) -> float:
    """Return PSI = sum((current - reference) * ln(current / reference)) over bin shares.

    Empty bins get the share ``epsilon`` so one empty bin gives a large but finite PSI.
    """
    ref = np.asarray(reference_counts, dtype=float)
    cur = np.asarray(current_counts, dtype=float)
    ref = np.maximum(ref / ref.sum(), epsilon)
    cur = np.maximum(cur / cur.sum(), epsilon)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def js_distance(reference_counts, current_counts) -> float:
    """Return the Jensen-Shannon distance (base 2, 0 = same, 1 = disjoint) between bin shares."""
    return float(jensenshannon(np.asarray(reference_counts, float),
                               np.asarray(current_counts, float), base=2))


def chi_square_test(reference_counts, current_counts) -> tuple[float, float]:
    """Return chi-square statistic and p-value of a 2 x k table; (0, 1) when one category."""
    table = np.vstack([reference_counts, current_counts]).astype(float)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 0.0, 1.0
    result = stats.chi2_contingency(table, correction=False)
    return float(result.statistic), float(result.pvalue)


def drift_status(psi: float, psi_watch: float = 0.1, psi_alert: float = 0.25) -> str:
    """Return ``ok``, ``watch`` (PSI >= psi_watch) or ``alert`` (PSI >= psi_alert)."""
    return "alert" if psi >= psi_alert else "watch" if psi >= psi_watch else "ok"


def worst_status(statuses) -> str:
    """Return the most severe of the statuses given (None entries ignored)."""
    found = [STATUSES.index(s) for s in statuses if s is not None]
    return STATUSES[max(found)] if found else "ok"


def compare_feature(reference: np.ndarray, current: np.ndarray, flag: bool, bins: int,
                    psi_watch: float, psi_alert: float) -> tuple[dict, BinnedComparison]:
    """Return one row of the drift table and the binned counts of one feature."""
    binned = bin_values(reference, current, bins, flag)
    psi = population_stability_index(binned.reference_counts, binned.current_counts)
    if flag:
        statistic, p_value = chi_square_test(binned.reference_counts, binned.current_counts)
        ref_value, cur_value, test = reference.mean(), current.mean(), "chi-square"
    else:
        result = stats.ks_2samp(reference, current, method="asymp")
        statistic, p_value = float(result.statistic), float(result.pvalue)
        ref_value, cur_value, test = np.median(reference), np.median(current), "KS"
    row = {"kind": "flag (share of 1)" if flag else "continuous (median)",
           "reference": float(ref_value), "current": float(cur_value), "psi": psi,
           "js_distance": js_distance(binned.reference_counts, binned.current_counts),
           "test": test, "statistic": statistic, "p_value": p_value,
           "status": drift_status(psi, psi_watch, psi_alert)}
    return row, binned


def feature_drift(reference: pd.DataFrame, current: pd.DataFrame, bins: int = 10,
                  psi_watch: float = 0.1, psi_alert: float = 0.25) -> FeatureDrift:
    """Compare the seven model inputs of the current purchases with the reference ones."""
    check_monitoring_params(bins, psi_watch, psi_alert)
    rows, binned = {}, {}
    for feature in FEATURES:
        rows[feature], binned[feature] = compare_feature(
            reference[feature].to_numpy(dtype=float), current[feature].to_numpy(dtype=float),
            feature in FLAG_FEATURES, bins, psi_watch, psi_alert)
    table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("feature")
    return FeatureDrift(table=table, binned=binned)


# --------------------------------------------------------------------------- the data compared


def _period(stamps: pd.Series) -> list[str] | None:
    """Return [first day, last day] of timestamps (text read from a CSV too), or None."""
    stamps = pd.to_datetime(stamps, errors="coerce").dropna()
    return [f"{stamps.min():%Y-%m-%d}", f"{stamps.max():%Y-%m-%d}"] if len(stamps) else None


def monitoring_window(transactions: pd.DataFrame, split: np.ndarray | None, current_days: int = 14,
                      current: pd.DataFrame | None = None,
                      current_path: str | None = None) -> MonitoringWindow:
    """Pick the reference (training rows) and the current purchases.

    Current is ``current`` when given (a separate extract), else the latest ``current_days``
    calendar days when there are timestamps (training rows in that period are left out of the
    reference, and counted), else the held-out test rows as a no-drift baseline. Without a
    split (``None``) every transaction counts as a training row.
    """
    kind = "purchases of the reference data" if split is None else "training purchases"
    split = np.full(len(transactions), "train") if split is None else np.asarray(split)
    if len(split) != len(transactions):
        raise ValueError(f"{SPLIT_FILE} has {len(split):,} rows but the transactions have "
                         f"{len(transactions):,}: re-run the modeling step on the current data")
    train = split == "train"
    has_time = "timestamp" in transactions.columns
    overlap = np.zeros(len(transactions), dtype=bool)
    test_period = False
    if current is not None:
        source, note = "file", f"the extract {current_path or 'given'}"
    elif has_time:
        stamps = pd.to_datetime(transactions["timestamp"])
        cut = stamps.max().floor("D") - pd.Timedelta(days=int(current_days) - 1)
        in_period = (stamps >= cut).to_numpy()
        overlap = train & in_period
        current = transactions.loc[in_period]
        test_period = bool(np.array_equal(in_period, ~train))
        source, note = "latest_days", f"the latest {int(current_days)} days"
    else:
        current = transactions.loc[~train]
        source = "test_rows"
        note = ("the held-out test rows: the data has no timestamps and no current_path was "
                "given, so this only shows the noise between two samples of the same extract")
    reference = transactions.loc[train & ~overlap]
    if len(current) == 0:
        raise ValueError("monitoring: no current purchases to compare: the data has no timestamps "
                         "and no test rows; give a current extract (current_path / --current)")
    if len(reference) == 0:
        raise ValueError(f"monitoring: current_days={current_days} covers every training day, "
                         f"so no reference is left; lower current_days")
    description = {
        "current_source": source, "current_path": current_path, "note": note,
        "current_rows": len(current), "reference_rows": len(reference), "reference_kind": kind,
        "overlap_excluded_rows": int(overlap.sum()), "current_is_test_set": test_period,
        "current_period": _period(current["timestamp"]) if "timestamp" in current else None,
        "reference_period": _period(reference["timestamp"]) if has_time else None,
        "current_has_labels": TARGET in current.columns and current[TARGET].notna().all(),
    }
    return MonitoringWindow(reference, current.reset_index(drop=True), description)


def load_monitoring_window(output_dir=None, current_days: int = 14,
                           current_path: str | None = None) -> MonitoringWindow:
    """Read the load step's transactions, the modeling split and the current extract if any.

    The current extract is validated like the load step (fraud labels optional).
    """
    path = artifacts_dir(output_dir) / SPLIT_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: run the 'modeling' step first "
                                f"(python run_all.py --only modeling)")
    source = transactions_path(output_dir)
    wanted = [*REQUIRED_COLUMNS, "timestamp"]  # reading only these keeps 1M rows under a second
    transactions = pd.read_parquet(source, columns=[c for c in pq.read_schema(source).names
                                                    if c in wanted])
    split = pd.read_parquet(path)["split"].to_numpy()
    current = load_file(current_path, require_target=False)[0] if current_path else None
    return monitoring_window(transactions, split, current_days, current, current_path)


def describe_window(window: MonitoringWindow) -> str:
    """Return one sentence on what is compared with what."""
    d = window.description
    period = f" ({d['current_period'][0]} to {d['current_period'][1]})" if d["current_period"] else ""
    ref_period = (f" ({d['reference_period'][0]} to {d['reference_period'][1]})"
                  if d["reference_period"] else "")
    overlap = (f" {d['overlap_excluded_rows']:,} more training purchases fall in the current "
               f"period and are left out of the reference." if d["overlap_excluded_rows"] else "")
    labels = ("It has fraud labels, so the champion's performance can be measured."
              if d["current_has_labels"] else "It has no fraud labels: performance is not measured.")
    if d["current_is_test_set"]:
        labels += (" The current period is exactly the modeling step's test period, so the "
                   "champion's performance now repeats its test result; give current_path (new "
                   "purchases) to follow it on data it has not been evaluated on.")
    return (f"Current: {d['current_rows']:,} purchases, {d['note']}{period}. Reference: "
            f"{d['reference_rows']:,} {d['reference_kind']}{ref_period}.{overlap} {labels}")


# --------------------------------------------------------------------------- the champion


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


def metrics_at_training(model_name: str, version: int | None) -> dict | None:
    """Return the test metrics the registry recorded for a version, or None when unknown."""
    from mlflow.exceptions import MlflowException

    from .registry import registry_table

    try:
        table = registry_table(model_name)
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
            ``threshold`` (a :class:`cardfraud.registry.LoadedScorer`).
        sample_rows: reference purchases scored (a random sample) for the score distribution;
            every current purchase is scored, since performance needs them all.
        at_training: the champion's metrics when it was trained (registry tags).
    """
    from .data import model_features

    reference = window.reference
    if sample_rows and len(reference) > sample_rows:
        reference = reference.sample(n=int(sample_rows), random_state=seed)
    reference_scores = scorer.score(model_features(reference))["probability"].to_numpy()
    scored = scorer.score(model_features(window.current))
    binned = bin_values(reference_scores, scored["probability"].to_numpy(), bins)
    psi = population_stability_index(binned.reference_counts, binned.current_counts)
    now = (performance_now(window.current[TARGET].to_numpy(), scored)
           if window.description["current_has_labels"] else None)
    threshold = f" (threshold {scorer.threshold:.4f})" if scorer.threshold is not None else ""
    message = (f"Champion version {scorer.version}{threshold} scored {len(window.current):,} "
               f"current and {len(reference):,} reference purchases.")
    if window.description["current_has_labels"] and now is None:
        message += " The current fraud labels hold one class only: performance is not measured."
    if at_training is None:
        message += " The registry holds no test metrics for this version."
    return ChampionCheck(True, message, scorer.version, scorer.threshold, psi,
                         drift_status(psi, psi_watch, psi_alert), binned, now, at_training)


def champion_check(window: MonitoringWindow, model_name: str, tracking_uri: str | None = None,
                   bins: int = 10, psi_watch: float = 0.1, psi_alert: float = 0.25,
                   sample_rows: int | None = 50_000, seed: int = 42) -> ChampionCheck:
    """Load the registry's champion and check it; say so in one line when there is none."""
    with warnings.catch_warnings():  # tqdm's "IProgress not found" when mlflow loads in Jupyter
        warnings.filterwarnings("ignore", message="IProgress not found")
        from .registry import load_champion

    try:
        scorer = load_champion(model_name, tracking_uri)
    except LookupError as exc:
        return ChampionCheck(False, f"No champion to check ({str(exc).splitlines()[0]}): score "
                                    f"drift and performance are skipped; run the registry step.")
    return champion_score_drift(scorer, window, bins, psi_watch, psi_alert, sample_rows, seed,
                                metrics_at_training(model_name, scorer.version))


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


# --------------------------------------------------------------------------- status and advice


def data_feed_problems(window: MonitoringWindow) -> list[str]:
    """Return signs of a broken feed rather than a change in behaviour, one phrase each.

    A flag stuck at 0 or 1 that varied in the reference, a continuous feature that became
    constant, or most current values outside everything seen in the reference (units?).
    """
    problems = []
    for feature in FEATURES:
        ref = window.reference[feature].to_numpy(dtype=float)
        cur = window.current[feature].to_numpy(dtype=float)
        if feature in FLAG_FEATURES:
            if cur.min() == cur.max() and 0.01 < ref.mean() < 0.99:
                problems.append(f"{feature} is {cur[0]:g} on every current purchase "
                                f"(reference share of 1: {ref.mean():.1%})")
        elif cur.min() == cur.max() and ref.min() < ref.max():
            problems.append(f"{feature} is {cur[0]:g} on every current purchase")
        else:
            outside = float(np.mean((cur < ref.min()) | (cur > ref.max())))
            if outside > 0.5:
                problems.append(f"{outside:.0%} of current {feature} values are outside the "
                                f"reference range {ref.min():.3g}–{ref.max():.3g}")
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
    return ", ".join(f"{f} (PSI {r.psi:.2f}, {r.status})" for f, r in chosen.iterrows())


def recommendation(overall: str, performance: str | None, problems: list[str], changed: str,
                   champion: ChampionCheck, table: pd.DataFrame) -> tuple[str, str]:
    """Return the action (none, watch, investigate, check_data_feed, retrain) and why, in words."""
    now, then = champion.now or {}, champion.at_training or {}
    if problems:
        return "check_data_feed", (
            f"Check the data feed before anything else: {'; '.join(problems)}. A broken feed "
            f"looks like drift, and retraining on it would teach the model the error.")
    if performance == "alert":
        cause = (f"Drifted: {changed}. " if changed else
                 "The purchases look stable, so the fraud itself has probably changed. ")
        return "retrain", (
            f"Retrain: the champion's PR-AUC is {now['average_precision']:.3f} against "
            f"{then['average_precision']:.3f} at training (recall {now['recall']:.3f} against "
            f"{then['recall']:.3f}). {cause}Train on recent labelled purchases and let the "
            f"registry step compare the challenger with the champion.")
    if overall == "alert" and performance == "ok":
        return "investigate", (
            f"The purchases changed ({changed}) but the champion still performs (PR-AUC "
            f"{now['average_precision']:.3f} against {then['average_precision']:.3f} at "
            f"training): no retraining yet; find out with the fraud team why, and check again "
            f"next period.")
    if overall == "alert":
        return "retrain", (
            f"Prepare a retraining: the purchases moved beyond the alert level ({changed}) and "
            f"the champion's performance on them is not known yet. Get their fraud labels, "
            f"retrain on recent purchases and compare the challenger with the champion.")
    if overall == "watch":
        return "watch", f"Keep watching: {changed} moved moderately; no action yet, check again next period."
    top = table["psi"].idxmax()
    return "none", (f"No action: the current purchases look like the training data (largest "
                    f"PSI {table.loc[top, 'psi']:.3f}, {top}).")


def monitoring_status(window: MonitoringWindow, drift: FeatureDrift, champion: ChampionCheck,
                      performance_drop: float = 0.05) -> dict:
    """Return the overall status (worst of features, scores, performance) and the advice."""
    table = drift.table
    feature_status = worst_status(table["status"])
    performance = _performance_status(champion, performance_drop)
    overall = worst_status([feature_status, champion.score_status, performance])
    problems = data_feed_problems(window)
    score = (f"the champion's scores shifted (score PSI {champion.score_psi:.2f})"
             if champion.score_status in ("watch", "alert") else "")
    changed = "; ".join(p for p in (_listed(table, ("alert", "watch")), score) if p)
    action, text = recommendation(overall, performance, problems, changed, champion, table)
    return {"overall_status": overall, "feature_status": feature_status,
            "score_status": champion.score_status, "performance_status": performance,
            "drifted_features": list(table.index[table["status"] != "ok"]),
            "data_feed_problems": problems, "action": action, "recommendation": text}


def status_summary(status: dict) -> str:
    """Return the overall status and the recommendation as one Markdown paragraph."""
    return f"**Overall status: {status['overall_status'].upper()}.** {status['recommendation']}"


# --------------------------------------------------------------------------- log and results


def monitoring_log_path(output_dir=None) -> Path:
    """Return ``artifacts/monitoring_log.csv``, which run_all carries from run to run."""
    return artifacts_dir(output_dir) / MONITORING_LOG


def monitoring_log_row(run_id: str | None, window: MonitoringWindow, drift: FeatureDrift,
                       champion: ChampionCheck, status: dict) -> dict:
    """Return this run's row of the monitoring log."""
    d, table = window.description, drift.table
    period = d["current_period"] or [None, None]
    now, then = champion.now or {}, champion.at_training or {}
    row = {"run_id": run_id or f"manual-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%SZ}",
           "monitored_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
           "current_source": d["current_source"], "current_start": period[0],
           "current_end": period[1], "current_rows": d["current_rows"],
           "reference_rows": d["reference_rows"], "overall_status": status["overall_status"],
           "action": status["action"], "max_feature_psi": float(table["psi"].max()),
           "max_psi_feature": str(table["psi"].idxmax()), "score_psi": champion.score_psi,
           "champion_version": champion.version,
           "pr_auc_now": now.get("average_precision"), "recall_now": now.get("recall"),
           "pr_auc_at_training": then.get("average_precision"),
           "recall_at_training": then.get("recall")}
    row.update({f"psi_{f}": float(table.loc[f, "psi"]) for f in FEATURES})
    return row


def read_monitoring_log(path: Path) -> pd.DataFrame:
    """Return the monitoring log (empty when absent); a damaged file raises one line."""
    if not path.exists():
        return pd.DataFrame()
    try:
        log = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a readable monitoring log ({str(exc).splitlines()[0]}); "
                         f"move it aside to start a new log") from None
    if "run_id" not in log.columns:
        raise ValueError(f"{path}: not a monitoring log (no run_id column); move it aside to "
                         f"start a new log")
    return log


def append_monitoring_log(row: dict, output_dir=None) -> pd.DataFrame:
    """Add this run's row to the log (replacing a row of the same run) and write it atomically."""
    path = monitoring_log_path(output_dir)
    log = read_monitoring_log(path)
    if len(log):
        log = log.loc[log["run_id"].astype(str) != str(row["run_id"])]
    log = pd.concat([log, pd.DataFrame([row])], ignore_index=True) if len(log) else pd.DataFrame([row])
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    try:
        log.to_csv(tmp, index=False)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return log


def monitoring_log_table(log: pd.DataFrame, last: int = 10) -> pd.DataFrame:
    """Return the latest runs of the log with the columns worth reading."""
    shown = [c for c in ("run_id", "monitored_at", "current_start", "current_end", "current_rows",
                         "overall_status", "action", "max_feature_psi", "max_psi_feature",
                         "score_psi", "pr_auc_now", "recall_now") if c in log.columns]
    return log[shown].tail(last).set_index("run_id")


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


# --------------------------------------------------------------------------- figures


def _draw_binned(ax, binned: BinnedComparison, title: str, xlabel: str) -> None:
    """Draw reference and current shares per bin side by side."""
    ref, cur = binned.shares()
    x = np.arange(len(binned.labels))
    ax.bar(x - 0.2, ref, width=0.4, color=REFERENCE_COLOR, label="reference (training)")
    ax.bar(x + 0.2, cur, width=0.4, color=CURRENT_COLOR, label="current")
    ax.set_xticks(x, binned.labels, rotation=35 if len(x) > 2 else 0, ha="right" if len(x) > 2 else "center")
    label_axes(ax, title, xlabel, "share of purchases (%)")
    ax.set_ylim(0, max(ref.max(), cur.max()) * 1.3)  # room for the legend above the bars
    percent_axis(ax)


def feature_drift_figure(drift: FeatureDrift, max_features: int = 6) -> plt.Figure:
    """Reference against current per bin for the drifted features (else the largest PSI)."""
    table = drift.table.sort_values("psi", ascending=False)
    drifted = list(table.index[table["status"] != "ok"][:max_features]) or [table.index[0]]
    columns = min(2, len(drifted))
    rows = int(np.ceil(len(drifted) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(6.2 * columns, 3.9 * rows), squeeze=False)
    for ax, feature in zip(axes.flat, drifted, strict=False):
        r = table.loc[feature]
        _draw_binned(ax, drift.binned[feature], f"{feature}: PSI {r.psi:.4f} ({r.status})",
                     feature_label(feature))
    for ax in list(axes.flat)[len(drifted):]:
        ax.set_visible(False)
    axes.flat[0].legend(loc="upper center", ncol=2)
    fig.tight_layout()
    return fig


def score_drift_figure(champion: ChampionCheck) -> plt.Figure:
    """The champion's fraud probabilities: reference against current per reference decile."""
    fig, ax = plt.subplots(figsize=(9.0, 4.2))
    _draw_binned(ax, champion.score_binned,
                 f"Champion v{champion.version} scores: PSI {champion.score_psi:.4f} "
                 f"({champion.score_status})", "fraud probability (bins of the reference)")
    ax.legend(loc="upper center", ncol=2)
    fig.tight_layout()
    return fig


def monitoring_history_figure(log: pd.DataFrame, psi_watch: float = 0.1,
                              psi_alert: float = 0.25) -> plt.Figure:
    """PSI (largest feature, champion's scores) and PR-AUC over the logged runs."""
    runs = np.arange(1, len(log) + 1)
    labelled = "pr_auc_now" in log and log["pr_auc_now"].notna().any()
    fig, axes = plt.subplots(1, 2 if labelled else 1, figsize=(12 if labelled else 8, 4.2),
                             squeeze=False)
    ax = axes[0, 0]
    ax.plot(runs, log["max_feature_psi"], "o-", color=REFERENCE_COLOR, label="largest feature PSI")
    if "score_psi" in log and log["score_psi"].notna().any():
        ax.plot(runs, log["score_psi"], "s--", color=CURRENT_COLOR, label="champion score PSI")
    for level, name in ((psi_watch, "watch"), (psi_alert, "alert")):
        ax.axhline(level, color=STATUS_COLORS[name], linestyle=":", label=f"{name} ({level:g})")
    label_axes(ax, "Drift over the monitoring runs", "monitoring run (oldest first)", "PSI")
    ax.set_ylim(bottom=0)
    ax.legend(loc="best")
    if labelled:
        ax = axes[0, 1]
        for metric, name, color in (("pr_auc", "PR-AUC", CURRENT_COLOR), ("recall", "recall", REFERENCE_COLOR)):
            ax.plot(runs, log[f"{metric}_now"], "o-", color=color, label=f"{name} now")
            ax.plot(runs, log[f"{metric}_at_training"], "x:", color=color, label=f"{name} at training")
        label_axes(ax, "Champion's performance on the current purchases",
                   "monitoring run (oldest first)", "PR-AUC, recall (0-1)")
        ax.set_ylim(0, 1.05)
        ax.legend(loc="lower left", ncol=2)
    for ax in axes.flat:
        ax.set_xticks(runs)
    fig.tight_layout()
    return fig


def style_drift_table(drift: FeatureDrift):
    """Return the drift table for reading: PSI to 3 decimals, p-values in e-notation, colours."""
    formats = {"reference": "{:.3g}", "current": "{:.3g}", "psi": "{:.3f}",
               "js_distance": "{:.3f}", "statistic": "{:.3g}", "p_value": "{:.2e}"}
    return drift.table.style.format(formats).map(
        lambda s: f"background-color: {STATUS_COLORS[s]}; color: white", subset=["status"])


# --------------------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    """Return the ``drift`` command's argument parser."""
    default_reference = resolve_output_dir(None) / "artifacts" / TRANSACTIONS_FILE
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
    if split_path.exists() and reference_path.name == TRANSACTIONS_FILE:
        split = pd.read_parquet(split_path)["split"].to_numpy()
        split = split if len(split) == len(reference) else None
    current = load_file(args.current, require_target=False)[0] if args.current else None
    return monitoring_window(reference, split, args.current_days, current, args.current)


def cli(argv: list[str] | None = None) -> int:
    """``python -m cardfraud drift``: print the drift per feature and the overall status.

    Returns 0 when the comparison ran (whatever the status), 2 on a bad file or parameter.
    """
    args = build_parser().parse_args(argv)
    try:
        check_monitoring_params(args.bins, args.psi_watch, args.psi_alert, args.current_days)
        window = cli_window(args)
        drift = feature_drift(window.reference, window.current, args.bins, args.psi_watch,
                              args.psi_alert)
    except (DataValidationError, ValueError, FileNotFoundError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    champion = (champion_check(window, args.model_name, args.tracking_uri, args.bins,
                               args.psi_watch, args.psi_alert) if args.champion
                else ChampionCheck(False, "The champion was not checked (add --champion)."))
    status = monitoring_status(window, drift, champion)
    print(describe_window(window))
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
