"""Purchase flow: stage counts, the Monte Carlo of frauds per batch, what-if rules, the CLI."""

from __future__ import annotations

import subprocess
import sys

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from conftest import make_transactions

from cardfraud.channels import simulation as flow
from cardfraud.channels.figures import plot_batch_frauds, plot_purchase_flow
from cardfraud.channels.what_if import authentication_what_if
from cardfraud.data.cleaning import load_file


@pytest.fixture
def what_if_frame() -> pd.DataFrame:
    """Ten onsite and ten online purchases with known authentication and fraud."""
    frame = make_transactions(rows=20, seed=0)
    frame["online_order"] = [0] * 10 + [1] * 10
    # onsite: 4 with chip and PIN (no fraud), 2 chip only (1 fraud), 4 neither (2 frauds)
    frame["used_chip"] = [1, 1, 1, 1, 1, 1, 0, 0, 0, 0] + [0] * 10
    frame["used_pin_number"] = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0] + [1, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    frame["fraud"] = [0, 0, 0, 0, 1, 0, 1, 1, 0, 0] + [1, 0, 1, 1, 1, 0, 0, 0, 0, 0]
    return frame


@pytest.mark.parametrize("purchases", [1, 5, 8])
def test_stage_counts_add_up_to_n(good_frame, purchases):
    stages = flow.stage_counts(flow.draw_purchases(good_frame, purchases, seed=3))
    count = dict(zip(stages["stage"], stages["purchases"], strict=True))
    assert count["purchases"] == purchases
    assert count["validated onsite"] + count["validated online"] == purchases
    assert count["fraudulent onsite"] <= count["validated onsite"]
    assert count["fraudulent online"] <= count["validated online"]


def test_all_rows_give_the_data_exact_counts(good_frame):
    stages = flow.stage_counts(flow.draw_purchases(good_frame, len(good_frame), seed=1))
    assert stages["purchases"].tolist() == [8, 3, 5, 0, 2]
    assert stages["share of purchases"].tolist() == [1.0, 3 / 8, 5 / 8, 0.0, 2 / 8]


def test_draw_is_seeded_and_without_replacement_up_to_the_rows():
    frame = make_transactions(rows=300, seed=1)
    first = flow.draw_purchases(frame, 100, seed=7)
    assert first.index.equals(flow.draw_purchases(frame, 100, seed=7).index)
    assert not first.index.equals(flow.draw_purchases(frame, 100, seed=8).index)
    assert first.index.is_unique
    more = flow.draw_purchases(frame, 1000, seed=7)
    assert len(more) == 1000 and not more.index.is_unique


def test_draw_rejects_no_purchases(good_frame):
    with pytest.raises(ValueError, match="positive"):
        flow.draw_purchases(good_frame, 0)


def test_monte_carlo_is_seeded_and_batches_hold_n_purchases():
    frame = make_transactions(rows=400, seed=2)
    batches = flow.simulate_batches(frame, 250, runs=500, seed=11)
    pd.testing.assert_frame_equal(batches, flow.simulate_batches(frame, 250, runs=500, seed=11))
    assert len(batches) == 500
    assert ((batches["purchases onsite"] + batches["purchases online"]) == 250).all()
    assert (batches["frauds"] == batches["frauds onsite"] + batches["frauds online"]).all()


def test_monte_carlo_expects_the_data_fraud_rate():
    frame = make_transactions(rows=5000, seed=3)
    online_rate = frame.loc[frame.online_order == 1, "fraud"].sum() / len(frame)
    intervals = flow.batch_intervals(flow.simulate_batches(frame, 1000, runs=4000, seed=2))
    online = intervals.set_index("channel").loc["online"]
    assert online["expected frauds"] == pytest.approx(1000 * online_rate, rel=0.03)
    assert online["low"] < 1000 * online_rate < online["high"]


def test_interval_of_the_fraud_share_narrows_as_n_grows():
    frame = make_transactions(rows=2000, seed=4)
    widths = []
    for purchases in (100, 1000, 10_000):
        row = flow.batch_intervals(flow.simulate_batches(frame, purchases, runs=3000, seed=5))
        row = row.set_index("channel").loc["all channels"]
        widths.append((row["high"] - row["low"]) / purchases)
    assert widths[0] > widths[1] > widths[2]


def test_interval_sentence_reads_like_the_fraud_team_says_it():
    intervals = pd.DataFrame({"channel": ["onsite", "online", "all channels"],
                              "expected frauds": [3.2, 40.5, 43.7], "low": [1, 30, 33],
                              "high": [6, 52, 55]})
    sentences = flow.interval_sentences(intervals, 1000)
    assert sentences[1] == ("On a day of 1,000 purchases, expect 30 to 52 online frauds "
                            "(90% interval; 40.5 on average).")


def test_what_if_rates_and_shares_met(what_if_frame):
    table = authentication_what_if(what_if_frame).set_index("channel")
    onsite, online = table.loc["onsite"], table.loc["online"]
    assert onsite["fraud rate with"] == 0 and onsite["fraud rate without"] == pytest.approx(3 / 6)
    assert onsite["frauds"] == 3 and onsite["frauds without it"] == 3
    assert onsite["share of channel fraud met"] == 1.0
    assert onsite["share of all fraud met"] == pytest.approx(3 / 7)
    assert onsite["share of legitimate challenged"] == pytest.approx(3 / 7)
    assert online["fraud rate with"] == pytest.approx(1 / 2)
    assert online["frauds without it"] == 3
    assert online["share of channel fraud met"] == pytest.approx(3 / 4)
    assert online["share of all fraud met"] == pytest.approx(3 / 7)


def test_purchases_per_day_uses_the_calendar_span(good_frame):
    frame = good_frame.copy()
    frame["timestamp"] = pd.to_datetime(["2024-05-01 10:00"] * 4 + ["2024-05-04 23:00"] * 4)
    assert flow.purchases_per_day(frame) == 2.0


def test_results_hold_stage_counts_and_intervals(good_frame):
    stages = flow.stage_counts(flow.draw_purchases(good_frame, 8))
    intervals = flow.batch_intervals(flow.simulate_batches(good_frame, 8, runs=200))
    results = flow.flow_results(stages, intervals, 200, 42, len(good_frame),
                                authentication_what_if(good_frame))
    assert results["stage_counts"] == {"purchases": 8, "validated_onsite": 3,
                                       "validated_online": 5, "fraudulent_onsite": 0,
                                       "fraudulent_online": 2}
    online = results["expected_frauds_per_batch"]["online"]
    assert online["low"] <= online["mean"] <= online["high"]
    assert "purchases_per_day" not in results
    assert [r["rule"] for r in results["what_if"]] == ["chip and PIN mandatory", "PIN mandatory"]
    summary = flow.summary_sentences(results)
    assert "Of 8 purchases, 37.5% were validated onsite and 62.5% online" in summary
    assert f"expect {online['low']} to {online['high']} online frauds" in summary


def test_results_per_day_when_timestamps_exist(good_frame):
    frame = good_frame.copy()
    frame["timestamp"] = pd.to_datetime(["2024-05-01"] * 4 + ["2024-05-02"] * 4)
    per_day = flow.purchases_per_day(frame)
    day = flow.batch_intervals(flow.simulate_batches(frame, round(per_day), runs=200))
    stages = flow.stage_counts(frame)
    results = flow.flow_results(stages, day, 200, 42, 8, per_day=per_day, day_intervals=day)
    assert results["purchases_per_day"] == 4.0
    assert set(results["expected_frauds_per_day"]) == {"onsite", "online", "all"}
    assert "A day of the data (about 4 purchases)" in flow.summary_sentences(results)


def test_figures_are_labelled(good_frame):
    stages = flow.stage_counts(good_frame)
    batches = flow.simulate_batches(good_frame, 8, runs=100)
    flow_figure = plot_purchase_flow(stages)
    batch_figure = plot_batch_frauds(batches, flow.batch_intervals(batches), 8)
    labels = {(ax.get_title(), ax.get_xlabel(), ax.get_ylabel())
              for fig in (flow_figure, batch_figure) for ax in fig.axes}
    assert labels == {
        ("Purchase flow of 8 purchases through the channels", "stage of the flow",
         "purchases (band height proportional to count)"),
        ("Onsite frauds per batch", "frauds per batch of 8 purchases (count)",
         "share of simulated batches (%)"),
        ("Online frauds per batch", "frauds per batch of 8 purchases (count)",
         "share of simulated batches (%)"),
    }
    assert batch_figure._suptitle.get_text() == "Monte Carlo: 100 simulated batches of 8 purchases"
    plt.close("all")


def test_cli_prints_stage_counts_and_intervals(tmp_path, good_frame, capsys):
    path = tmp_path / "extract.csv"
    good_frame.to_csv(path, index=False)
    assert flow.cli(["--purchases", "8", "--data", str(path), "--runs", "300"]) == 0
    out = capsys.readouterr().out
    counts = {" ".join(line.split()[:2]): line.split()[2] for line in out.splitlines()
              if line.strip().startswith(("validated", "fraudulent"))}
    assert counts == {"validated onsite": "3", "validated online": "5",
                      "fraudulent onsite": "0", "fraudulent online": "2"}
    assert "On a day of 8 purchases, expect" in out


@pytest.mark.parametrize("content, expected", [
    (None, "file not found"),
    ("distance_from_home,fraud\n1.0,0\n", "missing required column"),
])
def test_cli_bad_data_gives_one_line_and_exit_code_2(tmp_path, capsys, content, expected):
    path = tmp_path / "extract.csv"
    if content is not None:
        path.write_text(content)
    assert flow.cli(["--purchases", "5", "--data", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err and str(path) in err and len(err.splitlines()) == 1


def test_cli_without_a_previous_run_says_what_to_do(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(flow, "default_data_path", lambda: tmp_path / "none.parquet")
    assert flow.cli(["--purchases", "5"]) == 2
    assert "run `python run_all.py` first or pass --data FILE" in capsys.readouterr().err


def test_cli_rejects_a_non_positive_purchase_count(capsys):
    assert flow.cli(["--purchases", "0"]) == 2
    assert "positive whole number" in capsys.readouterr().err


def test_module_command_exits_2_without_traceback(tmp_path):
    done = subprocess.run([sys.executable, "-m", "cardfraud", "flow", "--purchases", "10",
                           "--data", str(tmp_path / "missing.csv")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "file not found" in done.stderr


def test_real_sample_all_rows_give_exact_counts(real_sample):
    frame, _ = load_file(real_sample)
    stages = flow.stage_counts(flow.draw_purchases(frame, len(frame), seed=42))
    online = frame["online_order"] == 1
    expected = [len(frame), int((~online).sum()), int(online.sum()),
                int(frame.loc[~online, "fraud"].sum()), int(frame.loc[online, "fraud"].sum())]
    assert stages["purchases"].tolist() == expected
    assert np.isclose(stages["share of purchases"].iloc[0], 1.0)
