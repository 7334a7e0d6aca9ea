"""The Spark engine reads, validates and scores extracts as the pandas engine does.

Every bad input gets the pandas engine's message, word for word; clean counts and scores equal
the pandas engine's; the scores land as a folder of Parquet, never half written. One local[2]
session for the whole file; the tests skip, saying why, without PySpark or Java.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_timed_transactions, make_transactions
from helpers import fake_modeling_step, fresh_tracking_store, registry_step

from cardfraud.data.checks import DataValidationError
from cardfraud.data.schema import FEATURES
from cardfraud.engines import EngineSettings, pandas_engine
from cardfraud.engines.spark_session import SparkUnavailable, check_spark_installed
from cardfraud.serving.registration import held_out_test_rows
from cardfraud.serving.score_command import cli
from cardfraud.serving.scoring import score_file

pytestmark = pytest.mark.spark  # starts a Spark session: make test, not test-fast

SETTINGS = EngineSettings("spark", "local[2]", {"spark.sql.shuffle.partitions": 4,
                                                "spark.ui.enabled": False,
                                                "spark.ui.showConsoleProgress": False})
MODEL = "models:/card-fraud-detector@champion"


def _spark_missing() -> str | None:
    """Why Spark cannot run here (None when it can)."""
    try:
        check_spark_installed()
    except SparkUnavailable as exc:
        return str(exc)
    return None


@pytest.fixture(scope="module")
def spark():
    """One local[2] session for the file (4 shuffle partitions, no UI)."""
    reason = _spark_missing()
    if reason:
        pytest.skip(reason)
    from cardfraud.engines.spark_session import spark_session

    session = spark_session(SETTINGS)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def engine(spark):
    """The Spark engine module, once its session runs."""
    from cardfraud.engines import spark_engine

    return spark_engine


@pytest.fixture(scope="module")
def champion(tmp_path_factory, spark) -> tuple[Path, str]:
    """An output dir whose logistic regression is the registered champion, and its store."""
    root = tmp_path_factory.mktemp("spark-champion")
    with pytest.MonkeyPatch.context() as patch:
        uri = fresh_tracking_store(root / "mlflow", patch)
        output_dir = root / "out"
        output_dir.mkdir()
        fake_modeling_step(output_dir, uri, threshold=0.3)
        registry_step(output_dir)
    return output_dir, uri


@pytest.fixture(scope="module")
def purchases(champion, tmp_path_factory) -> Path:
    """The champion's held-out purchases as a CSV with an id column and no label."""
    test = held_out_test_rows(champion[0])
    frame = test[FEATURES].copy()
    frame.insert(0, "transaction_id", [f"T{r:05d}" for r in test["row"]])
    path = tmp_path_factory.mktemp("purchases") / "new.csv"
    frame.to_csv(path, index=False)
    return path


def _good() -> pd.DataFrame:
    """Twelve valid purchases with times and amounts, both classes."""
    frame = make_timed_transactions(12, seed=3).reset_index(drop=True)
    frame.loc[[2, 5], "fraud"] = [1, 0]
    return frame


def _with(column: str, rows: list[int], value, frame: pd.DataFrame | None = None):
    """The good purchases with ``value`` written into ``column`` at ``rows`` (0-based)."""
    frame = (_good() if frame is None else frame).astype({column: object})
    frame.loc[rows, column] = value
    return frame


