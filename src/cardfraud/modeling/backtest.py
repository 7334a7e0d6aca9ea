"""Prequential weekly backtest: does the chosen model's procedure hold week after week?

Fraud Detection Handbook style: the latest ``backtest_weeks`` weeks of the data are test windows,
one week each; each window's model is trained on the purchases before it, with a delay period
of ``label_delay_days`` between the end of training and the start of the test week (frauds are
confirmed late: the labels of those days are not known yet when the model is retrained). Every
window uses the chosen model's procedure: its candidate, its best settings and the resampling,
on the inputs of :func:`chosen_model_inputs`. Training rows are capped
(``backtest_train_rows``): a time-ordered sample keeping every fraud (while they fill at most
half the cap, else a random half-cap of them) and a random share of legitimate purchases, so
each window fits in a second or two. The measures are
threshold-free or budget-based (PR-AUC, ROC-AUC, precision and recall at the alert budget, card
precision@k), so the changed fraud share of a capped sample does not bias them.

The windows end at the data's last day, so with a time split the latest ones lie in the
held-out test period; the earlier ones lie in the training period, on which cross-validation
chose the settings (a small grid): those are slightly optimistic. The table marks which is which.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from ..data.schema import CARD_ID, TARGET, model_features
from ..report.locale_format import fill, format_date
from ..report.table_words import COLUMN_HEADERS
from ..report.translate import DEFAULT_LANGUAGE, _, current_language, translate
from .backtest_words import backtest_note
from .candidates import make_pipeline, one_openmp_thread
from .card_precision import card_precision_at_k, has_cards_and_days
from .feature_sets import candidate_of
from .gaps import has_gaps
from .metrics import alert_budget_metrics

WEEK = pd.Timedelta(days=7)
MIN_TRAINING_DAYS = 7  # a window needs at least a week of labelled purchases to learn from
WINDOW_METRICS = ["average_precision", "roc_auc", "precision_at_budget", "recall_at_budget",
                  "card_precision_at_k"]


@dataclass
class Backtest:
    """The weekly windows (one row each), their mean and spread, and what the page says."""

    windows: pd.DataFrame
    summary: pd.DataFrame
    note: str
    settings: dict

    @property
    def ran(self) -> bool:
        """Whether at least one window was scored."""
        return not self.windows.empty


def chosen_model_inputs(transactions: pd.DataFrame, evaluation) -> pd.DataFrame:
    """Return the input frame of the chosen model's procedure for every purchase.

    The chosen model's own inputs: the base seven, or with its card-history features (the
    modeling step's, computed once) for a ``+history`` model.
    """
    from .feature_sets import with_history

    modeled = with_history(transactions, evaluation.feature_sets.history)
    return model_features(modeled, evaluation.fitted.inputs[evaluation.fitted.best])


def weekly_windows(stamps: pd.Series, weeks: int, label_delay_days: int) -> pd.DataFrame:
    """Return the latest ``weeks`` weekly test windows that fit in the data, oldest first.

    Columns ``test_start``, ``test_end`` (exclusive) and ``train_end`` (exclusive; the test
    start minus the delay). A window fits when at least MIN_TRAINING_DAYS of purchases come
    before its training end; fewer windows are returned when the data is short.
    """
    stamps = pd.to_datetime(stamps)
    first, end = stamps.min().floor("D"), stamps.max().floor("D") + pd.Timedelta(days=1)
    room = (end - first).days - int(label_delay_days) - MIN_TRAINING_DAYS
    count = max(0, min(int(weeks), room // 7))
    test_end = [end - WEEK * (count - 1 - i) for i in range(count)]
    return pd.DataFrame({
        "test_start": [e - WEEK for e in test_end], "test_end": test_end,
        "train_end": [e - WEEK - pd.Timedelta(days=int(label_delay_days)) for e in test_end]})


def windows_that_fit_text(stamps: pd.Series, weeks: int, label_delay_days: int,
                          found: int) -> str:
    """Say how many windows fit when fewer than asked do, in words (empty when all fit)."""
    if found >= weeks:
        return ""
    stamps = pd.to_datetime(stamps)
    days = (stamps.max().floor("D") - stamps.min().floor("D")).days + 1
    return fill(_("Only {found} of the {weeks} weekly windows asked for fit: the data covers "
                  "{days} days and each window needs 7 test days, a {delay}-day delay and at "
                  "least {training} days of training before it."), found=found, weeks=weeks,
                days=days, delay=label_delay_days, training=MIN_TRAINING_DAYS)


def whole_windows(windows: pd.DataFrame, whole_from: pd.Timestamp) -> tuple[pd.DataFrame, str]:
    """Return the windows whose test week starts at or after ``whole_from`` (where every
    purchase is there), and the sentence saying how many earlier ones were left out."""
    kept = windows[windows["test_start"] >= pd.Timestamp(whole_from)].reset_index(drop=True)
    left_out = len(windows) - len(kept)
    if not left_out:
        return kept, ""
    return kept, fill(_("{left_out} earlier windows are left out: in a Spark run their weeks "
                        "hold only the training sample (modeling.train_sample_rows), whose "
                        "fraud share is not the data's."), left_out=left_out)


def window_rows(stamps: np.ndarray, window) -> tuple[np.ndarray, np.ndarray]:
    """Return the positions of a window's training purchases (before its training end, so
    none in the delay period) and of its test week's purchases."""
    stamps = np.asarray(stamps, dtype="datetime64[ns]")
    before = np.flatnonzero(stamps < np.datetime64(window["train_end"]))
    in_week = np.flatnonzero((stamps >= np.datetime64(window["test_start"]))
                             & (stamps < np.datetime64(window["test_end"])))
    return before, in_week


