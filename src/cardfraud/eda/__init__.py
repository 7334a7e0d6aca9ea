"""Exploratory analysis: where, when and on which features fraud concentrates.

Answers: what is the fraud rate, which features separate fraud from legitimate purchases, which
places and hours carry most fraud? Reads ``artifacts/transactions.parquet``. Writes the eda
step's results and its figures under ``artifacts/figures``.
"""
