"""A step runs only on the files it needs, made from the transactions in the output dir."""

from __future__ import annotations

import pytest

from cardfraud.runner.artifacts import artifacts_dir, save_step_results
from cardfraud.runner.step_inputs import (
    StepInputsMissing,
    check_chosen_steps,
    check_step,
    require_step_inputs,
)

ORDER = ["load", "eda", "channel_simulation", "modeling", "registry", "monitoring", "summary"]


def published(output, data="sha256:aaaaaaaaaaaa1111", modeling_data=None) -> None:
    """An output dir as a published run leaves it: load and modeling files and results."""
    folder = artifacts_dir(output)
    for name in ("transactions.parquet", "split.parquet", "test_predictions.parquet"):
        (folder / name).write_bytes(b"PAR1")
    save_step_results("load", {"data": {"source": "simulated", "fingerprint": data}}, output)
    save_step_results("modeling", {"best_model": "logistic_regression",
                                   "data_fingerprint": modeling_data or data}, output)


def test_only_modeling_on_an_empty_output_dir_says_to_load_first(tmp_path):
    with pytest.raises(StepInputsMissing) as refused:
        check_chosen_steps(tmp_path, ORDER, ["modeling", "summary"], ["modeling"])
    assert str(refused.value) == (
        f"step 'modeling' needs artifacts/transactions.parquet (written by the 'load' step), "
        f"which is missing in {tmp_path}: run 'load' first, e.g. python run_all.py --only load "
        f"modeling")


def test_only_registry_on_files_made_from_other_data_says_to_rerun_modeling(tmp_path):
    published(tmp_path, data="sha256:bbbbbbbbbbbb2222", modeling_data="sha256:aaaaaaaaaaaa1111")
    with pytest.raises(StepInputsMissing) as refused:
        check_chosen_steps(tmp_path, ORDER, ["registry", "summary"], ["registry"])
    message = str(refused.value)
    assert message.startswith("step 'registry' needs artifacts/test_predictions.parquet "
                              "(written by the 'modeling' step), which was made from other data")
    assert "sha256:aaaaaaaaaaaa against sha256:bbbbbbbbbbbb" in message
    assert message.endswith("run 'modeling' first, e.g. python run_all.py --only modeling registry")
    assert "\n" not in message


def test_a_missing_split_stops_monitoring(tmp_path):
    published(tmp_path)
    (tmp_path / "artifacts" / "split.parquet").unlink()
    with pytest.raises(StepInputsMissing, match="step 'monitoring' needs artifacts/split.parquet "
                                                r"\(written by the 'modeling' step\), which is "
                                                "missing.*--only modeling monitoring$"):
        check_chosen_steps(tmp_path, ORDER, ["monitoring", "summary"], ["monitoring"])


def test_results_from_before_fingerprints_were_recorded_count_as_other_data(tmp_path):
    published(tmp_path)
    (tmp_path / "artifacts" / "results" / "modeling.json").write_text('{"best_model": "x"}')
    with pytest.raises(StepInputsMissing, match="fingerprint not recorded against"):
        check_chosen_steps(tmp_path, ORDER, ["registry"], ["registry"])


@pytest.mark.parametrize("chosen", [
    ["registry", "summary"],                       # same data: reuses the published files
    ["modeling", "registry", "summary"],           # modeling runs first and rewrites them
    ["load", "registry", "summary"],               # load runs first: checked once it has
    ["summary"],                                   # the summary reports on whatever is there
])
def test_steps_whose_inputs_are_there_and_current_run(tmp_path, chosen):
    published(tmp_path)
    check_chosen_steps(tmp_path, ORDER, chosen, [s for s in chosen if s != "summary"])


def test_a_full_run_on_an_empty_dir_runs(tmp_path):
    check_chosen_steps(tmp_path, ORDER, ORDER, ORDER)


def test_a_load_that_changed_the_data_stops_the_next_step_that_reuses_old_files(tmp_path):
    run_dir = tmp_path / "runs" / "r1"
    published(run_dir)  # carried over from the published run
    save_step_results("load", {"data": {"fingerprint": "sha256:cccccccccccc3333"}}, run_dir)
    with pytest.raises(StepInputsMissing, match="step 'registry' needs artifacts/"
                                                "test_predictions.parquet.*other data.*"
                                                "--only load modeling registry$"):
        check_step("registry", run_dir, ["load"], tmp_path, ORDER, ["load", "registry"])
    check_step("registry", run_dir, ["load", "modeling"], tmp_path, ORDER, ["load", "registry"])


def test_a_notebook_opened_by_hand_checks_its_inputs_the_same_way(tmp_path):
    published(tmp_path, modeling_data="sha256:dddddddddddd4444")
    with pytest.raises(StepInputsMissing, match="step 'registry' needs .*run 'modeling' first$"):
        require_step_inputs("registry", tmp_path)
    published(tmp_path)
    require_step_inputs("registry", tmp_path)
