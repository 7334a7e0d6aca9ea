"""Reasons of an alert: SHAP values per input for every candidate, planted reasons found first,
the words, only positive contributions, gaps, and the scorer's reasons column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cardfraud.modeling.candidates import CANDIDATES, make_pipeline, prediction_pipeline
from cardfraud.modeling.reason_words import PHRASES, reason_text, reasons_text
from cardfraud.modeling.reasons import (
    column_contributions,
    column_origins,
    input_contributions,
    pipeline_parts,
    purchase_reasons,
    top_alert_reasons,
    top_reason_inputs,
)

INPUTS = ["distance_from_home", "ratio_to_median_purchase_price", "purchases_last_1h",
          "used_chip", "online_order"]
ORDINARY = {"distance_from_home": 10.0, "ratio_to_median_purchase_price": 1.0,
            "purchases_last_1h": 1.0, "used_chip": 1.0, "online_order": 0.0}


def planted_purchases(rows: int = 6000, seed: int = 0, gaps: bool = False) -> pd.DataFrame:
    """Purchases where fraud = many purchases in the last hour OR far from home (or, with
    ``gaps``, a distance from home unknown); the other inputs are noise."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "distance_from_home": rng.lognormal(2.3, 0.8, rows),
        "ratio_to_median_purchase_price": rng.lognormal(0, 0.5, rows),
        "purchases_last_1h": rng.poisson(1.0, rows).astype("float64"),
        "used_chip": rng.integers(0, 2, rows).astype("float64"),
        "online_order": rng.integers(0, 2, rows).astype("float64"),
    })
    far = rng.random(rows) < 0.04
    frame.loc[far, "distance_from_home"] = rng.uniform(800, 3000, far.sum())
    busy = rng.random(rows) < 0.04
    frame.loc[busy, "purchases_last_1h"] = rng.integers(6, 12, busy.sum()).astype("float64")
    fraud = far | busy
    if gaps:
        unknown = rng.random(rows) < 0.05
        frame.loc[unknown, "distance_from_home"] = np.nan
        fraud = (fraud & ~unknown) | unknown
    frame["fraud"] = fraud.astype(int)
    return frame


def fitted(candidate: str, frame: pd.DataFrame, gaps: bool = False):
    """The candidate's prediction pipeline fitted on the planted purchases."""
    pipeline = make_pipeline(candidate, seed=1, inputs=INPUTS, gaps=gaps)
    return prediction_pipeline(pipeline.fit(frame[INPUTS], frame["fraud"]))


def purchase(**changes) -> pd.DataFrame:
    """One ordinary purchase with ``changes``."""
    return pd.DataFrame([{**ORDINARY, **changes}])[INPUTS].astype("float64")


@pytest.fixture(scope="module")
def planted() -> pd.DataFrame:
    return planted_purchases()


@pytest.mark.parametrize("candidate", CANDIDATES)
def test_planted_reasons_come_first_for_every_candidate(planted, candidate):
    model = fitted(candidate, planted)
    busy, far = purchase(purchases_last_1h=8.0), purchase(distance_from_home=2000.0)
    assert purchase_reasons(model, busy)[0].split("; ")[0] == "8 purchases in the last hour"
    assert purchase_reasons(model, far)[0].split("; ")[0] == \
        "2,000 km from the cardholder's home"
    both = input_contributions(model, purchase(purchases_last_1h=9.0, distance_from_home=1500.0))
    assert set(top_reason_inputs(both)[0][:2]) == {"purchases_last_1h", "distance_from_home"}


@pytest.mark.parametrize("candidate", ["hist_gradient_boosting", "random_forest",
                                       "decision_tree"])
def test_tree_contributions_add_up_to_the_score(planted, candidate):
    model = fitted(candidate, planted)
    rows = planted[INPUTS].head(50)
    contributions = input_contributions(model, rows)
    _, classifier = pipeline_parts(model)
    from cardfraud.modeling.reasons import _tree_explainer

    expected = np.atleast_1d(_tree_explainer(classifier).expected_value)[-1]
    if candidate == "hist_gradient_boosting":  # log-odds
        score = classifier.decision_function(rows)
    else:  # probability of fraud
        score = model.predict_proba(rows)[:, 1]
    np.testing.assert_allclose(contributions.sum(axis=1) + expected, score, atol=1e-6)


def test_logistic_contributions_are_exact_in_the_reordered_transformed_space(planted):
    model = fitted("logistic_regression", planted)
    # log1p puts the long-tailed inputs first, the passthrough ones after
    assert column_origins(model, INPUTS) == ["distance_from_home",
                                             "ratio_to_median_purchase_price",
                                             "purchases_last_1h", "used_chip", "online_order"]
    rows = planted[INPUTS].head(40)
    contributions = input_contributions(model, rows)
    classifier = model.named_steps["classify"]
    # measured from the mean of the training rows: their scaled mean is 0
    np.testing.assert_allclose(contributions.sum(axis=1) + classifier.intercept_[0],
                               model.decision_function(rows), atol=1e-9)
    coefficient = classifier.coef_[0][2]  # purchases_last_1h: long-tailed, third after log1p
    scale = model.named_steps["scale"]
    z = (np.log1p(rows["purchases_last_1h"]) - scale.mean_[2]) / scale.scale_[2]
    np.testing.assert_allclose(contributions["purchases_last_1h"], coefficient * z, atol=1e-12)


