"""Fraud rate by channel, chip and PIN: the authentication the bank's channels rely on.

A column whose input the extract lacks (a raw extract without entry mode or verification)
says "unknown: the extract has no ..." in every row; the purchases are not split on it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.schema import TARGET, unknown_input_text
from .headlines import with_fraud_rates

_CHANNEL_CHIP_PIN = {"channel": ("online_order", ("onsite", "online")),
                     "chip": ("used_chip", ("no", "yes")), "PIN": ("used_pin_number", ("no", "yes"))}


def fraud_rate_by_channel_chip_pin(transactions: pd.DataFrame) -> pd.DataFrame:
    """Return purchases, frauds and fraud rate (95 % CI) per channel x chip x PIN.

    A column whose input the extract lacks says so in every row (its cells are not split):
    e.g. ``unknown: the extract has no used_chip``.
    """
    known = [(name, column, words) for name, (column, words) in _CHANNEL_CHIP_PIN.items()
             if column in transactions]
    code = np.zeros(len(transactions), dtype=np.int64)
    for _, column, _ in known:
        code = code * 2 + transactions[column].to_numpy().astype(np.int64)
    cells = np.arange(2 ** len(known))
    purchases = np.bincount(code, minlength=len(cells))
    frauds = np.bincount(code, weights=transactions[TARGET].to_numpy(), minlength=len(cells))
    table = {}
    for name, (column, _) in _CHANNEL_CHIP_PIN.items():
        table[name] = unknown_input_text(column)
    for position, (name, _, words) in enumerate(known):
        bit = (cells >> (len(known) - 1 - position)) & 1
        table[name] = np.where(bit == 1, words[1], words[0])
    table = pd.DataFrame({**table, "purchases": purchases, "frauds": frauds}, index=cells)
    return with_fraud_rates(table.reset_index(drop=True))
