"""Drift metrics: do the current purchases differ from the reference ones, feature by feature?

Per feature: the population stability index (PSI) over quantile bins of the reference (category
shares for the 0/1 flags), the Jensen-Shannon distance on the same bins, and the KS test
(continuous) or chi-square test (flags). Statuses come from the PSI alone: on hundreds of
thousands of rows the tests' p-values are tiny for shifts nobody would act on, so they are shown
as information only. Only numpy and scipy. The monitoring step that uses these metrics (window,
champion, status, log, figures, ``python -m cardfraud drift``) is ``cardfraud.monitoring.status``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial.distance import jensenshannon

from ..data.schema import FEATURES, FLAG_FEATURES, available_inputs, unknown_input_text

PSI_EPSILON = 1e-4  # share given to an empty bin, so the log stays finite
STATUSES = ("ok", "watch", "alert")


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
    unknown: list = field(default_factory=list)  # inputs the extract lacks: no drift figure

    def unknown_table(self) -> pd.DataFrame:
        """Return one row per input the extract lacks, saying it is unknown (empty if none)."""
        return pd.DataFrame({"feature": self.unknown,
                             "drift": [unknown_input_text(f) for f in self.unknown]}
                            ).set_index("feature")


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
    """Return one row of the drift table and the binned counts of one feature.

    Unknown (NaN) values are left out of the comparison; the row gives their share per side.
    """
    unknown = {"unknown_reference": float(np.isnan(reference).mean()) if reference.size else 0.0,
               "unknown_current": float(np.isnan(current).mean()) if current.size else 0.0}
    reference, current = reference[~np.isnan(reference)], current[~np.isnan(current)]
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
           "status": drift_status(psi, psi_watch, psi_alert), **unknown}
    return row, binned


def feature_drift(reference: pd.DataFrame, current: pd.DataFrame, bins: int = 10,
                  psi_watch: float = 0.1, psi_alert: float = 0.25) -> FeatureDrift:
    """Compare the model inputs of the current purchases with the reference ones.

    Only inputs both sides give are compared; the others are listed as unknown (no PSI).
    """
    check_monitoring_params(bins, psi_watch, psi_alert)
    rows, binned = {}, {}
    known = [f for f in available_inputs(reference) if f in current]
    for feature in known:
        rows[feature], binned[feature] = compare_feature(
            reference[feature].to_numpy(dtype=float), current[feature].to_numpy(dtype=float),
            feature in FLAG_FEATURES, bins, psi_watch, psi_alert)
    table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("feature")
    return FeatureDrift(table=table, binned=binned,
                        unknown=[f for f in FEATURES if f not in known])
