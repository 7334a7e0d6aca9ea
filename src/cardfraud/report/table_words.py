"""The words the pages' tables show, per step: headers, row labels and values.

Tables are built with English headers and words (some are data keys); on a page they pass
through :func:`cardfraud.report.markup.html_table` or, shown as a cell's result, through the
DataFrame display :func:`cardfraud.report.translate.use_language` sets, which translate every
header and word found in the catalogue. Listing them here marks them for the catalogue
(``python -m cardfraud translations --check``); snake_case data keys (``fraud_rate``,
``cv_average_precision``) stay English in the data and in English pages, and get plain words in
:data:`COLUMN_HEADERS` for the other languages (model keys from :data:`CANDIDATE_NAMES`). A new
plain-language header or word of a table, or a new column, goes here and in
``translations/es/strings.yaml``.
"""

from __future__ import annotations

from .translate import N_

SHARED_WORDS = (
    N_("purchases"), N_("share of purchases"), N_("channel"), N_("frauds"), N_("fraud rate"),
    N_("legitimate"), N_("fraud"), N_("yes"), N_("no"), N_("none"), N_("onsite"), N_("online"),
    N_("class"), N_("feature"), N_("value"), N_("status"), N_("kind"), N_("model"),
    N_("threshold"), N_("recall"), N_("precision"), N_("candidate"), N_("version"),
    N_("reference"), N_("current"), N_("test"), N_("training"), N_("department"), N_("city"),
    N_("metric"), N_("low"), N_("high"),
)

LOAD_WORDS = (
    N_("type"), N_("required"), N_("meaning"), N_("column"), N_("input"), N_("result"),
    N_("check"), N_("rows read"), N_("required columns present"), N_("rows with missing values"),
    N_("rows dropped for missing values"), N_("duplicated rows"), N_("columns converted"),
    N_("infinite, negative or out-of-range numbers"), N_("flags outside 0/1"),
    N_("extra columns kept"), N_("rows kept for analysis"), N_("how"), N_("all seven"),
    N_("homes"), N_("why"), N_("all"), N_("coordinates file"), N_("in the extract"),
    N_("analysis"), N_("share %"), N_("present"), N_("missing"),
    N_("context carried along (not a model input)"),
    N_("km from the cardholder's home to where the purchase happened"),
    N_("km from the cardholder's previous purchase"),
    N_("purchase amount over the cardholder's median amount"),
    N_("1 when the merchant is one the cardholder has bought from before"),
    N_("1 when an EMV cryptogram was present (chip onsite, tokenized wallet online)"),
    N_("1 when the cardholder was verified (PIN onsite, one-time code online)"),
    N_("1 for an online (card-not-present) purchase, 0 for onsite"),
    N_("1 when the purchase was confirmed fraudulent"),
    N_("the purchase's id in the core system (joins the provider's coordinates)"),
    N_("date and time of the purchase"), N_("the card used"),
    N_("the merchant (shop or online store) paid"), N_("onsite or online, in the bank's code"),
    N_("purchase amount"), N_("the city of the purchase"),
    N_("where the purchase happened, degrees north"),
    N_("where the purchase happened, degrees east"),
    N_("the cardholder's home, degrees north (simulated data)"),
    N_("the cardholder's home, degrees east (simulated data)"),
    N_("read from the extract (load.source is not raw)"), N_("not used (load.source is not raw)"),
    N_("none (load.coordinates_path is not set)"),
    N_("used for joining the geolocation provider's coordinates (load.coordinates_path)"),
    N_("used for the common-point-of-purchase analysis and the cards at risk"),
    N_("used for the common-point-of-purchase analysis (the suspected merchants)"),
    N_("used for costs in money: each missed fraud costs its amount"),
    N_("used for maps, hot spots and the georeferencing exports"),
    N_("used for city names in the hot-spot tables"),
    N_("used for the time split, daily figures, alerts per day and the monitoring window"),
    # data.raw_source: the raw path's derivation and homes tables
    N_("derived"), N_("absent"), N_("homes from"), N_("cards in the purchases"),
    N_("cards without a home (distance from home unknown)"), N_("purchases without a home"),
    N_("homes placed by city or postal code"), N_("places not in the city table"),
    N_("order of each card's purchases"),
    # data.context.context_columns_table: what a missing context column turns off
    N_("turned off: no coordinates can be joined from a provider's file"),
    N_("turned off: stratified split instead of a time split; no daily figures; no monitoring "
       "window of the latest days (monitoring compares the test rows, or "
       "monitoring.current_path)"),
    N_("turned off: no common-point-of-purchase analysis (suspected compromised points) and no "
       "list of cards at risk"),
    N_("turned off: no common-point-of-purchase analysis (suspected compromised points)"),
    N_("turned off: a missed fraud costs modeling.cost_missed_fraud, whatever its amount"),
    N_("turned off: no maps, no hot spots, no GeoJSON exports (the distance-from-home analysis "
       "stays)"),
    N_("turned off: places are named by their coordinates instead of their city"),
)

