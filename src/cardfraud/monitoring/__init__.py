"""Monitoring: has the data drifted and does the champion still hold?

Answers: do recent purchases differ from the training data, and how does the champion score on
them? Reads ``artifacts/transactions.parquet``, ``artifacts/split.parquet``,
``artifacts/history_features.parquet`` (when the modeling step handed it on) and the registry.
Writes the monitoring step's results, figures and the monitoring log.
"""
