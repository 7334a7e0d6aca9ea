"""What the monitoring step compares: the reference (training) purchases and the current ones.

The reference is the training rows of the modeling step (``split.parquet``); the current data
is the latest ``current_days`` days (when the purchases have timestamps), a separate extract, or
else the held-out test rows as a no-drift baseline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from pandas.api.types import is_numeric_dtype

from ..data.cleaning import load_file
from ..data.schema import (
    AMOUNT,
    CARD_ID,
    LATITUDE,
    LONGITUDE,
    MERCHANT_ID,
    REQUIRED_COLUMNS,
    TARGET,
    available_inputs,
)
from ..modeling.feature_sets import read_history_features, with_history
from ..modeling.history import history_columns
from ..report.locale_format import fill, format_date
from ..report.markup import sentence
from ..report.translate import N_, _, translate
from ..runner.artifacts import artifact_path, load_step_results, transactions_path
from ..runner.contract import SPLIT

SPLIT_FILE = SPLIT.file
HISTORY_NEEDS = [CARD_ID, MERCHANT_ID, AMOUNT, LATITUDE, LONGITUDE]  # besides time and fraud


@dataclass
class MonitoringWindow:
    """The reference purchases (training rows), the current ones and where each came from."""

    reference: pd.DataFrame
    current: pd.DataFrame
    description: dict
    cached: object = None  # a Spark run's cached purchases both sides come from, if any

    def release(self) -> None:
        """Free the cached purchases of a Spark window (nothing to do on pandas)."""
        if self.cached is not None:
            self.cached.unpersist()
            self.cached = None


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
    kind = N_("purchases of the reference data") if split is None else N_("training purchases")
    split = np.full(len(transactions), "train") if split is None else np.asarray(split)
    if len(split) != len(transactions):
        raise ValueError(f"{SPLIT_FILE} has {len(split):,} rows but the transactions have "
                         f"{len(transactions):,}: re-run the modeling step on the current data")
    train = split == "train"
    has_time = "timestamp" in transactions.columns
    overlap = np.zeros(len(transactions), dtype=bool)
    test_period = False
    if current is not None:
        source, note = "file", fill(_("the extract {path}"), path=current_path or _("given"))
    elif has_time:
        stamps = pd.to_datetime(transactions["timestamp"])
        cut = stamps.max().floor("D") - pd.Timedelta(days=int(current_days) - 1)
        in_period = (stamps >= cut).to_numpy()
        overlap = train & in_period
        current = transactions.loc[in_period]
        test_period = bool(np.array_equal(in_period, ~train))
        source, note = "latest_days", fill(_("the latest {days} days"), days=int(current_days))
    else:
        current = transactions.loc[~train]
        source = "test_rows"
        note = _("the held-out test rows: the data has no timestamps and no current_path was "
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

    The current extract is validated like the load step (fraud labels optional), its headers
    mapped by the load step's ``load.columns``. When the modeling step handed on history
    features, both sides carry them (a history champion scores with them): the training rows'
    from the hand-over, a current extract's computed from its cards' earlier purchases in the
    transactions and in the extract itself (:func:`current_history`).
    """
    path = artifact_path(SPLIT, output_dir)
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: run the 'modeling' step first "
                                f"(python run_all.py --only modeling)")
    source = transactions_path(output_dir)
    history = read_history_features(output_dir)
    # reading only these keeps 1M rows under a second (the history needs its own columns)
    wanted = [*REQUIRED_COLUMNS, "timestamp", *(HISTORY_NEEDS if history is not None else [])]
    transactions = pd.read_parquet(source, columns=[c for c in pq.read_schema(source).names
                                                    if c in wanted])
    split = pd.read_parquet(path)["split"].to_numpy()
    current = (load_file(current_path, require_target=False, columns=_bank_headers(output_dir),
                         required_inputs=available_inputs(transactions))[0]
               if current_path else None)
    if history is not None and current is not None:
        current = current_history(current, transactions, history.columns, output_dir)
    transactions = with_history(transactions[[c for c in transactions if c in
                                              [*REQUIRED_COLUMNS, "timestamp"]]], history)
    window = monitoring_window(transactions, split, current_days, current, current_path)
    if history is not None:  # the delay of the merchant fraud rates the window carries
        window.description["label_delay_days"] = modeling_label_delay(output_dir)
    return window


def modeling_label_delay(output_dir=None) -> float:
    """The modeling step's ``label_delay_days`` (7 when its results are missing)."""
    try:
        return float(load_step_results("modeling", output_dir).get("label_delay_days", 7.0))
    except FileNotFoundError:
        return 7.0


def current_history(current: pd.DataFrame, transactions: pd.DataFrame, features,
                    output_dir=None) -> pd.DataFrame:
    """Return the current extract with the history ``features`` it allows, computed from each
    card's earlier purchases in the transactions and in the extract (only labels known
    ``modeling.label_delay_days`` before count); without card_id or timestamp, as it is."""
    from ..modeling.history import history_features_for

    if not history_columns(current):
        return current
    delay = modeling_label_delay(output_dir)
    earlier = transactions
    for column in (CARD_ID, MERCHANT_ID):  # a CSV's numbers against the parquet's text
        if column in current and column in earlier and \
                is_numeric_dtype(current[column]) != is_numeric_dtype(earlier[column]):
            current = current.assign(**{column: current[column].astype(str)})
            earlier = earlier.assign(**{column: earlier[column].astype(str)})
    found = history_features_for(current, earlier, delay).set_axis(current.index)
    return with_history(current, found[[c for c in features if c in found]])


def _bank_headers(output_dir) -> dict:
    """The load step's ``load.columns``: the current extract comes from the same core system."""
    try:
        return load_step_results("load", output_dir).get("data", {}).get("columns") or {}
    except FileNotFoundError:  # an output dir assembled by hand: headers as they are
        return {}


def describe_window(window: MonitoringWindow) -> str:
    """Return one sentence on what is compared with what."""
    d = window.description
    period = (fill(_(" ({start} to {end})"), start=format_date(d["current_period"][0]),
                   end=format_date(d["current_period"][1])) if d["current_period"] else "")
    ref_period = (fill(_(" ({start} to {end})"), start=format_date(d["reference_period"][0]),
                       end=format_date(d["reference_period"][1])) if d["reference_period"] else "")
    overlap = (fill(_(" {n:,} more training purchases fall in the current period and are left "
                      "out of the reference."), n=d["overlap_excluded_rows"])
               if d["overlap_excluded_rows"] else "")
    labels = (_("It has fraud labels, so the champion's performance can be measured.")
              if d["current_has_labels"] else
              _("It has no fraud labels: performance is not measured."))
    if d["current_is_test_set"]:
        labels += _(" The current period is exactly the modeling step's test period, so the "
                    "champion's performance now repeats its test result; give current_path (new "
                    "purchases) to follow it on data it has not been evaluated on.")
    if d.get("engine_note"):  # a Spark run says how its figures were counted
        labels += " " + translate(d["engine_note"])
    return sentence(_("Current: {rows:,} purchases, {note}{period}. Reference: {reference_rows:,} "
                      "{kind}{ref_period}.{overlap} {labels}"), rows=d["current_rows"],
                    note=d["note"], period=period, reference_rows=d["reference_rows"],
                    kind=translate(d["reference_kind"]), ref_period=ref_period, overlap=overlap,
                    labels=labels)