def test_a_background_sample_sets_the_linear_reference(planted):
    model = fitted("logistic_regression", planted)
    rows, background = planted[INPUTS].head(5), planted[INPUTS].head(5)
    against_themselves = column_contributions(model, rows, background=background)
    np.testing.assert_allclose(against_themselves.sum(axis=0), 0, atol=1e-9)


@pytest.mark.parametrize("candidate", CANDIDATES)
def test_gap_indicators_count_for_their_input(candidate):
    frame = planted_purchases(gaps=True)
    model = fitted(candidate, frame, gaps=True)
    origins = column_origins(model, INPUTS)
    assert origins.count("distance_from_home") == 2  # its value and its was-unknown flag
    unknown = purchase(distance_from_home=np.nan)
    contributions = input_contributions(model, unknown)
    assert list(contributions.columns) == INPUTS
    assert purchase_reasons(model, unknown)[0].split("; ")[0] == \
        "distance from the cardholder's home unknown"
    assert purchase_reasons(model, purchase(purchases_last_1h=8.0))[0].startswith(
        "8 purchases in the last hour")


def test_only_inputs_raising_the_score_are_reasons_at_most_three():
    contributions = pd.DataFrame(
        [[0.5, -0.2, 0.1, 0.9, 0.3], [-0.1, -0.3, 0.0, 0.2, -0.5], [-1, -1, -1, -1, -1]],
        columns=INPUTS)
    assert top_reason_inputs(contributions) == [
        ["used_chip", "distance_from_home", "online_order"], ["used_chip"], []]
    assert top_reason_inputs(contributions, top=1)[0] == ["used_chip"]


def test_only_the_purchases_asked_for_are_explained(planted):
    model = fitted("decision_tree", planted)
    rows = planted[INPUTS].head(6)
    reasons = purchase_reasons(model, rows, explain=[True, False, True, False, False, False])
    assert reasons[1] == reasons[3] == "" and len(reasons) == 6
    assert reasons[0] == purchase_reasons(model, rows.head(1))[0]


@pytest.mark.parametrize("name, value, text", [
    ("distance_from_home", 1250.4, "1,250 km from the cardholder's home"),
    ("distance_from_home", 3.24, "3.2 km from the cardholder's home"),
    ("distance_from_home", 0.04, "0.04 km from the cardholder's home"),
    ("distance_from_last_transaction", 340.0, "340 km from the card's previous purchase"),
    ("ratio_to_median_purchase_price", 8.31, "8.3 times the card's median purchase"),
    ("ratio_to_median_purchase_price", 12000.0, "12,000 times the card's median purchase"),
    ("online_order", 1.0, "online purchase"),
    ("online_order", 0.0, "purchase in person"),
    ("used_chip", 0.0, "chip not used"),
    ("used_pin_number", 0.0, "no PIN"),
    ("repeat_retailer", 0.0, "new merchant for this card"),
    ("purchases_last_1h", 5.0, "5 purchases in the last hour"),
    ("purchases_last_1h", 1.0, "1 purchase in the last hour"),
    ("purchases_last_24h", 1200.0, "1,200 purchases in the last 24 hours"),
    ("purchases_last_7d", 0.0, "no purchase in the last 7 days"),
    ("amount_to_card_mean_7d", 6.2, "amount 6.2 times the card's 7-day mean"),
    ("amount_to_card_mean_30d", 4.0, "amount 4 times the card's 30-day mean"),
    ("minutes_since_previous", 3.0, "3 minutes after the previous purchase"),
    ("minutes_since_previous", 1.0, "1 minute after the previous purchase"),
    ("minutes_since_previous", 312.0, "5.2 hours after the previous purchase"),
    ("minutes_since_previous", 4320.0, "3 days after the previous purchase"),
    # the cap: the card's first purchase, or a card dormant 30 days or more
    ("minutes_since_previous", 43200.0, "no earlier purchase in the last 30 days"),
    ("speed_from_previous_kmh", 2300.0, "2,300 km/h from the previous purchase"),
    ("first_purchase_at_merchant", 1.0, "first purchase at this merchant"),
    ("hour_of_day", 3.0, "at 3 h"),
    ("merchant_fraud_rate_30d", 0.12, "merchant's fraud rate 12 % over 30 days"),
    ("merchant_fraud_rate_30d", 0.004, "merchant's fraud rate 0.4 % over 30 days"),
    ("distance_from_home", np.nan, "distance from the cardholder's home unknown"),
    ("used_chip", 0.5, "chip use 0.5"),
    ("card_age_days", 1234.0, "card age days 1,234"),
])
def test_reason_words(name, value, text):
    assert reason_text(name, value) == text


def test_reasons_are_joined_and_never_hold_the_separator():
    assert reasons_text(["purchases_last_1h", "used_chip"], [8.0, 0.0]) == \
        "8 purchases in the last hour; chip not used"
    assert reasons_text([], []) == ""
    assert all(";" not in reason_text(name, value) for name in PHRASES for value in (0.0, 1.0))


