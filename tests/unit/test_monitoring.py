"""The monitoring step: the window, the champion check, the status and recommendation, the
monitoring log, the figures, the command line, and the simulator's drift knob."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
from conftest import random_features
from helpers import (
    simulated_output_dir,
    write_output_dir,
)

from cardfraud.data.checks import DataValidationError
from cardfraud.data.schema import FEATURES
from cardfraud.monitoring.champion import (
    ChampionCheck,
    champion_check,
    champion_score_drift,
    champion_table,
)
from cardfraud.monitoring.drift import feature_drift
from cardfraud.monitoring.figures import feature_drift_figure, monitoring_history_figure
from cardfraud.monitoring.log import append_monitoring_log, monitoring_log_row
from cardfraud.monitoring.status import (
    cli,
    monitoring_results,
    monitoring_status,
    save_monitoring_results,
)
from cardfraud.monitoring.window import (
    MonitoringWindow,
    describe_window,
    load_monitoring_window,
    monitoring_window,
)

matplotlib.use("Agg")


# --------------------------------------------------------------------------- the window


def timed_transactions(days: int = 30, per_day: int = 40, seed: int = 0) -> pd.DataFrame:
    """Purchases spread over ``days`` days with the card_transdata columns and a timestamp."""
    rng = np.random.default_rng(seed)
    rows = days * per_day
    frame = random_features(rng, rows)
    frame["fraud"] = rng.binomial(1, 0.09, rows)
    frame["timestamp"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(
        np.repeat(np.arange(days), per_day) * 86400 + rng.integers(0, 86400, rows), unit="s")
    return frame


def test_current_is_the_latest_days_and_overlap_leaves_the_reference():
    frame = timed_transactions(days=30, per_day=40)
    split = np.where(frame["timestamp"] >= "2024-01-25", "test", "train")  # test: last 6 days
    window = monitoring_window(frame, split, current_days=10)
    desc = window.description
    assert desc["current_period"] == ["2024-01-21", "2024-01-30"]
    assert desc["current_rows"] == 400
    assert desc["overlap_excluded_rows"] == 4 * 40  # Jan 21-24 are training days
    assert desc["reference_rows"] == 20 * 40
    assert desc["reference_period"] == ["2024-01-01", "2024-01-20"]
    assert desc["current_has_labels"]
    assert "left out of the reference" in describe_window(window)
    assert not desc["current_is_test_set"]


def test_current_period_equal_to_the_test_period_is_said():
    frame = timed_transactions(days=30, per_day=40)
    split = np.where(frame["timestamp"] >= "2024-01-25", "test", "train")
    window = monitoring_window(frame, split, current_days=6)
    assert window.description["current_is_test_set"]
    assert window.description["overlap_excluded_rows"] == 0
    assert "exactly the modeling step's test period" in describe_window(window)


def test_without_timestamps_the_test_rows_are_a_baseline():
    frame = timed_transactions().drop(columns="timestamp")
    split = np.where(np.arange(len(frame)) % 5 == 0, "test", "train")
    window = monitoring_window(frame, split, current_days=14)
    assert window.description["current_source"] == "test_rows"
    assert window.description["current_rows"] == len(frame) // 5
    assert "noise" in describe_window(window)


def test_split_of_another_length_is_refused():
    frame = timed_transactions()
    with pytest.raises(ValueError, match="split.parquet has 10 rows but the transactions have 1,200"):
        monitoring_window(frame, np.array(["train"] * 10), 14)


def test_current_period_covering_all_training_days_is_refused():
    frame = timed_transactions(days=30)
    split = np.where(frame["timestamp"] >= "2024-01-25", "test", "train")
    with pytest.raises(ValueError, match="current_days=40 covers every training day"):
        monitoring_window(frame, split, current_days=40)


def test_current_extract_is_validated_like_the_load_step(tmp_path):
    frame = timed_transactions()
    output_dir = write_output_dir(tmp_path, frame, np.array(["train"] * len(frame)))
    extract = frame.head(200).drop(columns=["fraud"])
    extract["used_chip"] = extract["used_chip"].astype(float)  # written 1.0 / 0.0
    extract.to_csv(tmp_path / "next_month.csv", index=False)  # timestamps become text
    window = load_monitoring_window(output_dir, 14, str(tmp_path / "next_month.csv"))
    assert window.description["current_source"] == "file"
    assert window.description["current_period"] == ["2024-01-01", "2024-01-05"]
    assert window.description["current_rows"] == 200
    assert window.description["reference_rows"] == len(frame)
    assert not window.description["current_has_labels"]

    extract.loc[3, "online_order"] = 2
    extract.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DataValidationError, match=r"bad.csv: column 'online_order' must be 0 or 1 but has 2 at row 4"):
        load_monitoring_window(output_dir, 14, str(tmp_path / "bad.csv"))


def test_current_extract_headers_are_mapped_like_the_load_steps(tmp_path):
    from cardfraud.runner.artifacts import save_step_results

    frame = timed_transactions()
    output_dir = write_output_dir(tmp_path, frame, np.array(["train"] * len(frame)))
    save_step_results("load", {"data": {"source": "file", "columns": {"used_chip": "CHIP",
                                                                      "timestamp": "FECHA_HORA"}}},
                      output_dir)
    extract = frame.head(50).rename(columns={"used_chip": "CHIP", "timestamp": "FECHA_HORA"})
    extract.to_csv(tmp_path / "next_month.csv", index=False)
    window = load_monitoring_window(output_dir, 14, str(tmp_path / "next_month.csv"))
    assert window.description["current_rows"] == 50
    assert window.description["current_period"] == ["2024-01-01", "2024-01-02"]
    extract.drop(columns="CHIP").to_csv(tmp_path / "other.csv", index=False)
    with pytest.raises(DataValidationError, match=r"other\.csv: load\.columns maps used_chip to "
                                                  r"the header 'CHIP', which the file lacks"):
        load_monitoring_window(output_dir, 14, str(tmp_path / "other.csv"))


def test_missing_split_names_the_step_to_run(tmp_path):
    (tmp_path / "artifacts").mkdir()
    timed_transactions().to_parquet(tmp_path / "artifacts" / "transactions.parquet")
    with pytest.raises(FileNotFoundError, match="run the 'modeling' step first"):
        load_monitoring_window(str(tmp_path), 14)


# --------------------------------------------------------------------------- status and advice


class FakeScorer:
    """Stands in for the registry's champion: P(fraud) from the amount ratio."""

    version, threshold = 3, 0.5

    def __init__(self, shift: float = 0.0):
        self.shift = shift

    def score(self, features: pd.DataFrame) -> pd.DataFrame:
        ratio = features["ratio_to_median_purchase_price"].to_numpy()
        probability = 1 / (1 + np.exp(-(np.log(ratio) * 2 - 1 + self.shift)))
        return pd.DataFrame({"probability": probability, "decision": (probability >= 0.5).astype(int)})


