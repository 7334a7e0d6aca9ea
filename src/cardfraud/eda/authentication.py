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
    known = known_channel_chip_pin(transactions.columns)
    code = np.zeros(len(transactions), dtype=np.int64)
    for column in known:
        code = code * 2 + transactions[column].to_numpy().astype(np.int64)
    cells = 2 ** len(known)
    purchases = np.bincount(code, minlength=cells)
    frauds = np.bincount(code, weights=transactions[TARGET].to_numpy(), minlength=cells)
    return channel_chip_pin_table(known, purchases, frauds)


def known_channel_chip_pin(columns) -> list[str]:
    """Return the channel, chip and PIN columns the extract gives (the order cells are coded in)."""
    return [column for column, _words in _CHANNEL_CHIP_PIN.values() if column in set(columns)]


def channel_chip_pin_table(known: list[str], purchases, frauds) -> pd.DataFrame:
    """Return the channel x chip x PIN table from counts per cell.

    Args:
        known: the columns the cells are coded on (:func:`known_channel_chip_pin`); cell
            ``code`` has the first column's value in its highest bit.
        purchases, frauds: counts per cell code, ``2 ** len(known)`` of each.
    """
    cells = np.arange(2 ** len(known))
    table = {}
    for name, (column, _words) in _CHANNEL_CHIP_PIN.items():
        table[name] = unknown_input_text(column)
    for position, column in enumerate(known):
        name, words = next((n, w) for n, (c, w) in _CHANNEL_CHIP_PIN.items() if c == column)
        bit = (cells >> (len(known) - 1 - position)) & 1
        table[name] = np.where(bit == 1, words[1], words[0])
    table = pd.DataFrame({**table, "purchases": purchases, "frauds": frauds}, index=cells)
    return with_fraud_rates(table.reset_index(drop=True))
