"""The built-in simulator: transactions of a synthetic bank with known fraud.

Answers: what would a month of card purchases look like, with which fraud scenarios? Reads only
its knobs (``params/*.yaml`` section ``load.simulator`` or the ``simulate`` command's options).
Writes a DataFrame (or a CSV/Parquet file from the command line, or for data larger than memory a
directory of Parquet partitioned by purchase date, written in chunks by ``chunked``); ``realism``
checks it against the public card_transdata table.
"""