def window_of(reference: pd.DataFrame, current: pd.DataFrame) -> MonitoringWindow:
    frame = pd.concat([reference, current], ignore_index=True)
    split = np.array(["train"] * len(reference) + ["test"] * len(current))
    return monitoring_window(frame.drop(columns="timestamp"), split, 14)


def stable_window(seed: int = 0) -> MonitoringWindow:
    frame = timed_transactions(days=50, per_day=200, seed=seed)
    frame["fraud"] = (frame["ratio_to_median_purchase_price"] > 2).astype(int)
    return window_of(frame.iloc[:8000], frame.iloc[8000:])


def test_no_drift_gives_ok_and_no_action():
    window = stable_window()
    drift = feature_drift(window.reference, window.current)
    champion = champion_score_drift(FakeScorer(), window, at_training=None)
    status = monitoring_status(window, drift, champion)
    assert status["overall_status"] == "ok" and status["action"] == "none"
    assert champion.score_psi < 0.02 and champion.score_status == "ok"
    assert status["recommendation"].startswith("No action")


def test_champion_performance_now_against_training_and_retraining_advice():
    window = stable_window()
    # the labels of the current period no longer follow the amount: the champion misses frauds
    current = window.current.copy()
    current["fraud"] = (current["distance_from_home"] > 30).astype(int)
    window = MonitoringWindow(window.reference, current, window.description)
    at_training = {"average_precision": 0.95, "recall": 0.9, "precision": 0.8}
    champion = champion_score_drift(FakeScorer(), window, at_training=at_training)
    assert champion.now["average_precision"] < 0.5
    table = champion_table(champion)
    assert table.loc["recall", "at training"] == 0.9
    assert table.loc["recall", "change"] == pytest.approx(champion.now["recall"] - 0.9, abs=1e-4)
    status = monitoring_status(window, feature_drift(window.reference, current), champion)
    assert status["performance_status"] == "alert" and status["overall_status"] == "alert"
    assert status["action"] == "retrain"
    assert "PR-AUC is" in status["recommendation"] and "against 0.950 at training" in status["recommendation"]


