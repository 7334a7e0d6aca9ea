"""Channel simulation: how purchases flow through the channels and where fraud gets through.

Answers: how many purchases reach each stage of each channel, and with what fraud rate and
interval? Reads ``artifacts/transactions.parquet``. Writes the channel_simulation step's results
and figures.
"""
