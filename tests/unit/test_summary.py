"""The executive summary quotes the run's numbers exactly and never recomputes them."""

from __future__ import annotations

import json

import pandas as pd

from cardfraud.report.concentration import concentration_text
from cardfraud.report.markup import plain_text
from cardfraud.report.summary import (
    analysed_text,
    model_text,
    next_actions,
    prevented_loss,
    registry_text,
)

RESULTS = {
    "load": {"data": {"source": "file", "path": "/data/oct.csv", "rows": 125_000}, "fraud_rate": 0.0871},
    "eda": {"fraud_rate_by_channel": {"onsite": 0.013, "online": 0.125},
            "fraud_rate_with_pin": 0.003, "fraud_rate_without_pin": 0.095,
            "fraud_rate_with_chip": 0.064, "fraud_rate_without_chip": 0.098,
            "fraud_rate_by_distance_band": [{"band": "0–2 km", "rate": 0.04},
                                            {"band": "≥ 250 km", "rate": 0.31}]},
    "modeling": {"best_model": "hist_gradient_boosting", "threshold": 0.5, "test_rows": 1000,
                 "costs": {"cost_missed_fraud": 300_000.0, "cost_review": 10_000.0},
                 "alert_budget": 0.01,
                 "test_metrics": {"recall": 0.9, "precision": 0.6, "average_precision": 0.88,
                                  "recall_at_budget": 0.12, "precision_at_budget": 0.97,
                                  "tp": 90, "fp": 60, "fn": 10, "tn": 840}},
    "monitoring": {"overall_status": "alert", "action": "retrain", "recommendation": "Retrain."},
    "registry": {"promoted": False},
}


def test_analysed_text_quotes_rows_and_rate():
    text = analysed_text(RESULTS)
    assert "125,000 card purchases" in text and "8.7 %" in text and "`oct.csv`" in text


def test_concentration_text_compares_channels_and_authentication():
    text = concentration_text(RESULTS)
    assert "10 times as likely" in text and "12.5 % against 1.3 %" in text
    assert "0.3 % against 9.5 %" in text and "31.0 % at ≥ 250 km" in text


def test_model_text_gives_catch_rate_and_alert_volume():
    text = model_text(RESULTS, None)
    assert "90 % of frauds" in text and "15.0 % of purchases" in text and "60 % of its alerts" in text
    assert "can only take 1 % of purchases" in text and "catch 12 % of frauds" in text
    assert "97 % of those alerts" in text


def test_next_actions_follow_the_findings():
    actions = " ".join(next_actions(RESULTS))
    assert "Retrain the model" in actions and "online purchases" in actions and "Keep the current champion" in actions


def test_prevented_loss_uses_saved_scores_and_amounts(tmp_path):
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    pd.DataFrame({"amount": [100.0, 200.0, 400.0, 800.0], "fraud": [1, 1, 0, 0]}).to_parquet(
        artifacts / "transactions.parquet")
    pd.DataFrame({"row": [0, 1, 2, 3], "fraud": [1, 1, 0, 0],
                  "probability": [0.9, 0.2, 0.7, 0.1]}).to_parquet(artifacts / "test_predictions.parquet")
    modeling = {"threshold": 0.5,
                "costs": {"cost_missed_fraud": 1.0, "cost_review": 10.0, "currency": "COP"}}
    loss = prevented_loss(tmp_path, modeling)
    # alerts: rows 0 and 2; caught fraud: row 0 (amount 100); reviews: 2 x 10
    assert loss["frauds_caught"] == 1 and loss["alerts"] == 2
    assert loss["saved"] == 100.0 and loss["review_cost"] == 20.0 and loss["net"] == 80.0
    assert "each alert is reviewed at 10 COP" in loss["assumptions"]


def test_no_loss_is_estimated_from_scores_of_other_data(tmp_path):
    from cardfraud.runner.artifacts import save_step_results

    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    pd.DataFrame({"amount": [100.0, 200.0], "fraud": [1, 0]}).to_parquet(
        artifacts / "transactions.parquet")
    pd.DataFrame({"row": [0, 5], "fraud": [1, 0], "probability": [0.9, 0.7]}).to_parquet(
        artifacts / "test_predictions.parquet")  # row 5: the scores of an earlier, larger extract
    save_step_results("load", {"data": {"fingerprint": "sha256:new"}}, tmp_path)
    modeling = {"threshold": 0.5, "data_fingerprint": "sha256:old",
                "costs": {"cost_missed_fraud": 1.0, "cost_review": 10.0, "currency": "COP"}}
    assert prevented_loss(tmp_path, modeling) is None
    assert prevented_loss(tmp_path, {**modeling, "data_fingerprint": "sha256:new"}) is not None


