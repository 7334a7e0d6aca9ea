"""The monitoring log: one row per run, carried from run to run, and its table."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from ..data.schema import FEATURES
from ..report.locale_format import format_date
from ..report.translate import DEFAULT_LANGUAGE, current_language
from ..runner.artifacts import artifact_path
from ..runner.atomic_write import atomic_path
from ..runner.contract import MONITORING_LOG as LOG_ARTIFACT
from .champion import ChampionCheck
from .drift import FeatureDrift
from .window import MonitoringWindow

MONITORING_LOG = LOG_ARTIFACT.file


def monitoring_log_path(output_dir=None) -> Path:
    """Return ``artifacts/monitoring_log.csv``, which run_all carries from run to run."""
    return artifact_path(LOG_ARTIFACT, output_dir)


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
    row.update({f"psi_{f}": float(table.loc[f, "psi"]) if f in table.index else None
                for f in FEATURES})  # an input the extract lacks: left empty, not 0
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
    with atomic_path(path) as tmp:
        log.to_csv(tmp, index=False)
    return log


def monitoring_log_table(log: pd.DataFrame, last: int = 10) -> pd.DataFrame:
    """Return the latest runs of the log with the columns worth reading."""
    shown = [c for c in ("run_id", "monitored_at", "current_start", "current_end", "current_rows",
                         "overall_status", "action", "max_feature_psi", "max_psi_feature",
                         "score_psi", "pr_auc_now", "recall_now") if c in log.columns]
    table = log[shown].tail(last).set_index("run_id")
    if current_language() == DEFAULT_LANGUAGE:
        return table
    table = table.copy()  # dates written the language's way on the page, the log stays ISO
    for column in ("current_start", "current_end"):
        if column in table:
            table[column] = table[column].map(lambda day: format_date(day) if day == day else day)
    if "monitored_at" in table:
        table["monitored_at"] = table["monitored_at"].map(_moment_in_language)
    return table


def _moment_in_language(stamp) -> str:
    """A logged moment (ISO text) as the day in the language and the time: ``2 de diciembre de
    2026 04:38``; anything else as it is."""
    moment = pd.to_datetime(stamp, errors="coerce")
    return stamp if pd.isna(moment) else f"{format_date(moment.date())} {moment:%H:%M}"