def test_every_card_history_input_has_its_words():
    history = pytest.importorskip("cardfraud.modeling.history")
    assert set(history.HISTORY_FEATURES) <= set(PHRASES)


def test_top_alerts_table_shows_purchase_probability_reasons_and_label(planted):
    model = fitted("hist_gradient_boosting", planted)
    probability = model.predict_proba(planted[INPUTS])[:, 1]
    table = top_alert_reasons(model, planted, probability, INPUTS, rows=4)
    assert list(table.columns) == ["purchase", "probability", "reasons", "fraud"]
    assert table["probability"].is_monotonic_decreasing and len(table) == 4
    assert table["reasons"].str.contains("purchases in the last hour|km from the cardholder's "
                                         "home").all()
    assert table["fraud"].tolist() == planted["fraud"].to_numpy()[
        np.argsort(-probability, kind="stable")[:4]].tolist()


# --- the registered scorer's reasons ------------------------------------------------------

def _saved_scorer(tmp_path, planted, signature, name: str):
    """A FraudScorer of a random forest saved and loaded back as MLflow does (threshold 0.5)."""
    import mlflow.pyfunc

    from cardfraud.serving.scorer import FraudScorer, LoadedScorer, signature_inputs

    scorer = FraudScorer(fitted("random_forest", planted), 0.5, INPUTS)
    path = tmp_path / name
    mlflow.pyfunc.save_model(path, python_model=scorer, signature=signature)
    model = mlflow.pyfunc.load_model(str(path))
    return LoadedScorer(model, str(path), None, 0.5, None, signature_inputs(model))


def test_the_scorer_returns_reasons_for_the_purchases_asked(planted, tmp_path):
    from mlflow.exceptions import MlflowException

    from cardfraud.serving.registration import scorer_signature

    loaded = _saved_scorer(tmp_path, planted, scorer_signature(INPUTS), "scorer")
    rows = pd.concat([purchase(purchases_last_1h=8.0), purchase(), planted[INPUTS].head(30)])
    served = loaded.model.predict(rows)  # as `mlflow models serve` answers: every purchase
    assert list(served.columns) == ["probability", "decision", "reasons"]
    assert served["reasons"].iloc[0].startswith("8 purchases in the last hour")
    alerts = loaded.score(rows, reasons="alerts")
    held = alerts["decision"] == 1
    assert alerts.loc[held, "reasons"].ne("").all() and alerts.loc[~held, "reasons"].eq("").all()
    assert (alerts.loc[held, "reasons"] == served.loc[held.to_numpy(), "reasons"].to_numpy()).all()
    assert loaded.score(rows)["reasons"].eq("").all()  # none by default: monitoring, registry
    with pytest.raises(MlflowException, match="params reasons must be one of all, alerts, none"):
        loaded.model.predict(rows, params={"reasons": "some"})


def test_a_scorer_pickled_before_reasons_still_loads_and_explains(planted, tmp_path):
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    old_signature = ModelSignature(  # no reasons column, no params
        inputs=Schema([ColSpec("double", name) for name in INPUTS]),
        outputs=Schema([ColSpec("double", "probability"), ColSpec("long", "decision")]))
    loaded = _saved_scorer(tmp_path, planted, old_signature, "old")
    rows = pd.concat([purchase(purchases_last_1h=8.0), planted[INPUTS].head(20)])
    assert loaded.score(rows, reasons="none")["reasons"].eq("").all()  # params not declared
    alerts = loaded.score(rows, reasons="alerts")
    assert alerts["reasons"].iloc[0].startswith("8 purchases in the last hour")
    assert loaded.model.predict(rows)["reasons"].ne("").any()


def test_the_modeling_page_shows_the_reasons_of_the_top_test_alerts(tmp_path):
    from conftest import make_timed_transactions

    from cardfraud.modeling.page import run_modeling
    from cardfraud.modeling.tracking import SQLITE_PREFIX

    transactions = make_timed_transactions(1500, seed=2)
    transactions["transaction_id"] = [f"T{i:04d}" for i in range(len(transactions))]
    page = run_modeling(transactions, tmp_path, tracking_uri=SQLITE_PREFIX + str(
        tmp_path / "mlflow.db"), candidates=["hist_gradient_boosting"], cv_folds=2,
        cv_sample_rows=None, test_days=3, importance_rows=200, first_analysis_rows=600,
        backtest_weeks=0, bootstrap_resamples=0)  # the reasons are checked, not those
    table = page.alert_reasons
    assert list(table.columns) == ["purchase", "probability", "reasons", "fraud"]
    assert len(table) == 5 and table["purchase"].str.startswith("T").all()
    assert table["probability"].is_monotonic_decreasing
    # make_transactions' fraud: a high ratio to the median purchase, online
    assert table["reasons"].str.contains("times the card's median purchase").all()


def test_the_reasons_know_the_history_cap_of_minutes_since_previous():
    from cardfraud.modeling import history, reason_words

    assert reason_words.MINUTES_CAP == history.MINUTES_CAP