def test_degenerate_cost_threshold_is_warned_in_the_summary():
    warning = "Warning: the least expected-cost threshold of decision_tree (1.0000) sends no purchase"
    results = {**RESULTS, "modeling": {**RESULTS["modeling"], "threshold_warning": warning}}
    assert warning in plain_text(model_text(results, None))
    assert any("modeling.cost_review" in a for a in next_actions(results))
    assert "threshold" not in model_text(RESULTS, None).lower()
    assert not any("cost_review" in a for a in next_actions(RESULTS))


def test_summary_of_a_pending_promotion_names_the_new_champion():
    registry = {"model_name": "m", "version": 4, "champion_version": 4, "promoted": True,
                "promotion_pending": True, "champion_since": None,
                "decided_at": "2026-12-01T16:00:00+00:00", "reason": "the candidate is better"}
    text = registry_text({"registry": registry})
    assert text.startswith("Version **4** of `m` is the champion in production since 2026-12-01")
    assert "was promoted to champion" in text
    refused = {**registry, "champion_version": None, "promoted": False, "promotion_pending": False,
               "reason": "v4 catches no fraud at its threshold 1.0000"}
    assert registry_text({"registry": refused}).startswith("No version of `m` is in production")


def test_summary_of_a_run_with_the_load_step_only_still_builds(tmp_path):
    from cardfraud.report.concentration import concentration_figure
    from cardfraud.report.summary import board_summary, read_run_results

    results = tmp_path / "artifacts" / "results"
    results.mkdir(parents=True)
    (results / "load.json").write_text(json.dumps({k: RESULTS["load"][k] for k in RESULTS["load"]}))
    summary = board_summary(tmp_path)
    assert "125,000 card purchases" in summary["analysed"]
    assert "did not run" in summary["concentration"] and "did not run" in summary["model"]
    figure = concentration_figure(read_run_results(tmp_path))
    assert "has not run" in figure.axes[0].texts[0].get_text()


GEO = {"missing_columns": {"maps": [], "cpp": []}, "maps": True, "cpp": True,
       "parameters": {"fdr": 0.05}, "hot_spot_count": 2,
       "hot_spots": [{"hot_spot": "H1", "city": "Cali", "department": "Valle del Cauca",
                      "purchases": 400, "frauds": 120, "fraud_rate": 0.3}],
       "suspected_point_count": 2, "cards_at_risk": 57,
       "suspected_points": [{"suspected_point": "P1", "merchant_id": 3064, "kind": "shop",
                             "department": "Bogotá", "city": "Bogotá", "longitude": -74.1,
                             "latitude": 4.7, "window_start": "2024-01-05T08:00:00",
                             "window_end": "2024-02-02T19:00:00", "cards_visited": 116,
                             "cards_defrauded": 29, "cards_at_risk": 40, "q_value": 1e-12}]}


def test_board_summary_names_the_suspected_points_and_the_cards_at_risk():
    from cardfraud.report.summary import compromise_text, detail_pages

    results = {**RESULTS, "georeferencing": GEO}
    text = plain_text(compromise_text(results))
    assert "2 suspected points of compromise" in text
    assert ("Shop `3064` in Bogotá, Bogotá: 29 cards that used it between 2024-01-05 and "
            "2024-02-02 were later defrauded; 40 more are at risk.") in text
    assert "57 cards used a suspected point inside its window" in text
    assert "Hot spots" in concentration_text(results) and "Cali (Valle del Cauca, 30.0 %)" in \
        concentration_text(results)
    assert "Reissue the 57 cards at risk" in " ".join(next_actions(results))
    assert ("where fraud happens on the map", "georeferencing.html") in detail_pages(results)


def test_board_summary_says_why_there_is_no_point_of_compromise():
    from cardfraud.report.summary import compromise_text

    assert "did not run" in compromise_text(RESULTS)
    no_ids = {**GEO, "cpp": False, "missing_columns": {"maps": [], "cpp": ["card_id"]}}
    assert "no `card_id` column" in compromise_text({**RESULTS, "georeferencing": no_ids})
    none_found = {**GEO, "suspected_points": [], "suspected_point_count": 0, "cards_at_risk": 0}
    assert "No merchant stands out" in compromise_text({**RESULTS, "georeferencing": none_found})
    assert not any("Reissue" in a for a in next_actions({**RESULTS, "georeferencing": none_found}))


def test_model_text_says_the_pr_auc_interval_and_the_weekly_backtest():
    modeling = {**RESULTS["modeling"],
                "bootstrap": {"candidates": {"hist_gradient_boosting": {
                    "average_precision": {"estimate": 0.88, "low": 0.862, "high": 0.894}}}},
                "backtest": {"summary": {"average_precision": {"mean": 0.871, "std": 0.0123,
                                                               "windows": 6}}}}
    text = plain_text(model_text({**RESULTS, "modeling": modeling}, None))
    assert ("Allowing for chance, its PR-AUC lies between 0.86 and 0.89 (95 % interval), and "
            "retrained week after week it scored 0.87 ± 0.01 over 6 weeks.") in text
    assert "Allowing for chance" not in model_text(RESULTS, None)