BAD_INPUTS = {  # name: (frame, file suffix, load options, expected message part)
    "lacks a column": (lambda: _good().drop(columns="used_chip"), ".csv", {},
                       "missing required column used_chip (found: "),
    "text in a distance": (lambda: _with("distance_from_home", [3, 7], "abc"), ".csv", {},
                           "column 'distance_from_home' has non-numeric values at rows 4, 8"),
    "thousands marks": (lambda: _with("ratio_to_median_purchase_price", [1], "12,345.6"), ".csv",
                        {}, "set load.thousands=','"),
    "negative distance": (lambda: _with("distance_from_last_transaction", [0, 2, 4], -1.5),
                          ".csv", {}, "has negative values at rows 1, 3, 5 (e.g. -1.5)"),
    "distance too far": (lambda: _with("distance_from_home", [9], 30000.0), ".parquet", {},
                         "values above 20,040 km"),
    "infinite ratio": (lambda: _with("ratio_to_median_purchase_price", [6], "inf"), ".csv", {},
                       "has infinite values at row 7 (e.g. inf)"),
    "flag 2": (lambda: _with("online_order", [1, 10], 2), ".csv", {},
               "column 'online_order' must be 0 or 1 but has 2 at rows 2, 11"),
    "flag word": (lambda: _with("used_chip", [4], "maybe",
                                _with("used_chip", list(range(12)), "yes")), ".csv", {},
                  "column 'used_chip' has values that are not 0/1 or true/false at row 5"),
    "flag in parquet": (lambda: _with("used_pin_number", [3], 5.0), ".parquet", {},
                        "must be 0 or 1 but has 5 at row 4"),
    "missing, fail": (lambda: _with("used_chip", [2, 3], None), ".csv", {"on_missing": "fail"},
                      "missing values in column(s) used_chip at rows 3, 4 (load.on_missing"),
    "all rows missing": (lambda: _with("repeat_retailer", list(range(12)), None), ".csv", {},
                         "no rows left after dropping rows with missing values"),
    "one class": (lambda: _good().assign(fraud=0), ".csv", {},
                  "column 'fraud' has one class only: all 12 rows are legitimate (0)"),
    "negative amount": (lambda: _with("amount", [8], -100.0), ".csv", {},
                        "column 'amount' has negative values at row 9"),
    "bad time": (lambda: _with("timestamp", [5], "yesterday"), ".csv", {},
                 "column 'timestamp' has values that are not dates and times at row 6"),
    "decimal comma": (lambda: _with("distance_from_home", [2], "x,5"), ";", {},
                      "has non-numeric values at row 3 (e.g. 'x,5')"),
}


def _write(frame: pd.DataFrame, folder: Path, suffix: str) -> Path:
    """Write the frame as CSV (``;``: Spanish CSV with decimal commas) or Parquet."""
    if suffix == ".parquet":
        path = folder / "extract.parquet"
        frame.to_parquet(path, index=False)
    else:
        path = folder / "extract.csv"
        frame.to_csv(path, index=False, sep=";" if suffix == ";" else ",",
                     decimal="," if suffix == ";" else ".")
    return path


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_every_rule_gives_the_pandas_message(engine, tmp_path, name):
    make, suffix, options, expected = BAD_INPUTS[name]
    path = _write(make(), tmp_path, suffix)
    with pytest.raises(DataValidationError) as by_pandas:
        pandas_engine.load_extract(path, **options)
    with pytest.raises(DataValidationError) as by_spark:
        engine.load_extract(path, SETTINGS, **options)
    assert expected in str(by_pandas.value)
    assert str(by_spark.value) == str(by_pandas.value)


def test_row_numbers_are_places_in_the_file_across_partitions(engine, spark, tmp_path):
    frame = make_transactions(3000, seed=4).astype({"distance_from_home": object})
    frame.loc[[1499, 2998], "distance_from_home"] = "n/d"
    frame.loc[[2000], "used_chip"] = 3
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    spark.conf.set("spark.sql.files.maxPartitionBytes", "16k")  # about ten partitions
    try:
        assert engine.read_extract(path, SETTINGS).rdd.getNumPartitions() >= 8
        with pytest.raises(DataValidationError) as by_spark:
            engine.load_extract(path, SETTINGS)
        frame.loc[[1499, 2998], "distance_from_home"] = 1.0
        frame.to_csv(path, index=False)
        with pytest.raises(DataValidationError) as flag_by_spark:
            engine.load_extract(path, SETTINGS)
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    assert str(by_spark.value).endswith("has non-numeric values at rows 1500, 2999 (e.g. 'n/d')")
    assert str(flag_by_spark.value).endswith("'used_chip' must be 0 or 1 but has 3 at row 2001")