EDA_WORDS = (
    N_("median"), N_("mean"), N_("max"), N_("skewness"), N_("kurtosis"),
    N_("purchases beyond p99.9"), N_("flag"), N_("95% CI low"), N_("95% CI high"), N_("chip"),
    N_("band"), N_("from km"), N_("to km"), N_("repeat retailer"), N_("chip used"),
    N_("PIN used"), N_("online order"), N_("unknown"), N_("coordinates"), N_("timestamps"),
)

CHANNEL_SIMULATION_WORDS = (
    N_("stage"), N_("expected frauds"), N_("rule"), N_("fraud rate with"), N_("95% CI with"),
    N_("fraud rate without"), N_("95% CI without"), N_("frauds without it"),
    N_("share of channel fraud met"), N_("share of all fraud met"),
    N_("share of legitimate challenged"), N_("validated onsite"), N_("validated online"),
    N_("fraudulent onsite"), N_("fraudulent online"), N_("all channels"),
    N_("chip and PIN mandatory"), N_("PIN mandatory"),
)

GEOREFERENCING_WORDS = (
    N_("outside the country"),
)

MODELING_WORDS = (
    N_("transactions"), N_("fraud rate %"), N_("first day"), N_("last day"), N_("set"),
    N_("settings"), N_("kept"), N_("yes, best"), N_("training rows fitted on"),
    N_("false negatives"), N_("false positives"), N_("accuracy"), N_("MLflow run id"),
    N_("chosen model"), N_("MLflow run"), N_("model URI"), N_("alert threshold"),
    N_("test PR-AUC (average_precision)"), N_("test recall / precision"),
    N_("training / test purchases"), N_("model inputs"), N_("left out (unknown)"),
    N_("test rows"), N_("fraud share in test"), N_("synthetic frauds in test"), N_("procedure"),
    N_("first: SMOTE on all rows, then split"), N_("honest: split first, test untouched"),
    N_("purchase"), N_("probability"), N_("reasons"), N_("recall at threshold"), N_("feature set"),
)

BACKTEST_WORDS = (
    N_("held-out test"), N_("both"), N_("any (stratified split)"), N_("std"),
)