@pytest.mark.parametrize("frauds, recall_now, status", [
    (5000, 0.84, "ok"),     # 0.04 below: less than performance_drop
    (5000, 0.80, "alert"),  # 0.08 below, 2 standard errors are 0.011
    (20, 0.80, "ok"),       # 0.08 below, but on 20 frauds chance explains 0.18
    (20, 0.60, "alert"),
])
def test_performance_alert_needs_a_drop_beyond_the_margin_and_chance(frauds, recall_now, status):
    window = stable_window()
    drift = feature_drift(window.reference, window.current)
    champion = ChampionCheck(True, "", 1, 0.5, 0.0, "ok", None,
                             now={"average_precision": 0.9, "recall": recall_now, "frauds": frauds},
                               at_training={"average_precision": 0.9, "recall": 0.88})
    assert monitoring_status(window, drift, champion, performance_drop=0.05)["performance_status"] == status


def test_score_drift_of_the_champion_is_measured():
    window = stable_window()
    shifted = champion_score_drift(FakeScorer(shift=2.0), window)
    # the same champion scores both sides, so a shift only comes from the purchases
    assert shifted.score_psi < 0.02
    current = window.current.copy()
    current["ratio_to_median_purchase_price"] *= 4
    moved = champion_score_drift(FakeScorer(), MonitoringWindow(window.reference, current, window.description))
    assert moved.score_status == "alert" and moved.score_psi > 0.25


def test_feature_alert_with_the_champion_still_performing_means_investigate():
    window = stable_window()
    current = window.current.copy()
    current["distance_from_home"] *= 3
    window = MonitoringWindow(window.reference, current, window.description)
    drift = feature_drift(window.reference, current)
    champion = champion_score_drift(FakeScorer(), window,
                                    at_training={"average_precision": 1.0, "recall": 1.0, "precision": 1.0})
    status = monitoring_status(window, drift, champion)
    assert drift.table.loc["distance_from_home", "status"] == "alert"
    assert status["drifted_features"] == ["distance_from_home"]
    assert status["action"] == "investigate"
    assert "distance_from_home (PSI" in status["recommendation"]


def test_without_a_champion_the_feature_alert_asks_for_labels_and_retraining():
    window = stable_window()
    current = window.current.copy()
    current["distance_from_home"] *= 3
    window = MonitoringWindow(window.reference, current, window.description)
    no_champion = ChampionCheck(False, "No champion to check")
    status = monitoring_status(window, feature_drift(window.reference, current), no_champion)
    assert status["overall_status"] == "alert" and status["action"] == "retrain"
    assert status["score_status"] is None and status["performance_status"] is None
    assert "Get their fraud labels" in status["recommendation"]


@pytest.mark.parametrize("column, change, phrase", [
    ("used_pin_number", lambda s: s * 0, "used_pin_number is 0 on every current purchase"),
    ("distance_from_home", lambda s: s * 1000 + 1e6, "of current distance_from_home values are outside"),
])
def test_a_broken_feed_is_told_apart_from_drift(column, change, phrase):
    window = stable_window()
    current = window.current.copy()
    current[column] = change(current[column])
    window = MonitoringWindow(window.reference, current, window.description)
    status = monitoring_status(window, feature_drift(window.reference, current),
                               ChampionCheck(False, "none"))
    assert status["action"] == "check_data_feed"
    assert phrase in status["recommendation"]


def test_champion_check_without_a_registered_model_says_so(tmp_path):
    champion = champion_check(stable_window(), "no-such-model", f"sqlite:///{tmp_path}/mlflow.db")
    assert not champion.available
    assert champion.message.startswith("No champion to check")
    assert "skipped" in champion.message and "\n" not in champion.message
    assert champion_table_is_empty(champion_table(champion))


def champion_table_is_empty(table: pd.DataFrame) -> bool:
    return table[["at training", "now"]].isna().all().all()


