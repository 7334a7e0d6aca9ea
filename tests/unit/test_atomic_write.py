"""Every file the product writes goes through one atomic write: old file or new, never half."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import matplotlib.figure
import pandas as pd
import pytest

from cardfraud.data.cleaning import CleaningReport
from cardfraud.data.load_step import data_profile, write_load_outputs
from cardfraud.data.schema import compact_dtypes
from cardfraud.monitoring.log import append_monitoring_log
from cardfraud.runner import atomic_write
from cardfraud.runner.artifacts import save_figure, save_step_results, write_json_atomic
from cardfraud.serving.scoring import write_table_atomic

matplotlib.use("Agg")
OLD = "run_id,overall_status\nr1,ok\n"  # the file as it was (a valid log too)


class DiskFull(OSError):
    """What a writer raises half way through."""


def half_then_fail(self, path, *args, **kwargs):
    """Stand-in for to_csv / to_parquet / savefig: write half a file, then fail."""
    Path(path).write_text("half a fi", encoding="utf-8")
    raise DiskFull("No space left on device")


def temporary_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(".*") if p.suffix == ".tmp"]


@pytest.mark.parametrize("stop", [DiskFull("No space left on device"), KeyboardInterrupt()])
def test_a_write_that_fails_midway_keeps_the_old_file_and_no_temporary(tmp_path, stop):
    target = tmp_path / "results.json"
    target.write_text(OLD)
    with pytest.raises(type(stop)):
        with atomic_write.atomic_path(target) as tmp:
            tmp.write_text('{"half": ')
            raise stop
    assert target.read_text() == OLD
    assert temporary_files(tmp_path) == []


def test_the_temporary_file_is_beside_the_target_and_synced_before_the_rename(tmp_path,
                                                                              monkeypatch):
    synced = []
    real_fsync = atomic_write._fsync

    def recording_fsync(path):
        synced.append((Path(path), (tmp_path / "out" / "log.csv").exists()))
        real_fsync(path)

    monkeypatch.setattr(atomic_write, "_fsync", recording_fsync)
    target = atomic_write.write_text_atomic(tmp_path / "out" / "log.csv", "run_id\nr1\n")
    assert target.read_text() == "run_id\nr1\n"
    (first, existed), (folder, _) = synced
    assert first.parent == target.parent and atomic_write.TEMPORARY_FILE.fullmatch(first.name)
    assert not existed  # synced before it replaced the target
    assert folder == target.parent
    assert temporary_files(tmp_path) == []


def write_monitoring_log(output_dir: Path) -> Path:
    append_monitoring_log({"run_id": "r2", "overall_status": "ok"}, output_dir)
    return output_dir / "artifacts" / "monitoring_log.csv"


def write_scores(output_dir: Path) -> Path:
    return write_table_atomic(pd.DataFrame({"probability": [0.1]}),
                              output_dir / "artifacts" / "scored.parquet")


def write_transactions(output_dir: Path) -> Path:
    frame = compact_dtypes(pd.DataFrame({
        "distance_from_home": [1.0, 2.0], "distance_from_last_transaction": [1.0, 2.0],
        "ratio_to_median_purchase_price": [1.0, 2.0], "repeat_retailer": [1, 0],
        "used_chip": [1, 0], "used_pin_number": [0, 0], "online_order": [1, 0],
        "fraud": [0, 1]}))
    data = {"source": "file", "path": "x.csv", "fingerprint": "sha256:x", "rows": 2}
    report = CleaningReport(source="file", rows_read=2, rows_kept=2)
    write_load_outputs(frame, data_profile(frame, report, data), output_dir)
    return output_dir / "artifacts" / "transactions.parquet"


def write_figure(output_dir: Path) -> Path:
    import matplotlib.pyplot as plt

    fig, _ = plt.subplots()
    try:
        return save_figure(fig, "eda_rates", output_dir)
    finally:
        plt.close(fig)


@pytest.mark.parametrize("write, target, patched", [
    (write_monitoring_log, "monitoring_log.csv", (pd.DataFrame, "to_csv")),
    (write_scores, "scored.parquet", (pd.DataFrame, "to_parquet")),
    (write_transactions, "transactions.parquet", (pd.DataFrame, "to_parquet")),
    (write_figure, "figures/eda_rates.png", (matplotlib.figure.Figure, "savefig")),
])
def test_the_products_files_survive_a_writer_failing_midway(tmp_path, monkeypatch, write, target,
                                                            patched):
    path = tmp_path / "artifacts" / target
    path.parent.mkdir(parents=True)
    path.write_text(OLD)
    monkeypatch.setattr(*patched, half_then_fail)
    with pytest.raises(DiskFull):
        write(tmp_path)
    assert path.read_text() == OLD
    assert temporary_files(tmp_path) == []


def test_results_and_json_files_are_replaced_whole(tmp_path):
    path = save_step_results("eda", {"days": 30}, tmp_path)
    write_json_atomic(path, {"days": 31})
    assert json.loads(path.read_text()) == {"days": 31}
    assert temporary_files(tmp_path) == []
