"""The run's MLflow store is made ready beside the kernel once the first step has succeeded."""

from __future__ import annotations

import sqlite3

from cardfraud.modeling.tracking import SQLITE_PREFIX
from cardfraud.runner.store_warmup import StoreWarmup, needs_store


def test_only_runs_going_on_to_modeling_or_registry_prepare_the_store():
    assert needs_store(["eda", "modeling", "summary"])
    assert needs_store(["registry"])
    assert not needs_store(["eda", "georeferencing", "summary"])


def test_warmup_creates_the_sqlite_store_tables(tmp_path):
    database = tmp_path / "store" / "mlflow.db"
    warmup = StoreWarmup()
    warmup.start(SQLITE_PREFIX + str(database), ["modeling", "registry"])
    warmup.start(SQLITE_PREFIX + str(tmp_path / "other.db"), ["modeling"])  # once per run
    warmup.wait()
    tables = {name for (name,) in sqlite3.connect(database).execute(
        "select name from sqlite_master where type = 'table'")}
    assert {"experiments", "runs", "registered_models", "model_versions"} <= tables
    assert not (tmp_path / "other.db").exists()


def test_no_store_is_touched_when_no_step_to_come_needs_it(tmp_path):
    database = tmp_path / "mlflow.db"
    warmup = StoreWarmup()
    warmup.start(SQLITE_PREFIX + str(database), ["eda", "summary"])
    warmup.wait()
    assert warmup.thread is None and not database.exists()


def test_a_store_that_cannot_be_made_is_left_for_the_step_to_report(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    warmup = StoreWarmup()
    warmup.start(SQLITE_PREFIX + str(blocker / "mlflow.db"), ["modeling"])
    warmup.wait()  # no exception escapes the thread
    assert not warmup.thread.is_alive()