# --------------------------------------------------------------------------- log and results


def run_once(output_dir: str, run_id: str | None, window: MonitoringWindow) -> pd.DataFrame:
    drift = feature_drift(window.reference, window.current)
    champion = ChampionCheck(False, "none")
    status = monitoring_status(window, drift, champion)
    return append_monitoring_log(monitoring_log_row(run_id, window, drift, champion, status), output_dir)


def test_the_log_grows_by_one_row_per_run_and_keeps_old_rows(tmp_path):
    window = stable_window()
    first = run_once(str(tmp_path), "run-1", window)
    second = run_once(str(tmp_path), "run-2", window)
    assert len(first) == 1 and len(second) == 2
    on_disk = pd.read_csv(tmp_path / "artifacts" / "monitoring_log.csv")
    assert on_disk["run_id"].tolist() == ["run-1", "run-2"]
    assert {f"psi_{f}" for f in FEATURES} <= set(on_disk.columns)
    assert on_disk["overall_status"].tolist() == ["ok", "ok"]
    assert not list((tmp_path / "artifacts").glob(".*.tmp"))  # written through a temp file
    again = run_once(str(tmp_path), "run-2", window)  # the same run re-executed: replaced
    assert again["run_id"].tolist() == ["run-1", "run-2"]
    assert run_once(str(tmp_path), None, window)["run_id"].iloc[-1].startswith("manual-")


def test_a_damaged_log_is_named(tmp_path):
    (tmp_path / "artifacts").mkdir()
    (tmp_path / "artifacts" / "monitoring_log.csv").write_text("just,some\ncsv,text\n")
    with pytest.raises(ValueError, match="monitoring_log.csv: not a monitoring log"):
        run_once(str(tmp_path), "run-3", stable_window())


def test_results_for_the_run_record(tmp_path):
    window = stable_window()
    drift = feature_drift(window.reference, window.current)
    champion = champion_score_drift(FakeScorer(), window,
                                    at_training={"average_precision": 0.9, "recall": 0.8, "precision": 0.7})
    status = monitoring_status(window, drift, champion)
    results = save_monitoring_results(
        monitoring_results(window, drift, champion, status, {"psi_alert": 0.25}), str(tmp_path))
    saved = pd.read_json(tmp_path / "artifacts" / "results" / "monitoring.json", typ="series")
    assert saved["overall_status"] == results["overall_status"]
    assert set(results["features"]) == set(FEATURES)
    assert results["features"]["used_chip"]["status"] == "ok"
    assert results["current"]["rows"] == 2000 and results["reference"]["rows"] == 8000
    assert results["champion"]["version"] == 3 and results["champion"]["at_training"]["recall"] == 0.8
    assert results["score_psi"] == pytest.approx(champion.score_psi)
    assert results["recommendation"] == status["recommendation"]


def test_figures_show_the_drifted_features_and_the_history(tmp_path):
    window = stable_window()
    current = window.current.copy()
    current["distance_from_home"] *= 3
    current["online_order"] = (np.arange(len(current)) % 10 < 9).astype(int)
    drift = feature_drift(window.reference, current)
    figure = feature_drift_figure(drift)
    titles = [ax.get_title() for ax in figure.axes if ax.get_visible()]
    assert len(titles) == 2 and titles[0].startswith("distance_from_home: PSI")
    log = run_once(str(tmp_path), "a", window)
    log = run_once(str(tmp_path), "b", window)
    history = monitoring_history_figure(log)
    assert history.axes[0].get_lines()[0].get_ydata().tolist() == log["max_feature_psi"].tolist()


# --------------------------------------------------------------------------- command line


def test_cli_prints_the_table_and_the_status(tmp_path, capsys):
    frame = timed_transactions()
    frame.to_parquet(tmp_path / "reference.parquet", index=False)
    current = frame.tail(300).drop(columns="timestamp").copy()
    current["distance_from_home"] *= 4
    current.to_csv(tmp_path / "current.csv", index=False)
    code = cli(["--reference", str(tmp_path / "reference.parquet"), "--current", str(tmp_path / "current.csv")])
    out = capsys.readouterr().out
    assert code == 0
    assert "overall: ALERT" in out
    line = next(line for line in out.splitlines() if line.startswith("distance_from_home"))
    assert line.split()[-1] == "alert"


