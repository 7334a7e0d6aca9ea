"""Calibration of the simulator: its figures against the public table's, and separability.

``realism_report`` compares a simulated frame with ``CALIBRATION_TARGETS`` (quantiles,
shares, fraud rates by flag and their orderings; the reasons in ``docs/simulator.md``);
``separability_check`` trains a model on the early days and measures PR-AUC on the later ones.
``python -m cardfraud simulate --report`` prints both.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.schema import FEATURES, TARGET

_QUANTILE_TOL = 0.25
_SHARE_TOL = 0.03
_FRAUD_TOL = 0.005
CALIBRATION_TARGETS: dict = {
    "quantiles": {
        "distance_from_home": {0.10: 1.7, 0.50: 10.0, 0.90: 60.0, 0.99: 263.0},
        "distance_from_last_transaction": {0.10: 0.10, 0.50: 1.0, 0.90: 10.0, 0.99: 65.0},
        "ratio_to_median_purchase_price": {0.10: 0.24, 0.50: 1.0, 0.90: 4.05, 0.99: 12.7},
    },
    "shares": {"repeat_retailer": 0.88, "used_chip": 0.35, "used_pin_number": 0.10,
               "online_order": 0.65, "fraud": 0.087},
    "fraud_rates": {  # flag -> (rate when 1, rate when 0)
        "online_order": (0.125, 0.013), "used_pin_number": (0.003, 0.095),
        "used_chip": (0.064, 0.098), "repeat_retailer": (0.087, 0.087),
    },
    # flag -> (value with the higher fraud rate, minimum ratio of the two rates)
    "orderings": {"online_order": (1, 3.0), "used_pin_number": (0, 5.0), "used_chip": (0, 1.0)},
    "separability_pr_auc": (0.80, 0.97),
}


def _fraud_rate(frame: pd.DataFrame, flag: str, value: int) -> float:
    """Fraud rate among purchases whose ``flag`` equals ``value`` (NaN when there are none)."""
    chosen = frame["fraud"].to_numpy()[frame[flag].to_numpy() == value]
    return float(chosen.mean()) if len(chosen) else float("nan")


def realism_report(frame: pd.DataFrame) -> pd.DataFrame:
    """Compare a frame with the public table's figures (``CALIBRATION_TARGETS``).

    Returns:
        One row per measure: ``measure, target, simulated, tolerance, within``. Quantiles must
        be within ±25 % of the target, shares within ±3 points (fraud ±0.5), fraud rates by
        flag within ±3 points, and each ordering must hold (the ratio above its target).
    """
    rows = []
    for column, quantiles in CALIBRATION_TARGETS["quantiles"].items():
        values = frame[column].to_numpy()
        for q, target in quantiles.items():
            simulated = float(np.quantile(values, q))
            rows.append((f"{column} p{round(q * 100)}", target, simulated, "±25 %",
                         abs(simulated / target - 1) <= _QUANTILE_TOL))
    for column, target in CALIBRATION_TARGETS["shares"].items():
        tolerance = _FRAUD_TOL if column == "fraud" else _SHARE_TOL
        simulated = float(frame[column].mean())
        rows.append((f"share {column}", target, simulated, f"±{tolerance * 100:g} pts",
                     abs(simulated - target) <= tolerance))
    for flag, targets in CALIBRATION_TARGETS["fraud_rates"].items():
        for value, target in zip((1, 0), targets, strict=True):
            simulated = _fraud_rate(frame, flag, value)
            rows.append((f"fraud rate {flag}={value}", target, simulated, "±3 pts",
                         abs(simulated - target) <= _SHARE_TOL))
    for flag, (higher, minimum) in CALIBRATION_TARGETS["orderings"].items():
        ratio = _fraud_rate(frame, flag, higher) / _fraud_rate(frame, flag, 1 - higher)
        rows.append((f"fraud rate {flag}={higher} / {flag}={1 - higher}", minimum, ratio,
                     "> target", bool(ratio > minimum)))
    report = pd.DataFrame(rows, columns=["measure", "target", "simulated", "tolerance", "within"])
    report["within"] = report["within"].astype(bool)
    return report


def separability_check(frame: pd.DataFrame, train_days: int = 60, seed: int = 0) -> dict:
    """PR-AUC of a gradient-boosting model trained on the first ``train_days`` days.

    The model (sklearn ``HistGradientBoostingClassifier`` with default settings) sees the seven
    card_transdata features only and is tested on the later days. The simulator's story keeps
    the classes overlapping: at defaults this lands within ``CALIBRATION_TARGETS
    ["separability_pr_auc"]``.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import average_precision_score

    if "timestamp" not in frame:
        raise ValueError("separability_check needs the simulator's timestamp column")
    day = (frame["timestamp"] - frame["timestamp"].min().normalize()).dt.days.to_numpy()
    train = day < train_days
    if train.all() or not train.any():
        raise ValueError(f"separability_check: no purchases on both sides of day {train_days}")
    model = HistGradientBoostingClassifier(random_state=seed)
    model.fit(frame.loc[train, FEATURES], frame.loc[train, TARGET])
    scores = model.predict_proba(frame.loc[~train, FEATURES])[:, 1]
    test_fraud = frame.loc[~train, TARGET]
    low, high = CALIBRATION_TARGETS["separability_pr_auc"]
    pr_auc = float(average_precision_score(test_fraud, scores))
    return {"pr_auc": pr_auc, "target_low": low, "target_high": high, "within": low <= pr_auc <= high,
            "train_rows": int(train.sum()), "test_rows": int((~train).sum()),
            "test_fraud_rate": float(test_fraud.mean())}


def print_report(frame: pd.DataFrame) -> None:
    """Print the calibration table and, when the period allows it, the separability check."""
    report = realism_report(frame)
    shown = report.assign(within=report["within"].map({True: "yes", False: "NO"}))
    with pd.option_context("display.width", 120, "display.float_format", "{:.4g}".format):
        print(shown.to_string(index=False))
    print(f"{int(report['within'].sum())} of {len(report)} measures within tolerance")
    days = (frame["timestamp"].max() - frame["timestamp"].min()).days
    if days <= 60:
        print("separability: skipped (needs more than 60 days of purchases)")
        return
    check = separability_check(frame)
    low, high = check["target_low"], check["target_high"]
    print(f"separability: HistGradientBoosting trained on days 0-59 ({check['train_rows']:,} rows), "
          f"PR-AUC on the later days {check['pr_auc']:.3f} (target {low:.2f}-{high:.2f}: "
          f"{'yes' if check['within'] else 'NO'})")
