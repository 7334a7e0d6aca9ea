"""Bad-input sweep: whatever a real extract throws at run_all and the score command.

Every bad file is fed to run_all and to ``python -m cardfraud score`` in an output dir that
already holds a good site, registry champion and monitoring log. Each gives either a correct
run or a non-zero exit with one clear line naming the file (and column and rows where there
are any), and the earlier site, champion and monitoring log are unchanged afterwards.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT, make_transactions, private_copy, run_all

pytestmark = pytest.mark.slow
HEADER = ("distance_from_home,distance_from_last_transaction,ratio_to_median_purchase_price,"
          "repeat_retailer,used_chip,used_pin_number,online_order,fraud")


def good_rows(rows: int = 300) -> pd.DataFrame:
    return make_transactions(rows=rows, seed=3)


def with_context(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows with the optional columns the analysis uses: times, amounts, places."""
    return frame.assign(
        timestamp=pd.date_range("2024-05-01", periods=len(frame), freq="37min").astype(str),
        amount=(50_000 * frame["ratio_to_median_purchase_price"]).round(-2),
        city="Bogotá", latitude=4.65, longitude=-74.08)


def set_value(frame: pd.DataFrame, row: int, column: str, value) -> pd.DataFrame:
    """A copy of ``frame`` with one cell replaced (the column becomes text if need be)."""
    frame = frame.astype({column: object})
    frame.loc[row, column] = value
    return frame


