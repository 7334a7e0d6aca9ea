"""Batch scoring of new purchases: good files scored, bad files refused, outputs never partial."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import (
    fake_modeling_step,
    fresh_tracking_store,
    registry_step,
)

from cardfraud.data.checks import DataValidationError
from cardfraud.data.schema import FEATURES
from cardfraud.serving.registration import held_out_test_rows
from cardfraud.serving.score_command import cli
from cardfraud.serving.scorer import check_model_uri, check_purchases, load_champion, scorer_output
from cardfraud.serving.scoring import serving_commands, serving_payload

THRESHOLD = 0.3


@pytest.fixture
def champion_dir(tmp_path, monkeypatch) -> Path:
    """An output dir whose logistic regression is registered as champion (threshold 0.3)."""
    fresh_tracking_store(tmp_path / "mlflow", monkeypatch)
    output_dir = tmp_path / "out"
    output_dir.mkdir()
    fake_modeling_step(output_dir, os.environ["MLFLOW_TRACKING_URI"], threshold=THRESHOLD)
    registry_step(output_dir)
    return output_dir


@pytest.fixture
def new_purchases(champion_dir, tmp_path) -> tuple[Path, pd.DataFrame]:
    """Test purchases written as a CSV without the fraud column, plus an id column."""
    test = held_out_test_rows(champion_dir)
    frame = test[FEATURES].copy()
    frame.insert(0, "transaction_id", [f"T{r:05d}" for r in test["row"]])
    path = tmp_path / "new.csv"
    frame.to_csv(path, index=False)
    return path, test


def run_score(*args: str) -> int:
    """Run ``python -m cardfraud score`` in-process and return its exit code."""
    return cli(list(args))


# --- validation, without MLflow ---------------------------------------------------------

def test_check_purchases_keeps_the_label_optional(good_frame):
    clean = check_purchases(good_frame.drop(columns="fraud"), "new.csv")
    assert list(clean.columns) == FEATURES and len(clean) == 8
    labelled = good_frame.assign(fraud=[0, None, 1, 0, 0, 1, 0, 0])
    clean = check_purchases(labelled, "new.csv")
    assert list(clean.columns) == list(labelled.columns) and len(clean) == 8


@pytest.mark.parametrize("column, value, message", [
    ("used_chip", None, "new.csv: missing values in column(s) used_chip at row 3; every "
                        "purchase needs all 7 model inputs to be scored"),
    ("distance_from_home", -4.0, "column 'distance_from_home' has negative values at row 3"),
    ("online_order", 2, "column 'online_order' must be 0 or 1 but has 2 at row 3"),
    ("ratio_to_median_purchase_price", "high", "column 'ratio_to_median_purchase_price' has "
                                               "non-numeric values at row 3 (e.g. 'high')"),
])
def test_check_purchases_names_file_column_and_row(good_frame, column, value, message):
    bad = good_frame.astype({column: object if isinstance(value, str) else "float64"})
    bad.loc[2, column] = value
    with pytest.raises(DataValidationError) as caught:
        check_purchases(bad, "new.csv")
    assert message in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("column, value, message", [
    ("distance_from_home", float("inf"), "new.csv: column 'distance_from_home' has infinite "
                                         "values at row 3 (e.g. inf)"),
    ("distance_from_last_transaction", 25_000.0, "column 'distance_from_last_transaction' has "
                                                 "values above 20,040 km (half the Earth's "
                                                 "circumference) at row 3"),
    ("ratio_to_median_purchase_price", 1e308, "column 'ratio_to_median_purchase_price' has values "
                                              "above 1,000,000"),
])
def test_check_purchases_refuses_what_no_purchase_can_be(good_frame, column, value, message):
    bad = good_frame.drop(columns="fraud")
    bad.loc[2, column] = value
    with pytest.raises(DataValidationError) as caught:
        check_purchases(bad, "new.csv")
    assert message in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("uri", ["models:/card-fraud-detector@champion", "models:/x.y_z/3",
                                 "runs:/abc/model"])
def test_model_uris_with_safe_names_pass(uri):
    assert check_model_uri(uri) == uri


@pytest.mark.parametrize("uri, message", [
    ("models:/it's@champion", "--model \"models:/it's@champion\": model name \"it's\" is not allowed"),
    ("models:/a b/1", "model name 'a b' is not allowed"),
    ("models:/fraud", "expected models:/<name>@<alias> or models:/<name>/<version>"),
    ("models:/fraud@it's", "expected models:/<name>@<alias>"),
])
def test_model_uris_with_unsafe_names_are_refused(uri, message):
    with pytest.raises(ValueError) as caught:
        check_model_uri(uri)
    assert message in str(caught.value)


def test_score_refuses_an_unsafe_model_name_before_reading_anything(tmp_path, capsys):
    output = tmp_path / "scored.csv"
    assert run_score("--input", str(tmp_path / "absent.csv"), "--output", str(output),
                     "--model", "models:/it's@champion") == 2
    error = capsys.readouterr().err
    assert error.startswith("error: --model \"models:/it's@champion\": model name \"it's\" is not "
                            "allowed; use letters, digits") and error.count("\n") == 1
    assert not output.exists()


def test_scorer_output_accepts_probability_pairs_with_a_threshold():
    scored = scorer_output(np.array([[0.9, 0.1], [0.2, 0.8]]), 0.5, "runs:/x/model")
    assert scored["decision"].tolist() == [0, 1]
    with pytest.raises(TypeError, match="runs:/x/model does not return a fraud probability"):
        scorer_output(np.array([0, 1]), None, "runs:/x/model")


# --- batch scoring with a registered champion ---------------------------------------------

def test_scores_a_csv_with_probability_and_decision(new_purchases, tmp_path, capsys):
    path, test = new_purchases
    output = tmp_path / "scored.csv"
    assert run_score("--input", str(path), "--output", str(output)) == 0
    scored = pd.read_csv(output, keep_default_na=False)
    assert list(scored.columns) == ["transaction_id", *FEATURES, "probability", "decision",
                                    "reasons"]
    assert len(scored) == len(test)
    held = scored["decision"] == 1
    assert scored.loc[held, "reasons"].ne("").all()  # --reasons alerts: the held ones only
    assert scored.loc[~held, "reasons"].eq("").all()
    np.testing.assert_allclose(scored["probability"], test["modeling_probability"], atol=1e-12)
    assert (scored["decision"] == (scored["probability"] >= THRESHOLD)).all()
    flagged = int(scored["decision"].sum())
    out = capsys.readouterr().out
    assert f"scored {len(test):,} transactions from {path}" in out
    assert "models:/card-fraud-detector@champion (version 1, threshold 0.3000)" in out
    assert f"{flagged:,} held for review" in out and f"reasons for {flagged:,} ->" in out


@pytest.mark.parametrize("choice", ["all", "none"])
def test_reasons_for_every_purchase_or_none(new_purchases, tmp_path, choice):
    path, test = new_purchases
    output = tmp_path / "scored.parquet"
    assert run_score("--input", str(path), "--output", str(output), "--reasons", choice) == 0
    scored = pd.read_parquet(output)
    reasons = scored["reasons"]
    if choice == "none":
        assert reasons.eq("").all()
    else:  # some input raises nearly every purchase's score above the average purchase's
        assert reasons[scored["decision"] == 1].ne("").all() and reasons.ne("").sum() > 150
        assert reasons.str.count("; ").le(2).all()
        assert reasons.str.contains(r"times the card's median purchase|online purchase").any()


def test_score_help_names_the_reasons_choices(capsys):
    from cardfraud.serving.score_command import REASON_CHOICES
    from cardfraud.serving.scorer import REASON_CHOICES as SCORER_CHOICES

    assert set(REASON_CHOICES) == set(SCORER_CHOICES)
    with pytest.raises(SystemExit):
        run_score("--help")
    assert "--reasons {alerts,all,none}" in capsys.readouterr().out


def test_scores_parquet_with_labels_and_a_model_version(champion_dir, tmp_path):
    test = held_out_test_rows(champion_dir)
    source = tmp_path / "labelled.parquet"
    test[[*FEATURES, "fraud"]].to_parquet(source)
    output = tmp_path / "scored.parquet"
    code = run_score("--input", str(source), "--output", str(output),
                     "--model", "models:/card-fraud-detector/1")
    assert code == 0
    scored = pd.read_parquet(output)
    assert scored["fraud"].tolist() == test["fraud"].tolist()
    champion = load_champion("card-fraud-detector")
    expected = champion.score(test)["probability"].to_numpy()
    np.testing.assert_allclose(scored["probability"], expected, atol=1e-12)


def _bad_files(folder: Path, good: pd.DataFrame) -> dict[str, tuple[Path, str]]:
    """Write one bad file per problem; return name -> (path, expected message part)."""
    files = {}
    missing_column = folder / "missing_column.csv"
    good.drop(columns="online_order").to_csv(missing_column, index=False)
    files["missing column"] = (missing_column, "missing column online_order: the model uses it")
    text = good.astype({"distance_from_home": object})
    text.loc[4, "distance_from_home"] = "far"
    files["text in a number"] = (folder / "text.csv", "column 'distance_from_home' has "
                                 "non-numeric values at row 5 (e.g. 'far')")
    text.to_csv(files["text in a number"][0], index=False)
    missing_value = good.copy()
    missing_value.loc[[1, 6], "used_pin_number"] = np.nan
    files["missing value"] = (folder / "missing_value.csv", "missing values in column(s) "
                              "used_pin_number at rows 2, 7")
    missing_value.to_csv(files["missing value"][0], index=False)
    empty = folder / "empty.csv"
    empty.write_text("")
    files["empty file"] = (empty, "file is empty (0 bytes)")
    files["not found"] = (folder / "nowhere.csv", "nowhere.csv: file not found")
    return files


@pytest.mark.parametrize("problem", ["missing column", "text in a number", "missing value",
                                     "empty file", "not found"])
def test_bad_input_fails_clearly_and_leaves_existing_output_untouched(
        new_purchases, tmp_path, capsys, problem):
    path, _ = new_purchases
    bad, message = _bad_files(tmp_path, pd.read_csv(path))[problem]
    output = tmp_path / "results" / "scored.csv"
    output.parent.mkdir()
    output.write_text("yesterday's scores\n")
    assert run_score("--input", str(bad), "--output", str(output), "--overwrite") == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert "Traceback" not in err
    assert output.read_text() == "yesterday's scores\n"
    assert os.listdir(output.parent) == ["scored.csv"]


def test_bad_input_creates_no_output(new_purchases, tmp_path, capsys):
    path, _ = new_purchases
    bad, _ = _bad_files(tmp_path, pd.read_csv(path))["missing value"]
    output = tmp_path / "fresh" / "scored.csv"
    assert run_score("--input", str(bad), "--output", str(output)) == 2
    assert not output.exists()


def test_failure_while_writing_leaves_no_partial_file(new_purchases, tmp_path, monkeypatch,
                                                      capsys):
    path, _ = new_purchases
    output = tmp_path / "scored.csv"
    output.write_text("yesterday's scores\n")

    def disk_full(frame, where, *args, **kwargs):
        Path(where).write_text("half a fi")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", disk_full)
    assert run_score("--input", str(path), "--output", str(output), "--overwrite") == 1
    assert f"error: cannot write {output}: No space left on device" in capsys.readouterr().err
    assert output.read_text() == "yesterday's scores\n"
    assert sorted(os.listdir(tmp_path)) == sorted(["mlflow", "out", "new.csv", "scored.csv"])


@pytest.mark.parametrize("output_name, message", [
    ("scored.txt", "output must end with .csv or .parquet"),
    ("new.csv", "is the input file"),
])
def test_unusable_output_path(new_purchases, tmp_path, capsys, output_name, message):
    path, _ = new_purchases
    before = path.read_bytes()
    assert run_score("--input", str(path), "--output", str(tmp_path / output_name)) == 2
    assert message in capsys.readouterr().err
    assert path.read_bytes() == before


def test_unknown_model_is_exit_1_with_a_hint(new_purchases, tmp_path, capsys):
    path, _ = new_purchases
    output = tmp_path / "scored.csv"
    code = run_score("--input", str(path), "--output", str(output), "--model",
                     "models:/card-fraud-detector@nobody")
    assert code == 1
    err = capsys.readouterr().err
    assert "cannot load model models:/card-fraud-detector@nobody" in err
    assert "Run the registry step" in err and not output.exists()


def test_module_entry_point_scores_a_file(new_purchases, tmp_path, project_env):
    path, test = new_purchases
    output = tmp_path / "scored.csv"
    done = subprocess.run([sys.executable, "-m", "cardfraud", "score", "--input", str(path),
                           "--output", str(output)], env={**project_env, **os.environ},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"scored {len(test):,} transactions")
    assert len(pd.read_csv(output)) == len(test)


def test_serving_commands_hold_a_real_payload(champion_dir):
    test = held_out_test_rows(champion_dir)
    payload = serving_payload(test, rows=2)
    text = serving_commands("card-fraud-detector", "sqlite:////tmp/x/mlflow.db", payload)
    assert "mlflow models serve -m models:/card-fraud-detector@champion --env-manager local" \
        in text
    body = json.loads(text.split(" -d ", 1)[1].strip("'"))
    assert body["dataframe_split"]["columns"] == FEATURES
    assert body["dataframe_split"]["data"][0] == test[FEATURES].iloc[0].tolist()


# --- an existing output, and scores stopped half way --------------------------------------

def test_existing_output_is_refused_unless_overwrite(new_purchases, tmp_path, capsys):
    path, test = new_purchases
    output = tmp_path / "scored.csv"
    output.write_text("yesterday's scores\n")
    assert run_score("--input", str(path), "--output", str(output)) == 2
    assert capsys.readouterr().err == (f"error: {output}: already exists; pass --overwrite "
                                       f"to replace it\n")
    assert output.read_text() == "yesterday's scores\n"
    assert run_score("--input", str(path), "--output", str(output), "--overwrite") == 0
    assert len(pd.read_csv(output)) == len(test)


def finished_process_id() -> int:
    """The id of a process that has already exited."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