def training_sample(fraud: np.ndarray, positions: np.ndarray, cap: int | None,
                    seed: int) -> np.ndarray:
    """Return at most ``cap`` of ``positions`` (in their order): every fraud while the frauds
    fill at most half the cap (else a random half-cap of them), the rest a random sample of
    legitimate purchases, so the model always sees both classes."""
    if not cap or len(positions) <= cap:
        return positions
    rng = np.random.default_rng(seed)
    frauds = positions[fraud[positions] == 1]
    legitimate = positions[fraud[positions] == 0]
    if len(frauds) > cap // 2:
        frauds = rng.choice(frauds, size=int(cap) // 2, replace=False)
    take = min(len(legitimate), int(cap) - len(frauds))
    fill = rng.choice(legitimate, size=take, replace=False)
    return np.sort(np.concatenate([frauds, fill]))


def window_metrics(fraud, scores, days, cards, alert_budget: float, k: int | None) -> dict:
    """Return one test window's PR-AUC, ROC-AUC, precision/recall at the budget and card
    precision@k (NaN when the week lacks frauds or legitimate purchases)."""
    fraud = np.asarray(fraud)
    if fraud.min() == fraud.max():
        return dict.fromkeys(WINDOW_METRICS, np.nan)
    budget = alert_budget_metrics(fraud, scores, alert_budget, days)
    return {"average_precision": float(average_precision_score(fraud, scores)),
            "roc_auc": float(roc_auc_score(fraud, scores)),
            "precision_at_budget": budget["precision_at_budget"],
            "recall_at_budget": budget["recall_at_budget"],
            "card_precision_at_k": (np.nan if k is None or cards is None else
                                    card_precision_at_k(fraud, scores, cards, days, k))}


def _window_period(window: pd.Series, split) -> str:
    """Say whether a window lies in the held-out test period, the training period or both."""
    if split.kind != "time":
        return "any (stratified split)"
    test_start = pd.Timestamp(split.description["test_period"][0])
    if window["test_start"] >= test_start:
        return "held-out test"
    return "training" if window["test_end"] <= test_start else "both"


@one_openmp_thread
def _score_window(transactions, inputs, stamps, window, procedure: dict, train_rows, seed,
                  alert_budget, k) -> dict:
    """Fit the chosen procedure on the purchases before a window's delay; score the week."""
    fraud = transactions[TARGET].to_numpy()
    before, in_week = window_rows(stamps, window)
    fit = training_sample(fraud, before, train_rows, seed)
    fit = fit[np.argsort(stamps[fit], kind="stable")]
    row = {"train_start": pd.Timestamp(stamps[fit].min()), "train_rows": len(fit),
           "train_frauds": int(fraud[fit].sum()), "test_rows": len(in_week),
           "test_frauds": int(fraud[in_week].sum())}
    if row["train_frauds"] in (0, len(fit)) or not len(in_week):
        return {**row, **dict.fromkeys(WINDOW_METRICS, np.nan)}
    features = inputs.iloc[fit]
    pipeline = make_pipeline(candidate_of(procedure["candidate"]), procedure["resampling"], seed,
                             procedure["settings"], inputs=list(inputs.columns),
                             gaps=has_gaps(inputs))
    pipeline.fit(features, fraud[fit])
    scores = pipeline.predict_proba(inputs.iloc[in_week])[:, 1]
    days = pd.DatetimeIndex(stamps[in_week]).floor("D").to_numpy()
    cards = transactions[CARD_ID].to_numpy()[in_week] if CARD_ID in transactions else None
    return {**row, **window_metrics(fraud[in_week], scores, days, cards, alert_budget, k)}


def skipped(note: str, settings: dict) -> Backtest:
    """Return a backtest that did not run, with the page's sentence saying why."""
    return Backtest(pd.DataFrame(), pd.DataFrame(), note, settings)


def run_backtest(transactions: pd.DataFrame, evaluation, weeks: int = 6,
                 label_delay_days: int = 7, train_rows: int | None = 100000,
                 alert_budget: float = 0.01, k: int | None = None,
                 seed: int = 42, whole_from: pd.Timestamp | None = None) -> Backtest:
    """Score the chosen model's procedure on each of the latest weekly windows.

    Args:
        transactions: every purchase, as handed on by the load step.
        evaluation: the modeling step's candidate evaluation (chosen candidate, its settings,
            the resampling and the split).
        weeks: weekly windows asked for (0 turns the backtest off).
        label_delay_days: days between the end of training and the test week.
        train_rows: cap on training rows per window (None: all).
        alert_budget: share of a day's purchases reviewed; k: cards reviewed a day.
        whole_from: the purchases before this moment are a sample (a Spark run's training
            sample): the windows whose test week starts earlier are left out, since a sampled
            week's fraud share is not the data's and its PR-AUC would read high; with a
            stratified split no week is whole, so none is scored.
    """
    cv = evaluation.cv
    procedure = {"candidate": cv.best_candidate, "settings": cv.best_settings[cv.best_candidate],
                 "resampling": cv.resampling}
    settings = {"weeks_asked": int(weeks), "label_delay_days": int(label_delay_days),
                "train_rows_cap": train_rows, "cards_reviewed_per_day": k, **procedure}
    if not weeks:
        return skipped(_("The weekly backtest is turned off (modeling.backtest_weeks = 0)."),
                       settings)
    if whole_from is not None and evaluation.split.kind != "time":
        return skipped(_("No weekly backtest: the models were trained on a sample of the "
                         "training purchases and the test purchases are spread over every week "
                         "(stratified split), so no week holds all its purchases."), settings)
    if "timestamp" not in transactions:
        return skipped(_("No weekly backtest: the extract has no timestamps, so purchases "
                         "cannot be put in weeks (the evaluation rests on the one held-out test "
                         "set)."),
                       settings)
    times = pd.to_datetime(transactions["timestamp"])
    if times.dt.tz is not None:  # compare wall-clock instants in UTC, without a zone
        times = times.dt.tz_convert(None)
    stamps = times.to_numpy()
    windows = weekly_windows(times, weeks, label_delay_days)
    short = windows_that_fit_text(times, weeks, label_delay_days, len(windows))
    if whole_from is not None:
        windows, left_out = whole_windows(windows, whole_from)
        short = " ".join(filter(None, [short, left_out]))
    if windows.empty:
        return skipped(fill(_("No weekly backtest. {short}"), short=short), settings)
    inputs = chosen_model_inputs(transactions, evaluation)
    k = k if has_cards_and_days(transactions) else None
    rows = []
    for number, window in windows.iterrows():
        rows.append({"window": number + 1, **window.to_dict(),
                     "period": _window_period(window, evaluation.split),
                     **_score_window(transactions, inputs, stamps, window, procedure,
                                     train_rows, seed + number, alert_budget, k)})
    table = pd.DataFrame(rows).set_index("window")
    if k is None:
        table = table.drop(columns="card_precision_at_k")
    return Backtest(table, backtest_summary(table), backtest_note(table, settings, short),
                    settings)


def backtest_summary(windows: pd.DataFrame) -> pd.DataFrame:
    """Return mean and standard deviation over windows of each measure (windows scored)."""
    measures = windows[[m for m in WINDOW_METRICS if m in windows]]
    return pd.DataFrame({"mean": measures.mean(), "std": measures.std(ddof=1),
                         "windows": measures.notna().sum()})


def backtest_results(backtest: Backtest) -> dict:
    """Return the backtest for run.json: settings, note, each window and mean/sd per measure."""
    windows = backtest.windows.reset_index()
    for column in ("test_start", "test_end", "train_end", "train_start"):
        if column in windows:
            windows[column] = windows[column].dt.strftime("%Y-%m-%d")
    records = [{k: (None if isinstance(v, float) and np.isnan(v) else v)
                for k, v in row.items()} for row in windows.to_dict("records")]
    summary = {name: {"mean": _number(row["mean"]), "std": _number(row["std"]),
                      "windows": int(row["windows"])}
               for name, row in backtest.summary.iterrows()}
    return {"ran": backtest.ran, "note": backtest.note, **backtest.settings,
            "windows": records, "summary": summary}


def _number(value) -> float | None:
    """Return a float for JSON, None for NaN."""
    return None if pd.isna(value) else float(value)


def backtest_table(backtest: Backtest) -> pd.DataFrame:
    """Return the windows for reading (dates as days, measures rounded) with mean and sd rows."""
    if not backtest.ran:
        return pd.DataFrame()
    table = backtest.windows.copy()
    for column in ("test_start", "train_start"):
        table[column] = table[column].dt.strftime("%Y-%m-%d")
    for column in ("test_end", "train_end"):  # exclusive ends: show the last day inside
        table[column] = (table[column] - pd.Timedelta(days=1)).dt.strftime("%Y-%m-%d")
    table = table.rename(columns={"test_end": "test_last_day", "train_end": "train_last_day"})
    table = table.round(4).astype(object)  # counts stay whole numbers beside the mean rows
    table.index = table.index.astype(str)
    for statistic in ("mean", "std"):
        table.loc[statistic] = {name: round(float(backtest.summary.loc[name, statistic]), 4)
                                for name in backtest.summary.index}
    table = table.fillna("")
    if current_language() == DEFAULT_LANGUAGE:
        return table
    days = ["test_start", "test_last_day", "train_last_day", "train_start"]
    table[days] = table[days].map(lambda day: format_date(day) if day else day)
    # measures as text: the page's table display writes a cell's leading number the language's way
    table = table.map(lambda v: f"{v:.4f}" if isinstance(v, float) else v)
    return table.rename(columns=lambda column: translate(COLUMN_HEADERS.get(column, column)))
