"""Monitoring: has the data drifted and does the champion still hold?

Answers: do recent purchases differ from the training data, and how does the champion score on
them? Reads ``artifacts/transactions.parquet``, ``artifacts/split.parquet`` and the registry.
Writes the monitoring step's results, figures and the monitoring log.
"""