@pytest.mark.parametrize("name, write, expected", [
    ("absent.csv", None, "absent.csv: file not found"),
    ("empty.csv", lambda p: p.write_bytes(b""), "empty.csv: file is empty (0 bytes)"),
    ("header.csv", lambda p: p.write_text(",".join(FEATURES) + ",fraud\n"),
     "header.csv: has a header but no data rows"),
    ("twice.csv", lambda p: p.write_text("fraud,used_chip,fraud\n1,0,1\n"),
     "column name 'fraud' appears 2 times (columns 1, 3"),
    ("broken.parquet", lambda p: p.write_bytes(b"PAR1 not really"),
     "broken.parquet: not a readable Parquet file ("),
])
def test_unreadable_files_are_refused_like_pandas(engine, tmp_path, name, write, expected):
    path = tmp_path / name
    if write:
        write(path)
    with pytest.raises(DataValidationError) as by_spark:
        engine.read_extract(path, SETTINGS)
    assert expected in str(by_spark.value) and "\n" not in str(by_spark.value)
    if name != "broken.parquet":  # the readers' own words differ after the colon
        with pytest.raises(DataValidationError) as by_pandas:
            pandas_engine.read_extract(path)
        assert str(by_spark.value) == str(by_pandas.value)


def test_a_line_with_too_many_fields_is_refused_like_pandas(engine, tmp_path):
    path = tmp_path / "ragged.csv"
    _good().drop(columns=["timestamp", "amount"]).to_csv(path, index=False)
    lines = path.read_text().splitlines()
    lines[4] += ",7"
    lines[6] = lines[6].rsplit(",", 1)[0]  # one field short: empty, as in pandas
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataValidationError) as by_pandas:
        pandas_engine.load_extract(path)
    with pytest.raises(DataValidationError) as by_spark:
        engine.load_extract(path, SETTINGS)
    assert "Expected 8 fields in line 5, saw 9" in str(by_pandas.value)
    assert str(by_spark.value) == str(by_pandas.value)


def test_folders_without_extracts_are_refused(engine, tmp_path):
    (tmp_path / "daily").mkdir()
    (tmp_path / "daily" / "notes.txt").write_text("no data here")
    with pytest.raises(DataValidationError, match="daily: is a folder without Parquet files"):
        engine.read_extract(tmp_path / "daily", SETTINGS)
    with pytest.raises(DataValidationError, match="gone: file not found"):
        engine.read_extract(tmp_path / "gone", SETTINGS)


def _daily_extracts(folder: Path, rows: int = 300) -> pd.DataFrame:
    """Write purchases over ten days as Parquet partitioned by day; return them."""
    frame = make_timed_transactions(rows, seed=5)
    frame["day"] = frame["timestamp"].dt.strftime("%Y-%m-%d")
    frame.to_parquet(folder, partition_cols=["day"], index=False)
    return frame


def test_a_folder_of_daily_extracts_gives_every_row(engine, tmp_path):
    written = _daily_extracts(tmp_path / "daily")
    frame = engine.read_extract(tmp_path / "daily", SETTINGS)
    assert frame.count() == len(written) == 300
    assert frame.select("day").distinct().count() == written["day"].nunique() == 10
    clean, report = engine.load_extract(tmp_path / "daily", SETTINGS)
    assert report.rows_read == report.rows_kept == 300
    assert clean.agg({"fraud": "sum"}).first()[0] == written["fraud"].sum()


