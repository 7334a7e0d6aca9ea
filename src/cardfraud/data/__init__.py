"""The data stage: which columns a transaction has and whether an extract can be trusted.

Answers: is this extract (CSV or Parquet, real or simulated) complete and well-formed, what
does it hold, and which analyses do its context columns allow? Reads the user's extract file
(its headers mapped by ``load.columns``) and the geolocation provider's coordinates file
(``load.coordinates_path``, joined on ``transaction_id``). Writes
``artifacts/transactions.parquet`` and the load step's results (profile, cleaning report,
fingerprint, the coordinates join's counts, the context columns) for every later step.
"""