def fake_workbook(path: Path) -> Path:
    """A file with the parts of an .xlsx workbook, as Excel saves one."""
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return path


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def make_bad_file(kind: str, folder: Path) -> Path:
    """Write one bad input of the given kind and return its path."""
    frame = good_rows()
    csv = frame.to_csv(index=False)
    if kind == "empty":
        return write(folder / "empty.csv", "")
    if kind == "header_only":
        return write(folder / "header_only.csv", HEADER + "\n")
    if kind == "missing_column":
        return write(folder / "no_chip.csv", frame.drop(columns="used_chip").to_csv(index=False))
    if kind == "text_in_numeric":
        frame = frame.astype({"distance_from_home": object})
        frame.loc[2, "distance_from_home"] = "lejos"
        return write(folder / "text.csv", frame.to_csv(index=False))
    if kind == "negative_distance":
        frame.loc[4, "distance_from_last_transaction"] = -3.5
        return write(folder / "negative.csv", frame.to_csv(index=False))
    if kind == "nan_fail":
        frame.loc[5, "ratio_to_median_purchase_price"] = None
        return write(folder / "nans.csv", frame.to_csv(index=False))
    if kind == "fraud_two":
        frame.loc[6, "fraud"] = 2
        return write(folder / "fraud2.csv", frame.to_csv(index=False))
    if kind == "single_class":
        return write(folder / "one_class.csv", frame.assign(fraud=0).to_csv(index=False))
    if kind == "one_row":
        return write(folder / "one_row.csv", frame.iloc[:1].to_csv(index=False))
    if kind == "truncated_parquet":
        path = folder / "cut.parquet"
        frame.to_parquet(path)
        return write(path, path.read_bytes()[: len(path.read_bytes()) // 2])
    if kind == "directory":
        (folder / "a_folder.csv").mkdir()
        return folder / "a_folder.csv"
    if kind == "infinite":
        return write(folder / "inf.csv", set_value(frame, 2, "distance_from_home", "inf").to_csv(index=False))
    if kind == "huge_ratio":
        frame.loc[3, "ratio_to_median_purchase_price"] = 1e308
        return write(folder / "huge.csv", frame.to_csv(index=False))
    if kind == "farther_than_half_the_earth":
        frame.loc[4, "distance_from_last_transaction"] = 25_000.0
        return write(folder / "far.csv", frame.to_csv(index=False))
    if kind == "amount_text":
        return write(folder / "amount.csv", set_value(with_context(frame), 1, "amount", "abc").to_csv(index=False))
    if kind == "negative_amount":
        return write(folder / "refund.csv", set_value(with_context(frame), 2, "amount", -12_000.0).to_csv(index=False))
    if kind == "bad_timestamp":
        return write(folder / "when.csv", set_value(with_context(frame), 5, "timestamp", "last tuesday").to_csv(index=False))
    if kind == "bad_latitude":
        return write(folder / "where.csv", set_value(with_context(frame), 6, "latitude", 123.0).to_csv(index=False))
    if kind == "fraud_with_spaces":
        return write(folder / "spaces.csv", frame.assign(**{" fraud": frame["fraud"]}).to_csv(index=False))
    if kind == "duplicate_column":
        lines = csv.splitlines()
        copied = [f"{line},{line.split(',')[4]}" for line in lines]
        copied[0] = lines[0] + ",used_chip"
        return write(folder / "twice.csv", "\n".join(copied) + "\n")
    if kind == "excel":
        return fake_workbook(folder / "extract.xlsx")
    if kind == "thousands":
        lines = frame.to_csv(index=False, sep=";", decimal=",").splitlines()
        lines[3] = "1.234,5;" + lines[3].split(";", 1)[1]
        return write(folder / "miles.csv", "\n".join(lines) + "\n")
    if kind == "one_fraud":
        frame = make_transactions(rows=20_000, seed=3).assign(fraud=0)
        frame.loc[100, "fraud"] = 1
        return write(folder / "one_fraud.csv", frame.to_csv(index=False))
    if kind == "unreadable":
        path = write(folder / "locked.csv", csv)
        if os.geteuid() != 0:
            path.chmod(0)
            return path
        # root reads any file: use bytes no text reader can decode instead
        return write(folder / "locked.csv", b"\x89PNG\r\n\x1a\n\xff\xfe\x00binary\xff" * 50)
    raise ValueError(kind)


# kind -> (what run_all must say, what score must say; None = score accepts it)
BAD = {
    "empty": ("empty.csv: file is empty", "empty.csv: file is empty"),
    "header_only": ("header_only.csv: has a header but no data rows",) * 2,
    "missing_column": ("no_chip.csv: missing required column used_chip",
                       "no_chip.csv: missing column used_chip: the model uses it"),
    "text_in_numeric": ("text.csv: column 'distance_from_home' has non-numeric values at row 3",) * 2,
    "negative_distance": ("negative.csv: column 'distance_from_last_transaction' has negative values at row 5",) * 2,
    "nan_fail": ("nans.csv: missing values in column(s) ratio_to_median_purchase_price at row 6",) * 2,
    # scoring ignores labels (new purchases have none), so a bad label column is not its concern
    "fraud_two": ("fraud2.csv: column 'fraud' must be 0 or 1 but has 2 at row 7", None),
    "single_class": ("one_class.csv: column 'fraud' has one class only", None),
    "one_row": ("one_row.csv: column 'fraud' has one class only: all 1 rows", None),
    "truncated_parquet": ("cut.parquet: not a readable Parquet file",) * 2,
    "directory": ("a_folder.csv: is a directory",) * 2,
    "unreadable": ("locked.csv: ",) * 2,
    "infinite": ("inf.csv: column 'distance_from_home' has infinite values at row 3 (e.g. inf)",) * 2,
    "huge_ratio": ("huge.csv: column 'ratio_to_median_purchase_price' has values above 1,000,000 "
                   "(a purchase a million times the cardholder's median) at row 4",) * 2,
    "farther_than_half_the_earth": ("far.csv: column 'distance_from_last_transaction' has values "
                                    "above 20,040 km (half the Earth's circumference) at row 5",) * 2,
    "amount_text": ("amount.csv: column 'amount' has non-numeric values at row 2 (e.g. 'abc')",) * 2,
    "negative_amount": ("refund.csv: column 'amount' has negative values at row 3 (e.g. -12000); "
                        "amounts must be >= 0",) * 2,
    "bad_timestamp": ("when.csv: column 'timestamp' has values that are not dates and times at "
                      "row 6 (e.g. 'last tuesday')",) * 2,
    "bad_latitude": ("where.csv: column 'latitude' has values above 90",) * 2,
    "fraud_with_spaces": ("spaces.csv: column name 'fraud' appears 2 times (columns 8, 9",) * 2,
    "duplicate_column": ("twice.csv: column name 'used_chip' appears 2 times (columns 5, 9",) * 2,
    "excel": ("extract.xlsx: is a spreadsheet workbook (Excel), which is not read; save the "
              "sheet as CSV (UTF-8)",) * 2,
    "thousands": ("miles.csv: column 'distance_from_home' has non-numeric values at row 3 (e.g. "
                  "'1.234,5'); these look like numbers written with '.' as thousands separator: "
                  "remove the separators or set load.thousands='.'",) * 2,
    # loads (two classes) but cannot be cross-validated; scoring ignores labels
    "one_fraud": ("modeling: cross-validation with cv_folds=3 needs at least 3 frauds in the "
                  "training rows and 1 in the test set; the data has 1", None),
}


def fingerprint_outputs(out: Path, tracking_uri: str) -> dict:
    """Hash the published site, run.json and monitoring log; read the champion version."""
    files = sorted((out / "site").rglob("*")) + [out / "run.json",
                                                 out / "artifacts" / "monitoring_log.csv"]
    state = {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in files if p.is_file()}
    state["champion"] = champion_version(tracking_uri)
    return state


def champion_version(tracking_uri: str) -> str | None:
    """The version the smoke params' registered model has as champion, or None."""
    import yaml
    from mlflow import MlflowClient

    model_name = yaml.safe_load((ROOT / "params" / "smoke.yaml").read_text())["common"]["model_name"]
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    try:
        return client.get_model_version_by_alias(model_name, "champion").version
    except Exception:
        return None


@pytest.fixture(scope="module")
def published(smoke_run, tmp_path_factory):
    """A copy of the smoke run's outputs and store, which the bad runs below are pointed at."""
    out, tracking_uri = private_copy(smoke_run, tmp_path_factory.mktemp("published"))
    state = fingerprint_outputs(out, tracking_uri)
    assert state["champion"] is not None, "the smoke run registered no champion"
    assert "artifacts/monitoring_log.csv" in state
    return out, tracking_uri, state


# run_all end to end on a file of each kind of failure (unreadable, empty, a bad value, a bad
# file format, a step after load); every kind's message from the load step itself below
RUN_ALL_KINDS = ["empty", "text_in_numeric", "nan_fail", "truncated_parquet", "unreadable",
                 "excel", "one_fraud"]
LOAD_STEP_KINDS = [kind for kind in BAD if kind != "one_fraud"]  # one_fraud fails in modeling


@pytest.mark.parametrize("kind", RUN_ALL_KINDS)
def test_run_all_refuses_bad_input_and_keeps_what_was_published(kind, published, tmp_path):
    out, tracking_uri, before = published
    bad = make_bad_file(kind, tmp_path)
    if kind == "nan_fail":
        extra = ["--set", "load.on_missing=fail"]
    else:
        extra = []
    done = run_all("--output", str(out), "--set", f"load.path={bad}", "--set",
                   f"common.tracking_uri={tracking_uri}", *extra)
    assert done.returncode == 1
    failed = [line for line in done.stderr.splitlines() if line.startswith("FAILED:")]
    assert len(failed) == 1, done.stderr[-2000:]
    assert BAD[kind][0] in failed[0], failed[0]
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    assert fingerprint_outputs(out, tracking_uri) == before


@pytest.mark.parametrize("kind", LOAD_STEP_KINDS)
def test_the_load_step_refuses_every_bad_file_with_the_message_run_all_gives(kind, tmp_path,
                                                                            capsys):
    """``python -m cardfraud load`` (in this process) is the load step's validation that
    run_all's load notebook calls: the same refusal, exit 2, one line naming file and rows."""
    from cardfraud.__main__ import main

    bad = make_bad_file(kind, tmp_path)
    extra = ["--on-missing", "fail"] if kind == "nan_fail" else []
    capsys.readouterr()
    code = main(["load", "--input", str(bad), *extra])
    captured = capsys.readouterr()
    assert code == 2, captured.err[-2000:]
    assert captured.err.startswith("error: ") and BAD[kind][0] in captured.err, captured.err
    assert len(captured.err.splitlines()) == 1, captured.err
    assert captured.out == ""


@pytest.fixture(scope="module")
def base_scorer(tmp_path_factory):
    """A registered model on the seven base inputs, in a store of its own: the smoke run's
    champion learns from the card's history, which these one-file extracts cannot give."""
    from helpers import history_purchases, log_history_model

    store = tmp_path_factory.mktemp("base_scorer") / "mlflow.db"
    tracking_uri = f"sqlite:///{store}"
    earlier, _ = history_purchases()
    return tracking_uri, log_history_model(tracking_uri, earlier, history=False)


def score(scorer: tuple[str, str], source: Path, target: Path) -> subprocess.CompletedProcess:
    tracking_uri, model_uri = scorer
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri,
           "MLFLOW_REGISTRY_URI": tracking_uri, "MLFLOW_DISABLE_TELEMETRY": "true"}
    return subprocess.run([sys.executable, "-m", "cardfraud", "score", "--input", str(source),
                           "--output", str(target), "--overwrite", "--model", model_uri],
                          capture_output=True, text=True, timeout=300, env=env)


def score_here(scorer: tuple[str, str], source: Path, target: Path, capsys) -> tuple[int, str]:
    """The score command run in this process (``python -m cardfraud``'s ``main``): its exit
    code and what it printed on stderr. An exception escaping it fails the test, as a
    traceback would in a shell."""
    from cardfraud.__main__ import main

    tracking_uri, model_uri = scorer
    capsys.readouterr()
    code = main(["score", "--input", str(source), "--output", str(target), "--overwrite",
                 "--model", model_uri, "--tracking-uri", tracking_uri])
    return code, capsys.readouterr().err


# each refusal in this process (the same command, without a Python start and MLflow import
# per file); the process boundary itself: test_score_refuses_in_a_shell_with_one_line below
@pytest.mark.parametrize("kind", list(BAD))
def test_score_refuses_bad_input_without_touching_the_output(kind, base_scorer, tmp_path,
                                                             capsys):
    bad = make_bad_file(kind, tmp_path)
    target = tmp_path / "scored.csv"
    target.write_text("previous scores\n")
    code, err = score_here(base_scorer, bad, target, capsys)
    expected = BAD[kind][1]
    if expected is None:
        assert code == 0, err[-2000:]
        scored = pd.read_csv(target)
        assert {"probability", "decision"} <= set(scored.columns)
        assert scored["probability"].between(0, 1).all()
        return
    assert code != 0
    assert expected in err, err[-2000:]
    assert target.read_text() == "previous scores\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("scored")) == ["scored.csv"]


@pytest.mark.parametrize("kind", ["text_in_numeric", "truncated_parquet"])
def test_score_refuses_in_a_shell_with_one_line(kind, base_scorer, tmp_path):
    bad = make_bad_file(kind, tmp_path)
    target = tmp_path / "scored.csv"
    target.write_text("previous scores\n")
    done = score(base_scorer, bad, target)
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and BAD[kind][1] in done.stderr, done.stderr[-2000:]
    assert len(done.stderr.splitlines()) == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert target.read_text() == "previous scores\n"


AWKWARD_KINDS = ["bom", "semicolon_decimal_comma", "true_false_flags", "nans_dropped",
                 "semicolon_gzip", "thousands_set", "context_columns"]
# one kind goes through run_all --only load (its record, the parquet it hands on); the load
# step's function is the same for the others, called in this process (seconds each saved)
AWKWARD_END_TO_END = "thousands_set"


def awkward_file(kind: str, tmp_path: Path) -> tuple[pd.DataFrame, Path, int, dict]:
    """Write a valid but awkward extract of ``kind``; return the frame written, its path, the
    rows that must load and the load settings it needs."""
    frame = good_rows()
    expected_rows = len(frame)
    path = tmp_path / f"{kind}.csv"
    settings = {}
    if kind == "semicolon_gzip":
        path = tmp_path / "extract.csv.gz"
        frame.to_csv(path, index=False, sep=";", decimal=",")
    elif kind == "thousands_set":
        frame.loc[0, "distance_from_home"] = 1234.5
        lines = frame.to_csv(index=False, sep=";", decimal=",").splitlines()
        lines[1] = "1.234,5;" + lines[1].split(";", 1)[1]
        write(path, "\n".join(lines) + "\n")
        settings = {"thousands": "."}
    elif kind == "context_columns":
        with_context(frame).to_csv(path, index=False)
    elif kind == "bom":
        frame.to_csv(path, index=False, encoding="utf-8-sig")
    elif kind == "semicolon_decimal_comma":
        frame.to_csv(path, index=False, sep=";", decimal=",")
    elif kind == "true_false_flags":
        flags = ["repeat_retailer", "used_chip", "used_pin_number", "online_order", "fraud"]
        frame.assign(**{c: frame[c].map({1: "true", 0: "false"}) for c in flags}).to_csv(
            path, index=False)
    else:
        frame.loc[[3, 9], "distance_from_home"] = None
        frame.to_csv(path, index=False)
        expected_rows -= 2
    return frame, path, expected_rows, settings


def check_awkward_load(kind: str, frame: pd.DataFrame, clean: pd.DataFrame, expected_rows: int,
                       rows_dropped_missing: int) -> None:
    """What the load step must make of an awkward extract of ``kind``."""
    assert len(clean) == expected_rows
    kept = frame.dropna()
    assert clean["fraud"].sum() == kept["fraud"].sum()
    assert clean["distance_from_home"].sum() == pytest.approx(kept["distance_from_home"].sum())
    assert rows_dropped_missing == len(frame) - expected_rows
    if kind == "context_columns":
        assert str(clean["timestamp"].dtype).startswith("datetime64")
        assert clean["amount"].sum() == pytest.approx(with_context(frame)["amount"].sum())


@pytest.mark.parametrize("kind", [k for k in AWKWARD_KINDS if k != AWKWARD_END_TO_END])
def test_awkward_but_valid_files_load_correctly(kind, tmp_path):
    """The load notebook's three calls, in this process: load, profile, write the outputs."""
    from cardfraud.data.load_step import data_profile, load_transactions, write_load_outputs
    from cardfraud.runner.artifacts import load_step_results

    frame, path, expected_rows, settings = awkward_file(kind, tmp_path)
    loaded, cleaning, data = load_transactions(source="file", path=str(path), **settings)
    out = tmp_path / "out"
    write_load_outputs(loaded, data_profile(loaded, cleaning, data), out)
    clean = pd.read_parquet(out / "artifacts" / "transactions.parquet")
    check_awkward_load(kind, frame, clean, expected_rows,
                       load_step_results("load", out)["rows_dropped_missing"])


def test_an_awkward_file_loads_correctly_through_run_all(tmp_path):
    kind = AWKWARD_END_TO_END
    frame, path, expected_rows, settings = awkward_file(kind, tmp_path)
    extra = [item for key, value in settings.items() for item in ("--set", f"load.{key}={value}")]
    done = run_all("--output", str(tmp_path / "out"), "--only", "load", "--no-render",
                   "--set", f"load.path={path}", *extra)
    assert done.returncode == 0, done.stderr[-2000:]
    clean = pd.read_parquet(tmp_path / "out" / "artifacts" / "transactions.parquet")
    record = json.loads((tmp_path / "out" / "run.json").read_text())
    check_awkward_load(kind, frame, clean, expected_rows, record["load"]["rows_dropped_missing"])


# --override -> what run_all must say (after "error: params/smoke.yaml with --set: ")
BAD_PARAMETERS = {
    "registry.force_promotion=yes_please": "parameter registry.force_promotion is the text "
                                           "'yes_please'; allowed: true or false",
    'registry.force_promotion="false"': "parameter registry.force_promotion is the text 'false'; "
                                        "allowed: true or false",
    "common.model_name=it's": "parameter common.model_name is the text \"it's\"; allowed: letters, "
                              "digits, '-', '_' and '.', starting with a letter or digit",
    "modeling.cv_folds=1": "parameter modeling.cv_folds is 1; allowed: an integer >= 2",
    "modeling.split=random": "parameter modeling.split is the text 'random'; allowed: one of "
                             "auto, time, stratified",
    "modeling.test_share=0": "parameter modeling.test_share is 0; allowed: a number in (0, 1)",
    "load.on_missing=skip": "parameter load.on_missing is the text 'skip'; allowed: one of drop, fail",
}


@pytest.mark.parametrize("override", list(BAD_PARAMETERS))
def test_run_all_refuses_wrong_parameters_before_any_notebook(override, published):
    out, tracking_uri, before = published
    runs_before = sorted((out / "runs").iterdir()) if (out / "runs").exists() else []
    done = run_all("--output", str(out), "--set", f"common.tracking_uri={tracking_uri}",
                   "--set", override)
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.splitlines() == [
        f"error: {ROOT / 'params' / 'smoke.yaml'} with --set: {BAD_PARAMETERS[override]}"]
    assert done.stdout == ""  # no step started
    assert (sorted((out / "runs").iterdir()) if (out / "runs").exists() else []) == runs_before
    assert fingerprint_outputs(out, tracking_uri) == before
    assert registered_model_names(tracking_uri) == {champion_model_name()}


def champion_model_name() -> str:
    import yaml

    return yaml.safe_load((ROOT / "params" / "smoke.yaml").read_text())["common"]["model_name"]


def registered_model_names(tracking_uri: str) -> set[str]:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    return {model.name for model in client.search_registered_models()}


def test_score_refuses_an_unsafe_model_name(published, tmp_path):
    _, tracking_uri, _ = published
    source = tmp_path / "new.csv"
    good_rows().drop(columns="fraud").to_csv(source, index=False)
    target = tmp_path / "scored.csv"
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri, "MLFLOW_DISABLE_TELEMETRY": "true"}
    done = subprocess.run([sys.executable, "-m", "cardfraud", "score", "--input", str(source),
                           "--output", str(target), "--model", "models:/it's@champion"],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: --model \"models:/it's@champion\": model name \"it's\" is not allowed; use letters, "
        "digits, '-', '_' and '.', starting with a letter or digit (at most 128 characters)"]
    assert not target.exists()