# data keys (column names, metric names) in plain words, on a page in another language than
# English: tables keep their English columns, only the header (or a cell holding the key) changes
COLUMN_HEADERS = {
    # the purchases' columns
    "distance_from_home": N_("distance from home"),
    "distance_from_last_transaction": N_("distance from last purchase"),
    "ratio_to_median_purchase_price": N_("amount / cardholder's median amount"),
    "repeat_retailer": N_("repeat retailer"), "used_chip": N_("chip used"),
    "used_pin_number": N_("PIN used"), "online_order": N_("online order"),
    "transaction_id": N_("purchase id"), "timestamp": N_("date and time"),
    "card_id": N_("card"), "merchant_id": N_("merchant"), "amount": N_("amount"),
    "latitude": N_("latitude"), "longitude": N_("longitude"),
    "home_latitude": N_("home latitude"), "home_longitude": N_("home longitude"),
    "fraud_scenario": N_("fraud scenario"), "compromise_point_id": N_("compromise point"),
    "cash_out_area_id": N_("cash-out area"),
    "entry_mode": N_("card-read mode"), "verification": N_("verification method"),
    "category": N_("merchant category"), "home_city": N_("home city"),
    "home_postal_code": N_("home postal code"),
    # the card's history (modeling.history)
    "purchases_last_1h": N_("purchases in the last hour"),
    "purchases_last_24h": N_("purchases in the last 24 hours"),
    "purchases_last_7d": N_("purchases in the last 7 days"),
    "amount_to_card_mean_7d": N_("amount / card's 7-day mean"),
    "amount_to_card_mean_30d": N_("amount / card's 30-day mean"),
    "minutes_since_previous": N_("minutes since the previous purchase"),
    "speed_from_previous_kmh": N_("speed from the previous purchase (km/h)"),
    "first_purchase_at_merchant": N_("first purchase at this merchant"),
    "hour_of_day": N_("hour of day"),
    "merchant_fraud_rate_30d": N_("merchant's fraud rate over 30 days"),
    # georeferencing
    "fraud_rate": N_("fraud rate"), "rate_ci_low": N_("95% CI low"),
    "rate_ci_high": N_("95% CI high"), "hot_spot": N_("hot spot"),
    "expected_rate": N_("expected rate"), "p_value": N_("p-value"), "q_value": N_("q-value"),
    "suspected_point": N_("suspected point"), "window_start": N_("window start"),
    "window_end": N_("window end"), "cards_visited": N_("cards that visited"),
    "cards_defrauded": N_("cards defrauded later"),
    "expected_defrauded": N_("cards defrauded expected"), "cards_at_risk": N_("cards at risk"),
    "first_visit_in_window": N_("first visit in the window"),
    "last_visit_in_window": N_("last visit in the window"),
    # modeling: candidates, thresholds, test metrics
    "feature_set": N_("feature set"), "base+history": N_("base + history"),
    "cv_average_precision": N_("cross-validated PR-AUC"),
    "cv_average_precision_std": N_("std of the cross-validated PR-AUC"),
    "cv_roc_auc": N_("cross-validated ROC-AUC"),
    "cv_roc_auc_std": N_("std of the cross-validated ROC-AUC"),
    "fit_seconds": N_("seconds to fit"), "fit_rows": N_("training rows fitted on"),
    "threshold_target_recall": N_("threshold for the target recall"),
    "validation_rows": N_("validation purchases"), "validation_alerts": N_("validation alerts"),
    "validation_recall": N_("recall in validation"),
    "validation_precision": N_("precision in validation"),
    "validation_cost_per_1000": N_("validation cost per 1,000 purchases"),
    "average_precision": N_("PR-AUC"), "roc_auc": N_("ROC-AUC"), "accuracy": N_("accuracy"),
    "precision_at_budget": N_("precision at the alert budget"),
    "recall_at_budget": N_("recall at the alert budget"),
    "card_precision_at_k": N_("card precision@k"), "alerts_per_day": N_("alerts per day"),
    "alerts_at_budget": N_("alerts at the budget"),
    "expected_cost_per_1000": N_("expected cost per 1,000 purchases"),
    "f1": N_("F1"), "tp": N_("true positives"), "tn": N_("true negatives"),
    "fp": N_("false positives"), "fn": N_("false negatives"), "rows": N_("purchases"),
    "pr_auc_drop": N_("drop in PR-AUC"), "pr_auc_drop_std": N_("std of the drop in PR-AUC"),
    # the backtest
    "test_start": N_("first test day"), "test_last_day": N_("last test day"),
    "train_last_day": N_("last training day"), "period": N_("period"),
    "train_start": N_("first training day"), "train_rows": N_("training purchases"),
    "train_frauds": N_("training frauds"), "test_rows": N_("test purchases"),
    "test_frauds": N_("test frauds"), "window": N_("window"),
    # registry
    "data_fingerprint": N_("data fingerprint"), "data_rows": N_("data rows"),
    "data_source": N_("data source"), "model_inputs": N_("model inputs"),
    "report_run_id": N_("report run id"), "run_id": N_("run id"),
    "selection_metric": N_("selection metric"), "threshold_rule": N_("threshold rule"),
    "modeling_probability": N_("probability at modeling"),
    "registered_probability": N_("probability of the registered model"),
    "model_name": N_("model name"), "model_uri": N_("model URI"),
    "champion_uri": N_("champion URI"), "champion_version": N_("champion version"),
    "champion_since": N_("champion since"), "newly_registered": N_("newly registered"),
    "promotion_pending": N_("promotion pending"), "decided_at": N_("decided at"),
    "promoted": N_("promoted"), "reason": N_("reason"),
    "candidate_score": N_("candidate's score"), "champion_score": N_("champion's score"),
    "previous_champion_version": N_("previous champion version"),
    "scorer_uri": N_("scorer URI"), "tracking_uri": N_("MLflow tracking URI"),
    "checked_rows": N_("purchases checked"),
    "max_score_difference": N_("largest score difference"),
    # monitoring
    "psi": N_("PSI"), "js_distance": N_("Jensen-Shannon distance"),
    "unknown_reference": N_("unknown in the reference"),
    "unknown_current": N_("unknown now"), "monitored_at": N_("monitored at"),
    "current_start": N_("current period start"), "current_end": N_("current period end"),
    "current_rows": N_("current purchases"), "reference_rows": N_("reference purchases"),
    "overall_status": N_("overall status"), "action": N_("action"),
    "max_feature_psi": N_("largest feature PSI"),
    "max_psi_feature": N_("feature with the largest PSI"),
    "score_psi": N_("champion score PSI"), "score_status": N_("score status"),
    "pr_auc_now": N_("PR-AUC now"), "recall_now": N_("recall now"),
    "pr_auc_at_training": N_("PR-AUC at training"), "recall_at_training": N_("recall at training"),
    "drifted_features": N_("drifted features"),
}
# a key made of a prefix and another key: "test_recall", "tag: feature_set"
KEY_PREFIXES = {"test_": N_("test {name}"), "tag: ": N_("tag: {name}")}

# the candidates' names (model keys are "<candidate>" and "<candidate>+history")
CANDIDATE_NAMES = {
    "logistic_regression": N_("logistic regression"), "decision_tree": N_("decision tree"),
    "hist_gradient_boosting": N_("hist gradient boosting"),
    "random_forest": N_("random forest"),
}
MODEL_WITH_HISTORY = N_("{model} + history")

REGISTRY_WORDS = (
    N_("simulated"), N_("file"),  # the data's source in the version's description
    N_("field"), N_("registered model"), N_("newly registered"), N_("scorer"), N_("description"),
    N_("champion after this run"), N_("role"), N_("row"), N_("decision"), N_("difference"),
    N_("aliases"), N_("registered"), N_("data"),
    N_("challenger, champion when this run publishes"), N_("champion"), N_("challenger"),
)

MONITORING_WORDS = (
    N_("drift"), N_("at training"), N_("now"), N_("change"), N_("statistic"),
    N_("PR-AUC (average precision)"), N_("continuous (median)"), N_("flag (share of 1)"),
    N_("chi-square"), N_("ok"), N_("watch"), N_("alert"),
    # the monitoring log's actions (monitoring.status.recommendation)
    N_("retrain"), N_("investigate"), N_("check_data_feed"),
)
