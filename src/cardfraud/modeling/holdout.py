"""The split: which purchases train the models and which are held out to test them.

A time split holds out the last days (the way the models will be used: on purchases after
training), a stratified split a random share with the fraud rate kept; both check that each side
has frauds enough for the cross-validation asked for, and say how many are missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from ..data.schema import TARGET

SPLITS = ("auto", "time", "stratified")


class ModelingError(ValueError):
    """Modeling parameters or data that cannot give an honest evaluation; one-line message."""


@dataclass
class Split:
    """Which rows of transactions.parquet train the models and which test them."""

    kind: str
    train_rows: np.ndarray
    test_rows: np.ndarray
    description: dict = field(default_factory=dict)


def check_both_classes(fraud: np.ndarray, where: str) -> None:
    """Raise when a set of rows lacks frauds or legitimate purchases."""
    check_both_classes_counted(int(fraud.sum()), len(fraud), where)


def check_both_classes_counted(frauds: int, rows: int, where: str) -> None:
    """Raise when ``rows`` rows holding ``frauds`` frauds lack either class (counts given)."""
    if frauds == 0 or frauds == rows:
        kind = "no fraud" if frauds == 0 else "no legitimate purchase"
        raise ModelingError(f"modeling: the {where} ({rows} rows) has {kind}; "
                            f"more rows or a different split are needed")


def frauds_needed(cv_folds: int, time_ordered: bool) -> int:
    """Return the fewest frauds the training rows need for cross-validation to run.

    Every validation fold needs a fraud; time-ordered folds also need one in the earliest
    part, which only ever trains.
    """
    return int(cv_folds) + 1 if time_ordered else int(cv_folds)


def check_frauds_for_cv(frauds: int, cv_folds: int, time_ordered: bool, rows: str,
                        found: str, test_set_too: bool = False) -> None:
    """Raise ModelingError saying how many frauds cross-validation needs in ``rows``.

    With ``test_set_too``, ``frauds`` are the data's and one more is needed for the test set.
    """
    needed = frauds_needed(cv_folds, time_ordered)
    if frauds < needed + int(test_set_too):
        also = " and 1 in the test set" if test_set_too else ""
        raise ModelingError(
            f"modeling: cross-validation with cv_folds={int(cv_folds)} needs at least {needed} "
            f"frauds in the {rows}{also}; {found} {frauds}; use more data or fewer folds "
            f"(modeling.cv_folds, at least 2)")


def _time_split(frame: pd.DataFrame, test_days: int | None, test_share: float) -> tuple:
    """Cut the latest period off as the test set, at a day boundary where possible."""
    stamps = pd.to_datetime(frame["timestamp"])
    if test_days:
        cut = stamps.max().floor("D") - pd.Timedelta(days=int(test_days) - 1)
    else:
        exact = stamps.quantile(1.0 - test_share)
        cut = exact.floor("D") if (stamps < exact.floor("D")).any() else exact
    is_test = (stamps >= cut).to_numpy()
    if is_test.all() or not is_test.any():
        raise ModelingError(f"modeling: test_days={test_days} leaves no "
                            f"{'training' if is_test.all() else 'test'} rows (data covers "
                            f"{stamps.min():%Y-%m-%d} to {stamps.max():%Y-%m-%d})")
    train, test = np.flatnonzero(~is_test), np.flatnonzero(is_test)
    order = np.argsort(stamps.to_numpy()[train], kind="stable")
    describe = {"train_period": [f"{stamps.iloc[train].min():%Y-%m-%d}",
                                 f"{stamps.iloc[train].max():%Y-%m-%d}"],
                "test_period": [f"{stamps.iloc[test].min():%Y-%m-%d}",
                                f"{stamps.iloc[test].max():%Y-%m-%d}"],
                "test_days": int(stamps.iloc[test].dt.floor("D").nunique())}
    return train[order], test, describe


def split_transactions(frame: pd.DataFrame, split: str = "auto", test_days: int | None = None,
                       test_share: float = 0.2, seed: int = 42, cv_folds: int = 3) -> Split:
    """Split into training and test rows: by time when there are timestamps, else stratified.

    Args:
        frame: the transactions as handed on by the load step.
        split: ``auto`` (time if a ``timestamp`` column exists), ``time`` or ``stratified``.
        test_days: with a time split, the number of latest days to test on; when None the
            latest ``test_share`` of transactions, cut at the start of a day.
        test_share: the share of rows in the test set (stratified split, or time split
            without ``test_days``).
        seed: random seed of the stratified split.
        cv_folds: the cross-validation folds to come; the training rows must hold enough
            frauds for them (checked here, before any model is fitted).
    """
    if split not in SPLITS:
        raise ModelingError(f"modeling: split must be one of {', '.join(SPLITS)}, not {split!r}")
    if not 0.0 < float(test_share) < 1.0:
        raise ModelingError(f"modeling: test_share must be between 0 and 1, not {test_share}")
    has_time = "timestamp" in frame.columns
    if split == "time" and not has_time:
        raise ModelingError("modeling: split 'time' needs a 'timestamp' column, which this "
                            "extract lacks; use split 'auto' or 'stratified'")
    fraud = frame[TARGET].to_numpy()
    by_time = has_time and split in {"auto", "time"}
    check_frauds_for_cv(int(fraud.sum()), cv_folds, by_time, "training rows", "the data has",
                        test_set_too=True)
    if by_time:
        train, test, describe = _time_split(frame, test_days, float(test_share))
        kind = "time"
    else:
        train, test = train_test_split(np.arange(len(frame)), test_size=float(test_share),
                                       stratify=fraud, random_state=seed)
        train, test, kind = np.sort(train), np.sort(test), "stratified"
        describe = {"test_share": float(test_share), "seed": int(seed)}
    check_both_classes(fraud[test], "test set")
    check_frauds_for_cv(int(fraud[train].sum()), cv_folds, by_time, "training rows",
                        f"the {kind} split leaves the training rows ({len(train):,}) with")
    check_both_classes(fraud[train], "training set")
    describe = {"kind": kind, **describe, "train_rows": len(train), "test_rows": len(test)}
    return Split(kind=kind, train_rows=train, test_rows=test, description=describe)


def split_summary(frame: pd.DataFrame, split: Split) -> pd.DataFrame:
    """Return one row per set: transactions, frauds, fraud rate and period covered."""
    rows = []
    for name, positions in (("training", split.train_rows), ("test", split.test_rows)):
        part = frame.iloc[positions]
        row = {"set": name, "transactions": len(part), "frauds": int(part[TARGET].sum()),
               "fraud rate %": round(100 * float(part[TARGET].mean()), 3)}
        if "timestamp" in part:
            row["first day"] = f"{part['timestamp'].min():%Y-%m-%d}"
            row["last day"] = f"{part['timestamp'].max():%Y-%m-%d}"
        rows.append(row)
    return pd.DataFrame(rows).set_index("set")


def split_labels(rows: int, split: Split) -> pd.DataFrame:
    """Return the ``split`` column ("train"/"test") for every row of transactions.parquet."""
    labels = np.full(rows, "train", dtype=object)
    labels[split.test_rows] = "test"
    return pd.DataFrame({"split": labels})
