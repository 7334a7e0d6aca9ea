"""The data stage: which columns a transaction has and whether an extract can be trusted.

Answers: is this extract (CSV or Parquet, real or simulated) complete and well-formed, and what
does it hold? Reads the user's extract file. Writes ``artifacts/transactions.parquet`` and the
load step's results (profile, cleaning report, fingerprint) for every later step.
"""
