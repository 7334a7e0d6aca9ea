"""Modeling: which model flags fraud best at the lowest expected cost.

Answers: how do the candidates compare in cross-validation and on the held-out test set, on the
base inputs and with the card's history, and at which threshold? Reads
``artifacts/transactions.parquet``. Writes ``artifacts/split.parquet``,
``artifacts/test_predictions.parquet``, ``artifacts/history_features.parquet``, the modeling
step's results, figures and the MLflow runs.
"""