def test_clean_counts_equal_pandas(engine, tmp_path):
    frame = make_timed_transactions(200, seed=8)
    frame.loc[[3, 50, 51], "used_chip"] = None
    frame.loc[[7], "amount"] = None
    frame = pd.concat([frame, frame.iloc[[10, 11]]], ignore_index=True)  # two duplicates
    frame["online_order"] = frame["online_order"].map({1: "yes", 0: "no"})
    frame["city"] = 7
    path = tmp_path / "extract.csv"
    frame.to_csv(path, index=False)
    clean, by_spark = engine.load_extract(path, SETTINGS)
    expected, by_pandas = pandas_engine.load_extract(path)
    assert by_spark == by_pandas
    assert (by_spark.rows_kept, by_spark.rows_with_missing, by_spark.duplicate_rows) == (198, 4, 2)
    assert clean.count() == len(expected)
    sums = clean.agg({"distance_from_home": "sum", "online_order": "sum"}).first()
    assert sums["sum(distance_from_home)"] == pytest.approx(expected["distance_from_home"].sum(),
                                                             rel=1e-12)
    assert sums["sum(online_order)"] == expected["online_order"].astype(int).sum()


def test_scores_equal_the_pandas_scores(engine, champion, purchases, tmp_path):
    _, uri = champion
    by_pandas = score_file(purchases, tmp_path / "pandas.parquet", MODEL, uri, reasons="none")
    summary = engine.score_extract(purchases, tmp_path / "scored", MODEL, uri, SETTINGS)
    output = tmp_path / "scored"
    assert output.is_dir() and list(output.glob("part-*.parquet"))
    scored = pd.read_parquet(output).sort_values("transaction_id").reset_index(drop=True)
    expected = pd.read_parquet(tmp_path / "pandas.parquet")
    assert scored["transaction_id"].tolist() == expected["transaction_id"].tolist()
    np.testing.assert_allclose(scored["probability"], expected["probability"], rtol=0,
                               atol=1e-9)
    assert scored["decision"].tolist() == expected["decision"].tolist()
    assert (summary["rows"], summary["flagged"], summary["version"]) == (
        by_pandas["rows"], by_pandas["flagged"], by_pandas["version"])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_labels_in_purchases_to_score_are_kept(engine, champion, purchases, tmp_path):
    labelled = pd.read_csv(purchases).assign(fraud=[i % 2 for i in range(200)])
    labelled.to_csv(tmp_path / "labelled.csv", index=False)
    engine.score_extract(tmp_path / "labelled.csv", tmp_path / "scored", MODEL, champion[1],
                         SETTINGS)
    scored = pd.read_parquet(tmp_path / "scored").sort_values("transaction_id")
    assert list(scored.columns) == [*labelled.columns, "probability", "decision"]
    assert scored["fraud"].tolist() == labelled.sort_values("transaction_id")["fraud"].tolist()


def test_scores_of_daily_extracts_keep_the_days(engine, champion, tmp_path):
    written = _daily_extracts(tmp_path / "daily", rows=200)
    summary = engine.score_extract(tmp_path / "daily", tmp_path / "scored", MODEL, champion[1],
                                   SETTINGS)
    assert summary["rows"] == 200 and summary["partitions"] == ["day"]
    assert sorted(p.name for p in (tmp_path / "scored").glob("day=*")) == sorted(
        f"day={d}" for d in written["day"].unique())


