"""Modeling: which model flags fraud best at the lowest expected cost.

Answers: how do the candidates compare in cross-validation and on the held-out test set, on the
base inputs and with the card's history, at which threshold, and why does the chosen model flag
a purchase? Does it hold over time (weekly backtest, bootstrap intervals, card precision@k per
day)? Reads ``artifacts/transactions.parquet``. Writes ``artifacts/split.parquet``,
``artifacts/test_predictions.parquet``, ``artifacts/history_features.parquet``, the modeling
step's results, figures and the MLflow runs.
"""
