"""An extract without used_chip and used_pin_number: loaded only when allowed, modelled on the
five inputs it gives, and every page says chip and PIN are unknown instead of inventing them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import make_timed_transactions

from cardfraud.channels.simulation import flow_results, summary_sentences
from cardfraud.channels.what_if import authentication_what_if
from cardfraud.data.checks import DataValidationError
from cardfraud.data.cleaning import load_file
from cardfraud.data.context import model_inputs_table
from cardfraud.data.load_step import data_profile, load_transactions
from cardfraud.data.schema import available_inputs, inputs_record, model_features
from cardfraud.eda.authentication import fraud_rate_by_channel_chip_pin
from cardfraud.eda.headlines import eda_results, flag_fraud_rates
from cardfraud.eda.headlines import summary_sentences as eda_sentences
from cardfraud.modeling.candidates import make_pipeline
from cardfraud.monitoring.drift import feature_drift
from cardfraud.report.concentration import concentration_figure, concentration_text
from cardfraud.serving.scorer import check_purchases

ABSENT = ["used_chip", "used_pin_number"]
FIVE = ["distance_from_home", "distance_from_last_transaction",
        "ratio_to_median_purchase_price", "repeat_retailer", "online_order"]


@pytest.fixture
def no_chip_pin() -> pd.DataFrame:
    """A small extract (timestamps, amounts) lacking used_chip and used_pin_number."""
    return make_timed_transactions(600, seed=3).drop(columns=ABSENT)


@pytest.fixture
def no_chip_pin_csv(tmp_path, no_chip_pin):
    path = tmp_path / "no_chip_pin.csv"
    no_chip_pin.to_csv(path, index=False)
    return path


def test_available_inputs_come_from_the_data(no_chip_pin):
    assert available_inputs(no_chip_pin) == FIVE
    assert inputs_record(no_chip_pin.columns) == {"inputs_available": FIVE,
                                                  "inputs_unknown": ABSENT}
    assert list(model_features(no_chip_pin).columns) == FIVE
    with pytest.raises(KeyError):
        model_features(no_chip_pin, [*FIVE, "used_chip"])


def test_load_refuses_a_missing_input_unless_allowed(no_chip_pin_csv):
    with pytest.raises(DataValidationError, match="missing required columns used_chip, "
                                                  "used_pin_number"):
        load_transactions(path=str(no_chip_pin_csv))
    frame, report, data = load_transactions(path=str(no_chip_pin_csv), allow_missing_inputs=True)
    assert not set(ABSENT) & set(frame.columns)  # absent, not filled with zeros
    profile = data_profile(frame, report, data)
    assert profile["inputs_available"] == FIVE and profile["inputs_unknown"] == ABSENT
    assert set(profile["flag_shares"]) == {"repeat_retailer", "online_order", "fraud"}
    table = model_inputs_table(frame)
    assert table.loc["used_chip", "status"] == "unknown: the extract has no used_chip"
    assert table.loc["online_order", "status"] == "in the extract"


def test_load_with_allow_still_needs_one_input(tmp_path):
    path = tmp_path / "labels_only.csv"
    pd.DataFrame({"fraud": [0, 1], "amount": [1.0, 2.0]}).to_csv(path, index=False)
    with pytest.raises(DataValidationError, match="none of the seven model inputs"):
        load_file(path, allow_missing_inputs=True)


def test_eda_says_chip_and_pin_are_unknown(no_chip_pin):
    table = fraud_rate_by_channel_chip_pin(no_chip_pin)
    assert len(table) == 2  # split by channel only
    assert set(table["chip"]) == {"unknown: the extract has no used_chip"}
    assert set(table["PIN"]) == {"unknown: the extract has no used_pin_number"}
    assert table["purchases"].sum() == len(no_chip_pin)
    flags = flag_fraud_rates(no_chip_pin)
    assert set(flags["flag"]) == {"repeat retailer", "online order"}
    results = eda_results(no_chip_pin, flags, None, ("a", "b", 0.1))
    assert results["fraud_rate_with_pin"] is None and results["fraud_rate_with_chip"] is None
    assert results["inputs_unknown"] == ABSENT
    text = eda_sentences(results)
    assert "PIN: unknown: the extract has no used_pin_number" in text
    assert "chip: unknown: the extract has no used_chip" in text
    assert "With PIN" not in text


def test_channel_what_if_has_no_chip_pin_numbers(no_chip_pin):
    table = authentication_what_if(no_chip_pin)
    assert list(table["unknown"]) == [
        "unknown: the extract has no used_chip; unknown: the extract has no used_pin_number",
        "unknown: the extract has no used_pin_number"]
    assert table.drop(columns=["rule", "channel", "purchases", "unknown"]).empty or \
        table.drop(columns=["rule", "channel", "purchases", "unknown"]).isna().all().all()
    stages = pd.DataFrame({"stage": ["purchases", "validated onsite", "validated online",
                                     "fraudulent onsite", "fraudulent online"],
                           "purchases": [10, 4, 6, 1, 2]})
    intervals = pd.DataFrame({"channel": ["onsite", "online", "all channels"],
                              "expected frauds": [1.0, 2.0, 3.0], "low": [0, 1, 1],
                              "high": [2, 3, 5]})
    results = flow_results(stages, intervals, 100, 1, 10, table)
    assert all(set(rule) == {"rule", "channel", "unknown"} for rule in results["what_if"])
    text = summary_sentences(results)
    assert "Chip and PIN mandatory onsite: unknown: the extract has no used_chip" in text
    assert "would have met" not in text


def test_models_fit_on_the_available_inputs(no_chip_pin):
    features = model_features(no_chip_pin)
    for candidate, resampling in [("logistic_regression", "none"), ("decision_tree", "smote")]:
        pipeline = make_pipeline(candidate, resampling, seed=1, inputs=list(features.columns))
        pipeline.fit(features, no_chip_pin["fraud"])
        assert list(pipeline.feature_names_in_) == FIVE
        assert pipeline.predict_proba(features).shape == (len(features), 2)


def test_scoring_needs_only_the_models_inputs(no_chip_pin):
    purchases = no_chip_pin.drop(columns=["fraud"])
    clean = check_purchases(purchases, "new.csv", FIVE)  # lacks inputs the model does not use
    assert len(clean) == len(purchases)
    with pytest.raises(DataValidationError,
                       match=r"new.csv: missing column online_order: the model uses it"):
        check_purchases(purchases.drop(columns=["online_order"]), "new.csv", FIVE)
    with pytest.raises(DataValidationError, match="missing columns used_chip, used_pin_number"):
        check_purchases(purchases, "new.csv")  # a model on all seven


def test_monitoring_drift_lists_unknown_inputs(no_chip_pin):
    reference, current = no_chip_pin.iloc[:300], no_chip_pin.iloc[300:]
    drift = feature_drift(reference, current, bins=5)
    assert list(drift.table.index) == FIVE
    assert not np.isnan(drift.table["psi"]).any()
    unknown = drift.unknown_table()
    assert unknown.loc["used_chip", "drift"] == "unknown: the extract has no used_chip"
    assert list(unknown.index) == ABSENT


def test_summary_says_chip_and_pin_unknown():
    eda = {"fraud_rate_by_channel": {"online": 0.1, "onsite": 0.01},
           "fraud_rate_with_pin": None, "fraud_rate_without_pin": None,
           "fraud_rate_with_chip": None, "fraud_rate_without_chip": None,
           "inputs_unknown": ABSENT}
    text = concentration_text({"eda": eda})
    assert "**Chip or token**: unknown: the extract has no used_chip." in text
    assert "**PIN or one-time code**: unknown: the extract has no used_pin_number." in text
    assert "Online purchases" in text and "without." not in text
    figure = concentration_figure({"eda": eda})
    labels = [t.get_text() for t in figure.axes[0].get_xticklabels()]
    assert labels == ["onsite", "online"]
    notes = " ".join(t.get_text() for t in figure.texts)
    assert "unknown: the extract has no used_chip" in notes


def test_summary_skips_an_empty_distance_band():
    eda = {"fraud_rate_by_channel": {"online": 0.1, "onsite": 0.01},
           "fraud_rate_with_pin": 0.01, "fraud_rate_without_pin": 0.2,
           "fraud_rate_with_chip": 0.02, "fraud_rate_without_chip": 0.1,
           "fraud_rate_by_distance_band": [
               {"band": "0–2 km", "rate": 0.01}, {"band": "2–5 km", "rate": None},
               {"band": "5+ km", "rate": 0.3}]}
    text = concentration_text({"eda": eda})
    assert "1.0 % of purchases within 0–2 km are fraudulent, 30.0 % at 5+ km" in text


@pytest.fixture
def partly_unknown() -> pd.DataFrame:
    """A small extract where some cards have no home: both distances empty on 40 purchases."""
    frame = make_timed_transactions(400, seed=5)
    frame.loc[frame.index[::10], ["distance_from_home", "distance_from_last_transaction"]] = np.nan
    return frame


def test_eda_uses_the_known_distances_when_partly_unknown(partly_unknown, tmp_path):
    from cardfraud.eda.page import run_eda
    page = run_eda(partly_unknown, tmp_path, sample_rows=200)
    known = partly_unknown["distance_from_home"].dropna()
    summary = page.continuous_summary.set_index("feature")
    assert summary.loc["distance_from_home", "median"] == pytest.approx(known.median())
    assert summary.loc["distance_from_home", "purchases unknown"] == 40
    assert page.distance_bands["purchases"].sum() == 360  # unknown ones in no band
    assert page.results["inputs_partly_unknown"] == {"distance_from_home": 40,
                                                     "distance_from_last_transaction": 40}
    assert np.isfinite(page.strongest_pair[2])
    assert set(page.figures) >= {"eda_continuous_distributions", "eda_distance_bands",
                                 "eda_correlations", "eda_strongest_pair"}


def test_eda_figures_say_how_many_distances_are_unknown(partly_unknown):
    from cardfraud.eda.headlines import plot_continuous_distributions
    from cardfraud.eda.where_when import distance_band_fraud_rates, plot_distance_bands
    figure = plot_continuous_distributions(partly_unknown, bins=10)
    notes = " ".join(t.get_text() for t in figure.texts)
    assert "distance_from_home unknown on 40 purchases (cards with no home)" in notes
    bands = distance_band_fraud_rates(partly_unknown, [0, 5, 50])
    notes = " ".join(t.get_text() for t in plot_distance_bands(bands, 0.1, 40).texts)
    assert "distance_from_home unknown on 40 purchases" in notes


def test_models_test_metrics_importance_and_thresholds_with_partly_unknown_inputs(partly_unknown):
    from sklearn.inspection import permutation_importance

    from cardfraud.modeling.metrics import classification_metrics
    from cardfraud.modeling.thresholds import cost_minimising_threshold, expected_cost_curve
    features, fraud = model_features(partly_unknown), partly_unknown["fraud"].to_numpy()
    pipeline = make_pipeline("logistic_regression", seed=1, inputs=list(features.columns),
                             gaps=True).fit(features.iloc[:300], fraud[:300])
    scores = pipeline.predict_proba(features.iloc[300:])[:, 1]
    metrics = classification_metrics(fraud[300:], scores, 0.5)
    assert 0 < metrics["average_precision"] <= 1
    importance = permutation_importance(pipeline, features.iloc[300:], fraud[300:],
                                        scoring="average_precision", n_repeats=2, random_state=1)
    assert np.isfinite(importance.importances_mean).all()
    curve = expected_cost_curve(fraud[300:], scores, 100.0, 1.0)
    assert 0 <= cost_minimising_threshold(curve) <= 1


def test_registered_scorer_scores_purchases_with_an_unknown_distance(partly_unknown, tmp_path):
    import mlflow.pyfunc

    from cardfraud.modeling.gaps import inputs_filled
    from cardfraud.serving.registration import scorer_signature
    from cardfraud.serving.scorer import FraudScorer
    features, fraud = model_features(partly_unknown), partly_unknown["fraud"]
    pipeline = make_pipeline("decision_tree", seed=1, inputs=list(features.columns),
                             gaps=True).fit(features, fraud)
    assert inputs_filled(pipeline) == ["distance_from_home", "distance_from_last_transaction"]
    mlflow.pyfunc.save_model(tmp_path / "scorer", python_model=FraudScorer(pipeline, 0.5),
                             signature=scorer_signature())
    scored = mlflow.pyfunc.load_model(str(tmp_path / "scorer")).predict(features.head(30))
    assert len(scored) == 30 and np.isfinite(scored["probability"]).all()
    assert scored["probability"].iloc[0] == pytest.approx(pipeline.predict_proba(
        features.head(1))[0, 1])  # row 0 has both distances unknown
    clean = check_purchases(features.head(30), "new.csv", may_be_unknown=inputs_filled(pipeline))
    assert clean["distance_from_home"].isna().sum() == 3  # kept empty, not filled
    with pytest.raises(DataValidationError, match="missing values in column.s. distance_from_home"):
        check_purchases(features.head(30), "new.csv")  # a model that never saw a gap
    negative = features.head(30).assign(distance_from_home=lambda f: f["distance_from_home"] * -1)
    with pytest.raises(DataValidationError, match="distance_from_home"):
        check_purchases(negative, "new.csv", may_be_unknown=inputs_filled(pipeline))


def test_monitoring_drift_compares_known_values_and_reports_the_unknown_share(partly_unknown):
    reference, current = partly_unknown.iloc[:200], partly_unknown.iloc[200:].copy()
    current.loc[current.index[::4], "distance_from_home"] = np.nan
    drift = feature_drift(reference, current, bins=5)
    assert np.isfinite(drift.table["psi"]).all()
    row = drift.table.loc["distance_from_home"]
    assert row["unknown_reference"] == pytest.approx(0.1)
    assert row["unknown_current"] == pytest.approx(current["distance_from_home"].isna().mean())
    assert row["reference"] == pytest.approx(reference["distance_from_home"].median())
    assert drift.binned["distance_from_home"].current_counts.sum() == \
        current["distance_from_home"].notna().sum()


def test_first_analysis_rerun_uses_purchases_with_every_input_known(partly_unknown):
    from cardfraud.modeling.holdout import split_transactions
    from cardfraud.modeling.metrics import first_analysis_gap, first_analysis_rerun
    split = split_transactions(partly_unknown, "stratified", seed=1)
    table = first_analysis_rerun(partly_unknown, split, None, seed=1)
    known_test = partly_unknown["distance_from_home"].notna().to_numpy()[split.test_rows].sum()
    assert (table.xs("honest: split first, test untouched", level="procedure")["test rows"]
            == known_test).all()
    assert "40 purchases with an input unknown are left out" in first_analysis_gap(table)


def test_summary_says_how_many_distances_from_home_are_unknown():
    eda = {"fraud_rate_by_channel": {"online": 0.1, "onsite": 0.01},
           "fraud_rate_with_pin": 0.01, "fraud_rate_without_pin": 0.2,
           "fraud_rate_with_chip": 0.02, "fraud_rate_without_chip": 0.1,
           "fraud_rate_by_distance_band": [{"band": "0–2 km", "rate": 0.01},
                                           {"band": "5+ km", "rate": 0.3}],
           "inputs_partly_unknown": {"distance_from_home": 1234}}
    text = concentration_text({"eda": eda})
    assert ("30.0 % at 5+ km. Distance from home is unknown on 1,234 purchases (cards with no "
            "home), left out of these rates.") in text