def test_existing_scores_are_kept_unless_overwrite(engine, champion, purchases, tmp_path):
    output = tmp_path / "scored"
    output.mkdir()
    (output / "old.txt").write_text("yesterday's scores")
    with pytest.raises(ValueError, match="scored: already exists; pass --overwrite"):
        engine.score_extract(purchases, output, MODEL, champion[1], SETTINGS)
    assert (output / "old.txt").read_text() == "yesterday's scores"
    engine.score_extract(purchases, output, MODEL, champion[1], SETTINGS, overwrite=True)
    assert not (output / "old.txt").exists() and list(output.glob("part-*.parquet"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scored"]


def test_a_failed_score_leaves_no_folder(engine, champion, purchases, tmp_path, monkeypatch):
    from cardfraud.engines import spark_scoring

    def fail(folder, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(spark_scoring, "replace_with", fail)
    with pytest.raises(OSError):
        engine.score_extract(purchases, tmp_path / "scored", MODEL, champion[1], SETTINGS)
    assert list(tmp_path.iterdir()) == []


def test_score_command_on_spark(spark, champion, purchases, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    _with("used_chip", [1], None, pd.read_csv(purchases)).to_csv(bad, index=False)
    common = ["--engine", "spark", "--model", MODEL, "--tracking-uri", champion[1]]
    assert cli(["--input", str(bad), "--output", str(tmp_path / "x"), *common]) == 2
    assert ("bad.csv: missing values in column(s) used_chip at row 2; every purchase needs all "
            "7 model inputs to be scored") in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    assert cli(["--input", str(purchases), "--output", str(tmp_path / "y"), *common,
                "--reasons", "alerts"]) == 2
    assert "reasons are not computed on Spark" in capsys.readouterr().err
    assert cli(["--input", str(purchases), "--output", str(tmp_path / "z"), *common]) == 0
    out = capsys.readouterr().out
    rows = len(pd.read_csv(purchases))
    assert f"scored {rows:,} transactions from {purchases}" in out
    assert "reasons not computed on Spark" in out
    assert len(pd.read_parquet(tmp_path / "z")) == rows
    assert cli(["--input", str(purchases), "--output", str(tmp_path / "w"), "--engine", "spark",
                "--model", "models:/absent@champion", "--tracking-uri", champion[1]]) == 1


def test_without_spark_the_command_says_what_to_install(tmp_path, capsys, monkeypatch):
    import cardfraud.engines.spark_session as session

    def missing():
        raise SparkUnavailable("--engine spark needs Java 17: apt-get install "
                               "openjdk-17-jre-headless (or set JAVA_HOME)")

    monkeypatch.setattr(session, "check_spark_installed", missing)
    path = tmp_path / "new.csv"
    make_transactions(5).to_csv(path, index=False)
    code = cli(["--input", str(path), "--output", str(tmp_path / "scored"), "--engine", "spark"])
    err = capsys.readouterr().err
    assert code == 2 and err.strip().splitlines() == [
        "error: --engine spark needs Java 17: apt-get install openjdk-17-jre-headless (or set "
        "JAVA_HOME)"]
    assert not (tmp_path / "scored").exists()
    assert os.listdir(tmp_path) == ["new.csv"]


@pytest.mark.parametrize("options, message", [
    (["--engine", "spark", "--spark-master", "mars://x"],
     "error: --spark-master: master is the text 'mars://x'; allowed: local[*], local[N], "
     "spark://host:port"),
    (["--spark-master", "local[2]"], "error: --spark-master is for --engine spark"),
])
def test_the_master_is_checked_before_anything_runs(tmp_path, capsys, options, message):
    path = tmp_path / "new.csv"
    make_transactions(5).to_csv(path, index=False)
    assert cli(["--input", str(path), "--output", str(tmp_path / "scored"), *options]) == 2
    assert capsys.readouterr().err.startswith(message)
    assert os.listdir(tmp_path) == ["new.csv"]


@pytest.mark.parametrize("master, partitions", [("local[2]", "8"), ("local[4]", "16"),
                                                ("local", "8")])
def test_a_local_session_caps_the_jvm_memory_outside_its_heap(master, partitions):
    from cardfraud.engines.spark_session import LOCAL_DIRECT_MEMORY, local_defaults

    conf = local_defaults(master)
    assert conf["spark.driver.extraJavaOptions"] == f"-XX:MaxDirectMemorySize={LOCAL_DIRECT_MEMORY}"
    assert conf["spark.sql.shuffle.partitions"] == partitions
    assert conf["spark.ui.enabled"] == "false"


def test_a_cluster_session_keeps_the_cluster_settings():
    from cardfraud.engines.spark_session import local_defaults

    assert local_defaults("spark://host:7077") == local_defaults("yarn") == {}