def test_cli_latest_days_of_the_reference(tmp_path, capsys):
    timed_transactions().to_parquet(tmp_path / "reference.parquet", index=False)
    assert cli(["--reference", str(tmp_path / "reference.parquet"), "--current-days", "7"]) == 0
    out = capsys.readouterr().out
    assert "the latest 7 days (2024-01-24 to 2024-01-30)" in out
    assert "overall: OK" in out


@pytest.mark.parametrize("content, message", [
    ("", "file is empty"),
    ("distance_from_home,used_chip\n1.0,1\n", "missing required columns"),
])
def test_cli_bad_file_one_line_and_exit_2(tmp_path, capsys, content, message):
    timed_transactions().to_parquet(tmp_path / "reference.parquet", index=False)
    (tmp_path / "current.csv").write_text(content)
    code = cli(["--reference", str(tmp_path / "reference.parquet"), "--current", str(tmp_path / "current.csv")])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and err.startswith("error: ") and err.count("\n") == 1


def test_cli_missing_reference_exit_2(tmp_path, capsys):
    assert cli(["--reference", str(tmp_path / "nope.parquet")]) == 2
    assert "nope.parquet: file not found" in capsys.readouterr().err


def test_cli_bad_thresholds_exit_2(tmp_path, capsys):
    timed_transactions().to_parquet(tmp_path / "reference.parquet", index=False)
    assert cli(["--reference", str(tmp_path / "reference.parquet"), "--psi-watch", "0.5"]) == 2
    assert "psi_watch < psi_alert" in capsys.readouterr().err


def test_cli_unsafe_model_name_exit_2(tmp_path, capsys):
    timed_transactions().to_parquet(tmp_path / "reference.parquet", index=False)
    assert cli(["--reference", str(tmp_path / "reference.parquet"), "--champion",
                "--model-name", "it's"]) == 2
    assert "error: --model-name \"it's\" is not allowed; use letters, digits" in \
        capsys.readouterr().err


# --------------------------------------------------------------------------- the simulator's knob


def simulated_window(**knobs) -> MonitoringWindow:
    """150k simulated purchases over 90 days; test = last 18 days; current = last 14 days."""
    from cardfraud.simulator.simulate import simulate

    frame = simulate(rows=150_000, seed=11, days=90, **knobs)
    cut = frame["timestamp"].max().floor("D") - pd.Timedelta(days=17)
    split = np.where(frame["timestamp"] >= cut, "test", "train")
    return monitoring_window(frame, split, current_days=14)


# Card testing (drift_kind new_fraud_pattern) replaces genuine purchases by tiny online ones
# from far away, at shops new to the cardholder: these are the features it moves.
CARD_TESTING_FEATURES = {"distance_from_home", "distance_from_last_transaction",
                         "ratio_to_median_purchase_price", "repeat_retailer", "online_order",
                         "used_chip"}


def test_drift_knob_off_gives_no_alert_at_default_thresholds():
    window = simulated_window()
    drift = feature_drift(window.reference, window.current)
    status = monitoring_status(window, drift, ChampionCheck(False, "none"))
    assert status["overall_status"] == "ok", drift.table["psi"].to_dict()
    assert drift.table["psi"].max() < 0.01


def test_drift_knob_on_raises_the_alert_on_the_drifted_features():
    # the knob at its default strength: from day 76 on, 15 % of genuine purchases are replaced
    # by card tests (the whole current period, none of the reference)
    window = simulated_window(drift_day=76)
    drift = feature_drift(window.reference, window.current)
    status = monitoring_status(window, drift, ChampionCheck(False, "none"))
    table = drift.table
    assert status["overall_status"] == "alert"
    alerted = set(table.index[table["status"] == "alert"])
    assert "distance_from_last_transaction" in alerted
    assert set(status["drifted_features"]) <= CARD_TESTING_FEATURES
    assert table.loc["used_pin_number", "status"] == "ok"
    assert not status["data_feed_problems"]


def test_behaviour_shift_moves_the_chip_share():
    window = simulated_window(drift_day=76, drift_kind="behaviour_shift")
    drift = feature_drift(window.reference, window.current)
    alerted = set(drift.table.index[drift.table["status"] == "alert"])
    assert alerted == {"used_chip", "online_order"}
    assert drift.table["psi"].idxmax() == "used_chip"