def test_next_score_removes_the_leftovers_of_a_killed_one(new_purchases, tmp_path):
    path, _ = new_purchases
    folder = tmp_path / "scores"
    folder.mkdir()
    killed = folder / f".monday.csv.cardfraud-{finished_process_id()}-0123abcd.tmp"
    running = folder / f".tuesday.csv.cardfraud-{os.getppid()}-89abcdef.tmp"
    users = folder / ".notes.tmp"
    for leftover in (killed, running, users):
        leftover.write_text("half a file")
    assert run_score("--input", str(path), "--output", str(folder / "scored.csv")) == 0
    assert sorted(os.listdir(folder)) == sorted([running.name, users.name, "scored.csv"])


def start_score(source: Path, output: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "cardfraud", "score", "--input", str(source),
                             "--output", str(output)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for_temporary_file(folder: Path, process: subprocess.Popen) -> Path:
    """Wait until the score is writing its temporary file; return it."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        found = list(folder.glob(".*.tmp"))
        if found:
            return found[0]
        time.sleep(0.02)
    process.kill()
    raise AssertionError(f"no temporary file seen (exit {process.poll()}): "
                         f"{process.communicate()[1][-2000:]}")


@pytest.fixture
def many_purchases(champion_dir, tmp_path) -> Path:
    """A million purchases (the CSV of their scores is ~150 MB): writing it takes seconds."""
    test = held_out_test_rows(champion_dir)[FEATURES]
    frame = test.sample(1_000_000, replace=True, random_state=0).reset_index(drop=True)
    path = tmp_path / "many.parquet"
    frame.to_parquet(path)
    return path


@pytest.mark.slow
def test_score_stopped_by_sigterm_leaves_no_temporary_file(many_purchases, tmp_path):
    folder = tmp_path / "scores"
    process = start_score(many_purchases, folder / "scored.csv", dict(os.environ))
    wait_for_temporary_file(folder, process)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143
    assert err == f"interrupted (SIGTERM): {folder / 'scored.csv'} not written\n"
    assert os.listdir(folder) == []


@pytest.mark.slow
def test_leftover_of_a_score_killed_outright_goes_with_the_next_score(many_purchases,
                                                                      new_purchases, tmp_path):
    folder = tmp_path / "scores"
    process = start_score(many_purchases, folder / "big.csv", dict(os.environ))
    leftover = wait_for_temporary_file(folder, process)
    process.kill()
    process.communicate(timeout=60)
    assert leftover.exists() and leftover.name.startswith(".big.csv.cardfraud-")
    path, test = new_purchases
    done = subprocess.run([sys.executable, "-m", "cardfraud", "score", "--input", str(path),
                           "--output", str(folder / "small.csv")], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert os.listdir(folder) == ["small.csv"]


def test_relative_tracking_uri_is_taken_from_the_callers_folder(new_purchases, tmp_path,
                                                               monkeypatch):
    path, test = new_purchases
    monkeypatch.chdir(tmp_path)  # the champion's store is tmp_path/mlflow/mlflow.db
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    assert run_score("--input", "new.csv", "--output", "scored.csv",
                     "--tracking-uri", "sqlite:///mlflow/mlflow.db") == 0
    assert len(pd.read_csv(tmp_path / "scored.csv")) == len(test)


def test_a_scorer_pickled_before_the_subpackages_still_loads():
    import pickle

    from cardfraud.serving.scorer import FraudScorer

    # what a version registered before the layout of one subpackage per stage pickled
    assert pickle.loads(b"ccardfraud.scoring\nFraudScorer\n.") is FraudScorer
