"""The words the pages' tables show, per step: headers, row labels and values.

Tables are built with English headers and words (some are data keys); on a page they pass
through :func:`cardfraud.report.markup.html_table` or, shown as a cell's result, through the
DataFrame display :func:`cardfraud.report.translate.use_language` sets, which translate every
header and word found in the catalogue. Listing them here marks them for the catalogue
(``python -m cardfraud translations --check``); snake_case data keys (``fraud_rate``,
``cv_average_precision``) stay English on purpose. A new plain-language header or word of a
table goes here and in ``translations/es/strings.yaml``.
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

# the backtest table's data keys in plain words on a page in another language than English
BACKTEST_HEADERS = {
    "test_start": N_("first test day"), "test_last_day": N_("last test day"),
    "train_last_day": N_("last training day"), "period": N_("period"),
    "train_start": N_("first training day"), "train_rows": N_("training purchases"),
    "train_frauds": N_("training frauds"), "test_rows": N_("test purchases"),
    "test_frauds": N_("test frauds"), "average_precision": N_("PR-AUC"),
    "roc_auc": N_("ROC-AUC"), "precision_at_budget": N_("precision at the alert budget"),
    "recall_at_budget": N_("recall at the alert budget"),
    "card_precision_at_k": N_("card precision@k"), "window": N_("window"),
}

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
)
