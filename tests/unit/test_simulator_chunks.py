"""The chunked simulator: the same data whatever the chunk size, unique ids, one shared world, the
date-partitioned directory, never partial output, and ``simulate()`` unchanged."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cardfraud.simulator import chunked
from cardfraud.simulator.chunked import plan_blocks, shared_world, simulate_to_directory
from cardfraud.simulator.command import cli
from cardfraud.simulator.partitioned import CAPTURED_CARDS_FILE
from cardfraud.simulator.simulate import check_knobs, simulate_with_captures

ROWS, BLOCK = 4_500, 1_000  # 4 blocks: three of 1,000 and a last one of 1,500


def _read(path: Path) -> pd.DataFrame:
    """The purchases of a directory, in transaction_id order."""
    return pd.read_parquet(path).sort_values("transaction_id").reset_index(drop=True)


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict:
    """The same simulation written with three chunk sizes, and another seed."""
    root = tmp_path_factory.mktemp("chunks")
    out = {}
    for name, seed, chunk_rows in (("one_block", 7, 1_000), ("three_blocks", 7, 2_500),
                                   ("all", 7, 10**9), ("other_seed", 8, 10**9)):
        summary = simulate_to_directory(root / name, rows=ROWS, seed=seed, chunk_rows=chunk_rows,
                                        block_rows=BLOCK)
        out[name] = (root / name, summary)
    return out


def test_the_same_seed_gives_the_same_data_whatever_the_chunk_size(written):
    frames = {name: _read(path) for name, (path, _) in written.items()}
    pd.testing.assert_frame_equal(frames["one_block"], frames["three_blocks"])
    pd.testing.assert_frame_equal(frames["one_block"], frames["all"])
    captured = {name: pd.read_parquet(path / CAPTURED_CARDS_FILE) for name, (path, _) in written.items()}
    pd.testing.assert_frame_equal(captured["one_block"], captured["all"])
    # a chunk size only changes how many files there are: 1,000 rows -> 4 chunks, 2,500 -> 2, all -> 1
    assert [written[n][1].chunks for n in ("one_block", "three_blocks", "all")] == [4, 2, 1]


def test_another_seed_gives_other_data(written):
    first, other = _read(written["all"][0]), _read(written["other_seed"][0])
    assert len(first) == len(other) == ROWS
    assert not np.array_equal(first["amount"].to_numpy(), other["amount"].to_numpy())
    assert not np.allclose(first["latitude"], other["latitude"])


def test_row_count_is_exact_and_ids_are_unique_over_blocks(written):
    path, summary = written["three_blocks"]
    frame = _read(path)
    assert len(frame) == summary.rows == ROWS and summary.blocks == 4
    assert frame["transaction_id"].tolist() == list(range(1, ROWS + 1))
    assert summary.frauds == int(frame["fraud"].sum()) > 0
    block = (frame["transaction_id"] - 1).clip(upper=3 * BLOCK) // BLOCK  # the last block takes 1,500
    assert block.value_counts().sort_index().tolist() == [1_000, 1_000, 1_000, 1_500]
    # every card belongs to one block; block b's cards come after block b-1's
    frame["block"] = block
    assert frame.groupby("card_id")["block"].nunique().max() == 1
    span = frame.groupby("block")["card_id"].agg(["min", "max"])
    assert (span["min"].to_numpy()[1:] > span["max"].to_numpy()[:-1]).all() and span["min"].iloc[0] >= 1
    planned = plan_blocks(check_knobs({"rows": ROWS, "seed": 7}), BLOCK)
    firsts = [b.first_card for b in planned]
    for index, (low, high) in enumerate(span.itertuples(index=False)):
        assert firsts[index] < low and (index == len(firsts) - 1 or high <= firsts[index + 1])
    # within a block, transaction ids are in time order
    for _, part in frame.groupby(block):
        assert part["timestamp"].is_monotonic_increasing


def test_shops_and_planted_points_are_the_same_in_every_block(written):
    frame = _read(written["all"][0])
    frame["block"] = (frame["transaction_id"] - 1).clip(upper=3 * BLOCK) // BLOCK
    onsite = frame[frame["online_order"] == 0]
    assert onsite.groupby("merchant_id")[["latitude", "longitude"]].nunique().max().max() == 1
    assert (onsite.groupby("merchant_id")["block"].nunique() > 1).sum() >= 5  # shops serve several blocks
    cfg = check_knobs({"rows": ROWS, "seed": 7})
    shared = shared_world(cfg, BLOCK)
    shop = onsite["merchant_id"].to_numpy() - 1
    assert np.array_equal(onsite["latitude"].to_numpy(), shared.places.shop_lat[shop])
    assert np.array_equal(onsite["longitude"].to_numpy(), shared.places.shop_lon[shop])
    points = set((shared.points + 1).tolist())
    captured_at = set(frame.loc[frame["compromise_point_id"] > 0, "compromise_point_id"].tolist())
    assert captured_at and captured_at <= points


def test_partitions_are_purchase_dates_with_one_file_per_chunk(written):
    path, summary = written["three_blocks"]
    folders = sorted(p.name for p in path.iterdir() if p.is_dir())
    frame = _read(path)
    dates = sorted(frame["timestamp"].dt.strftime("%Y-%m-%d").unique())
    assert folders == [f"purchase_date={d}" for d in dates] and len(folders) == 90
    first = pd.read_parquet(path / folders[0] / "part-00000.parquet")
    assert "purchase_date" not in first.columns
    assert (first["timestamp"].dt.strftime("%Y-%m-%d") == dates[0]).all()
    files = sorted(p.name for p in (path / folders[0]).iterdir())
    assert files == ["part-00000.parquet", "part-00001.parquet"]
    assert (frame["purchase_date"].astype(str) == frame["timestamp"].dt.strftime("%Y-%m-%d")).all()
    parquet_files = list(path.rglob("*.parquet"))
    assert summary.files == len(parquet_files) and (path / CAPTURED_CARDS_FILE).is_file()


def test_plan_blocks_puts_the_remainder_in_the_last_block():
    cfg = check_knobs({"rows": 2_999, "seed": 1})
    blocks = plan_blocks(cfg, 1_000)
    assert [b.rows for b in blocks] == [1_000, 1_999]
    assert [b.first_transaction for b in blocks] == [0, 1_000]
    assert [b.rows for b in plan_blocks(check_knobs({"rows": 600, "seed": 1}), 1_000)] == [600]


def test_cli_writes_a_directory_and_refuses_an_existing_one(tmp_path, capsys):
    target = tmp_path / "purchases"
    assert cli(["--rows", "2000", "--seed", "2", "--out", f"{target}/"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("wrote 2,000 purchases (") and "fraudulent) in 91 files to" in line
    assert len(pd.read_parquet(target)) == 2_000
    before = sorted(p.name for p in target.rglob("*"))
    assert cli(["--rows", "3000", "--out", str(target)]) == 2
    assert f"{target} exists and is not empty; give --overwrite to replace it" in capsys.readouterr().err
    assert sorted(p.name for p in target.rglob("*")) == before
    assert cli(["--rows", "3000", "--out", str(target), "--overwrite"]) == 0
    assert len(pd.read_parquet(target)) == 3_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["purchases"]  # no temporary dir left


def test_cli_keeps_refusing_an_unknown_file_suffix(tmp_path, capsys):
    assert cli(["--rows", "2000", "--out", str(tmp_path / "purchases.txt")]) == 2
    assert "--out must end in .parquet or .csv (a file) or name a directory (DIR/)" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("options", "message"), [
    (["--out", "{tmp}/out/", "--chunk-rows", "0"], "chunk_rows must be an integer >= 1, not 0"),
    (["--out", "{tmp}/one.parquet", "--chunk-rows", "1000"], "--chunk-rows and --overwrite apply to --out DIR/"),
    (["--out", "{tmp}/one.parquet", "--overwrite"], "--chunk-rows and --overwrite apply to --out DIR/"),
    (["--out", "{tmp}/out/", "--report", "--rows", "6000000"], "--report with --out DIR/ reads the purchases back"),
])
def test_cli_refuses_bad_directory_options(tmp_path, capsys, options, message):
    argv = ["--rows", "2000", *[o.format(tmp=tmp_path) for o in options]]
    assert cli(argv) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_bad_knob_leaves_nothing(tmp_path, capsys):
    assert cli(["--rows", "2000", "--out", f"{tmp_path}/out/", "--typical-amount", "0"]) == 2
    assert "typical_amount must be a number >= 1, not 0.0" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_failure_while_writing_leaves_no_partial_output(tmp_path, monkeypatch):
    real = chunked.simulate_block

    def fail_on_third_block(shared, cfg, block):
        if block.index == 2:
            raise RuntimeError("disk full")
        return real(shared, cfg, block)

    monkeypatch.setattr(chunked, "simulate_block", fail_on_third_block)
    with pytest.raises(RuntimeError, match="disk full"):
        simulate_to_directory(tmp_path / "out", rows=ROWS, seed=7, chunk_rows=1_000, block_rows=BLOCK)
    assert list(tmp_path.iterdir()) == []


def test_simulate_gives_the_same_frame_as_before_the_chunked_simulator():
    frame, captured = simulate_with_captures(rows=30_000, seed=5, drift_day=60)
    digest = [hashlib.sha256(pd.util.hash_pandas_object(f, index=False).to_numpy().tobytes()).hexdigest()
              for f in (frame, captured)]
    assert digest == ["75db54b9643bd69a55604c14b30dce0374610155fd8abc54472670c1b435100f",
                      "0a47a5b4982a7b45efe8ba008a85878cb59336a9d229f505880f8a4177010be5"]


@pytest.mark.spark
def test_spark_reads_the_directory_as_one_dataset(written):
    pytest.importorskip("pyspark", reason="pyspark is not installed (the Spark engine's optional dependency)")
    if shutil.which("java") is None:
        pytest.skip("no Java runtime for Spark")
    from pyspark.sql import SparkSession

    path, summary = written["three_blocks"]
    spark = (SparkSession.builder.master("local[2]").config("spark.sql.shuffle.partitions", 4)
             .config("spark.ui.enabled", "false").getOrCreate())
    try:
        purchases = spark.read.parquet(str(path))
        assert purchases.count() == ROWS  # the captured cards file is not read as purchases
        assert dict(purchases.dtypes)["purchase_date"] == "date"
        assert dict(purchases.dtypes)["timestamp"] == "timestamp_ntz"
        assert purchases.agg({"fraud": "sum"}).collect()[0][0] == summary.frauds
    finally:
        spark.stop()
