"""The monitoring step as one call: window, drift, champion, status, log, figures, results.

:func:`run_monitoring` is the step's sequence of calls, written once: the notebook
(``07_monitoring.ipynb``) calls it and shows its parts with the story between them.
``python -m cardfraud drift`` runs its assessment, :func:`assess_window`, on the files it is
given (it writes no log and no results).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pandas as pd

from ..engines import is_spark_frame
from ..engines.spark_handover import is_spark_run
from ..report.figures import save_and_close
from .champion import ChampionCheck, champion_check
from .drift import FeatureDrift, check_monitoring_params, feature_drift
from .figures import feature_drift_figure, monitoring_history_figure, score_drift_figure
from .log import append_monitoring_log, monitoring_log_row
from .status import monitoring_results, monitoring_status, save_monitoring_results
from .window import MonitoringWindow, load_monitoring_window

NO_CHAMPION_CHECK = "The champion was not checked (add --champion)."


@dataclass
class Assessment:
    """Drift per feature, the champion's check and the overall status of one window."""

    drift: FeatureDrift
    champion: ChampionCheck
    status: dict


@dataclass
class MonitoringPage:
    """What the monitoring page shows; ``figures`` maps names to saved PNGs."""

    window: MonitoringWindow
    assessment: Assessment
    log: pd.DataFrame
    results: dict
    figures: dict[str, Path] = field(default_factory=dict)


def assess_window(window: MonitoringWindow, *, model_name: str, tracking_uri: str | None,
                  bins: int = 10, psi_watch: float = 0.1, psi_alert: float = 0.25,
                  score_sample_rows: int | None = 50000, seed: int = 42,
                  performance_drop: float = 0.05, check_champion: bool = True,
                  output_dir=None, run_id: str | None = None) -> Assessment:
    """Compare the window's purchases feature by feature, check the champion, give a status.

    A window of Spark frames (a Spark run) is assessed on Spark
    (:mod:`.spark_assessment`, :mod:`.spark_champion`), with the same numbers.
    """
    on_spark = is_spark_frame(window.reference)
    if on_spark:
        from . import spark_assessment, spark_champion

        drift = spark_assessment.feature_drift(window.reference, window.current, bins,
                                               psi_watch, psi_alert)
        score_drift = partial(spark_champion.champion_score_drift, tracking_uri=tracking_uri)
    else:
        drift = feature_drift(window.reference, window.current, bins, psi_watch, psi_alert)
        score_drift = None
    champion = (champion_check(window, model_name, tracking_uri, bins, psi_watch, psi_alert,
                               score_sample_rows, seed, output_dir, run_id, score_drift)
                if check_champion else ChampionCheck(False, NO_CHAMPION_CHECK))
    problems = spark_assessment.data_feed_problems(window) if on_spark else None
    return Assessment(drift, champion, monitoring_status(window, drift, champion,
                                                         performance_drop, problems))


def run_monitoring(output_dir=None, *, run_id: str | None = None,
                   tracking_uri: str | None = None, seed: int = 42, current_days: int = 14,
                   current_path: str | None = None, psi_watch: float = 0.1,
                   psi_alert: float = 0.25, bins: int = 10,
                   model_name: str = "card-fraud-detector", score_sample_rows: int = 50000,
                   performance_drop: float = 0.05) -> MonitoringPage:
    """Run the monitoring step: assess the window, log the run, save figures and results.

    The keyword arguments are the ``monitoring`` section of the params (same names and
    defaults as the notebook's parameters cell).
    """
    check_monitoring_params(bins, psi_watch, psi_alert, current_days)
    if is_spark_run(output_dir):  # the load step handed on a folder written by Spark
        from .spark_window import load_spark_monitoring_window as load_window
    else:
        load_window = load_monitoring_window
    window = load_window(output_dir, current_days, current_path)
    try:
        found = assess_window(window, model_name=model_name, tracking_uri=tracking_uri,
                              bins=bins, psi_watch=psi_watch, psi_alert=psi_alert,
                              score_sample_rows=score_sample_rows, seed=seed,
                              performance_drop=performance_drop, output_dir=output_dir,
                              run_id=run_id)
    finally:
        window.release()
    figures = {"monitoring_feature_drift": save_and_close(
        feature_drift_figure(found.drift), "monitoring_feature_drift", output_dir)}
    if found.champion.available:
        figures["monitoring_score_drift"] = save_and_close(
            score_drift_figure(found.champion), "monitoring_score_drift", output_dir)
    log = append_monitoring_log(monitoring_log_row(run_id, window, found.drift, found.champion,
                                                   found.status), output_dir)
    figures["monitoring_history"] = save_and_close(
        monitoring_history_figure(log, psi_watch, psi_alert), "monitoring_history", output_dir)
    settings = dict(current_days=current_days, current_path=current_path, psi_watch=psi_watch,
                    psi_alert=psi_alert, bins=bins, model_name=model_name,
                    score_sample_rows=score_sample_rows, performance_drop=performance_drop)
    results = save_monitoring_results(monitoring_results(window, found.drift, found.champion,
                                                         found.status, settings), output_dir)
    return MonitoringPage(window, found, log, results, figures)