# --------------------------------------------------------------------------- end to end


def register_champion(output_dir: str, tracking_uri: str) -> dict:
    """Fit a small model on the training rows and register it as champion with test metrics."""
    import mlflow
    from sklearn.ensemble import HistGradientBoostingClassifier

    from cardfraud.data.schema import model_features
    from cardfraud.modeling.tracking import (
        configure_tracking,
        get_or_create_experiment,
        tracking_client,
        using_store,
    )
    from cardfraud.serving.registration import scorer_requirements
    from cardfraud.serving.scorer import FraudScorer

    frame = pd.read_parquet(f"{output_dir}/artifacts/transactions.parquet")
    train = pd.read_parquet(f"{output_dir}/artifacts/split.parquet")["split"].eq("train").to_numpy()
    classifier = HistGradientBoostingClassifier(max_iter=30, random_state=0)
    classifier.fit(model_features(frame[train]), frame.loc[train, "fraud"])
    metrics = {"average_precision": 0.9, "recall": 0.8, "precision": 0.7}
    uri = configure_tracking(tracking_uri)
    example = model_features(frame.head(5))
    # an experiment whose artifacts sit beside the test's database, not in ./mlruns
    experiment_id = get_or_create_experiment("drift-test", uri)
    with using_store(uri), mlflow.start_run(experiment_id=experiment_id):
        info = mlflow.pyfunc.log_model(name="scorer", python_model=FraudScorer(classifier, 0.5),
                                       input_example=example, metadata={"threshold": 0.5},
                                       pip_requirements=scorer_requirements(classifier))
        version = mlflow.register_model(info.model_uri, "card-fraud-detector",
                                        tags={f"test_{k}": str(v) for k, v in metrics.items()})
    tracking_client(uri).set_registered_model_alias("card-fraud-detector", "champion",
                                                    version.version)
    return metrics


@pytest.mark.slow
def test_champion_check_with_a_registered_champion(tmp_path):
    import os

    output_dir = simulated_output_dir(tmp_path)
    at_training = register_champion(output_dir, os.environ["MLFLOW_TRACKING_URI"])
    window = load_monitoring_window(output_dir, current_days=14)
    champion = champion_check(window, "card-fraud-detector", None, sample_rows=5000)
    assert champion.available and champion.version == 1 and champion.threshold == 0.5
    assert champion.at_training == at_training
    assert 0 < champion.now["average_precision"] <= 1 and 0 <= champion.now["recall"] <= 1
    assert champion.score_psi < 0.1 and champion.score_status == "ok"  # no drift simulated
    assert "scored" in champion.message and "5,000 reference purchases" in champion.message


@pytest.mark.slow
def test_cli_with_champion_flag_and_no_registered_model(tmp_path, capsys):
    timed_transactions().to_parquet(tmp_path / "reference.parquet", index=False)
    code = cli(["--reference", str(tmp_path / "reference.parquet"), "--champion",
                "--tracking-uri", f"sqlite:///{tmp_path}/mlflow.db"])
    out = capsys.readouterr().out
    assert code == 0
    assert "No champion to check" in out and "overall: OK" in out


def test_a_history_champion_trained_with_another_label_delay_is_not_scored():
    """The window's merchant fraud rates count labels known modeling.label_delay_days before;
    a champion trained with another delay would score features it never learned."""
    from types import SimpleNamespace

    window = stable_window()
    for side in (window.reference, window.current):
        side["merchant_fraud_rate_30d"] = 0.01
    window.description["label_delay_days"] = 3.0
    scorer = FakeScorer()
    scorer.inputs = ["ratio_to_median_purchase_price", "merchant_fraud_rate_30d"]
    scorer.model = SimpleNamespace(metadata=SimpleNamespace(metadata={"label_delay_days": 7.0}))
    check = champion_score_drift(scorer, window)
    assert not check.available
    assert check.message == (
        "Champion version 3 was trained with fraud labels known 7 day(s) before a purchase, but "
        "this run's merchant fraud rates count those known 3 day(s) before "
        "(modeling.label_delay_days): score drift and performance are skipped; set "
        "modeling.label_delay_days to 7 to check it.")
    scorer.model.metadata.metadata["label_delay_days"] = 3.0
    assert champion_score_drift(scorer, window).available
