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
from conftest import ROOT, make_transactions, run_all

pytestmark = pytest.mark.slow
HEADER = ("distance_from_home,distance_from_last_transaction,ratio_to_median_purchase_price,"
          "repeat_retailer,used_chip,used_pin_number,online_order,fraud")


def good_rows(rows: int = 300) -> pd.DataFrame:
    return make_transactions(rows=rows, seed=3)


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
    "missing_column": ("no_chip.csv: missing required column used_chip",) * 2,
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
def published(smoke_run):
    out, _, tracking_uri = smoke_run
    state = fingerprint_outputs(out, tracking_uri)
    assert state["champion"] is not None, "the smoke run registered no champion"
    assert "artifacts/monitoring_log.csv" in state
    return out, tracking_uri, state


@pytest.mark.parametrize("kind", list(BAD))
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


def score(tracking_uri: str, source: Path, target: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri, "MLFLOW_DISABLE_TELEMETRY": "true"}
    import yaml

    model_name = yaml.safe_load((ROOT / "params" / "smoke.yaml").read_text())["common"]["model_name"]
    return subprocess.run([sys.executable, "-m", "cardfraud", "score", "--input", str(source),
                           "--output", str(target), "--overwrite", "--model", f"models:/{model_name}@champion"], capture_output=True, text=True,
                          timeout=300, env=env)


@pytest.mark.parametrize("kind", list(BAD))
def test_score_refuses_bad_input_without_touching_the_output(kind, published, tmp_path):
    _, tracking_uri, _ = published
    bad = make_bad_file(kind, tmp_path)
    target = tmp_path / "scored.csv"
    target.write_text("previous scores\n")
    done = score(tracking_uri, bad, target)
    expected = BAD[kind][1]
    if expected is None:
        assert done.returncode == 0, done.stderr[-2000:]
        scored = pd.read_csv(target)
        assert {"probability", "decision"} <= set(scored.columns)
        assert scored["probability"].between(0, 1).all()
        return
    assert done.returncode != 0
    assert expected in done.stderr, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert target.read_text() == "previous scores\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("scored")) == ["scored.csv"]


@pytest.mark.parametrize("kind", ["bom", "semicolon_decimal_comma", "true_false_flags", "nans_dropped"])
def test_awkward_but_valid_files_load_correctly(kind, tmp_path):
    frame = good_rows()
    expected_rows = len(frame)
    path = tmp_path / f"{kind}.csv"
    if kind == "bom":
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
    done = run_all("--output", str(tmp_path / "out"), "--only", "load", "--no-render",
                   "--set", f"load.path={path}")
    assert done.returncode == 0, done.stderr[-2000:]
    clean = pd.read_parquet(tmp_path / "out" / "artifacts" / "transactions.parquet")
    assert len(clean) == expected_rows
    kept = frame.dropna()
    assert clean["fraud"].sum() == kept["fraud"].sum()
    assert clean["distance_from_home"].sum() == pytest.approx(kept["distance_from_home"].sum())
    record = json.loads((tmp_path / "out" / "run.json").read_text())
    assert record["load"]["rows_dropped_missing"] == len(frame) - expected_rows
