"""The bank's codes for how a card was read, how the cardholder was verified and the channel.

A raw extract carries these in the bank's own codes (``load.codes`` maps them to meanings):

- ``entry_mode`` (card read): ``chip``, ``contactless``, ``wallet_token``, ``stripe``, ``keyed``
  or ``ecommerce``. The defaults are the ISO 8583 POS entry mode codes (field 22, first two
  digits): 05 chip, 07 contactless, 09 e-commerce with a token cryptogram (a wallet), 90 and 80
  stripe (80: chip fallback), 01 keyed, 81 e-commerce.
- ``verification``: ``pin``, ``otp_3ds`` (one-time code or 3-D Secure), ``signature`` or
  ``none``; default: those words.
- ``channel``: ``onsite`` or ``online``; default: those words.
- ``online_category_suffix``: online purchases told by the merchant category's name instead
  (e.g. ``_net`` for ``shopping_net``, as in public synthetic card datasets); null = not used.

Giving a column's table in ``load.codes`` replaces its defaults. Codes are compared as text
without surrounding spaces and case, and ``05`` equals ``5`` (a CSV reader drops the zero). A
code the table lacks is refused in one line naming the column, the code and how many rows
carry it; an empty code leaves the input unknown for that row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .checks import DataValidationError, rows_text
from .schema import CATEGORY, CHANNEL, ENTRY_MODE, VERIFICATION

ONLINE_CATEGORY_SUFFIX = "online_category_suffix"
MEANINGS = {
    ENTRY_MODE: ("chip", "contactless", "wallet_token", "stripe", "keyed", "ecommerce"),
    VERIFICATION: ("pin", "otp_3ds", "signature", "none"),
    CHANNEL: ("onsite", "online"),
}
DEFAULT_CODES = {
    ENTRY_MODE: {"05": "chip", "07": "contactless", "09": "wallet_token", "90": "stripe",
                 "80": "stripe", "01": "keyed", "81": "ecommerce"},
    VERIFICATION: {word: word for word in MEANINGS[VERIFICATION]},
    CHANNEL: {word: word for word in MEANINGS[CHANNEL]},
}
# the meanings that set each flag input to 1 (the others set it to 0)
FLAG_MEANINGS = {
    "used_chip": (ENTRY_MODE, ("chip", "contactless", "wallet_token")),
    "used_pin_number": (VERIFICATION, ("pin", "otp_3ds")),
    "online_order": (CHANNEL, ("online",)),
}
RAW_CODE_COLUMNS = [ENTRY_MODE, VERIFICATION, CHANNEL, CATEGORY]


def code_key(code) -> str:
    """Return the form codes are compared in: stripped, lower case, ``05`` and ``5`` alike."""
    if isinstance(code, (int, np.integer)) and not isinstance(code, bool):
        return str(int(code))
    if isinstance(code, (float, np.floating)) and float(code).is_integer():
        return str(int(code))
    text = str(code).strip().lower()
    return str(int(text)) if text.isdigit() else text


def codes_problem(codes) -> str | None:
    """Return the sentence saying what is wrong with ``load.codes``, or None when it is usable."""
    if not isinstance(codes, dict):
        return f"load.codes is {codes!r}; give a mapping {{column: {{code: meaning}}}}"
    for column, table in codes.items():
        if column == ONLINE_CATEGORY_SUFFIX:
            if table is not None and not (isinstance(table, str) and table.strip()):
                return f"load.codes.{column} is {table!r}; give text such as '_net' or null"
            continue
        if column not in MEANINGS:
            return (f"load.codes names {column!r}; columns with codes: "
                    f"{', '.join(MEANINGS)} (and {ONLINE_CATEGORY_SUFFIX})")
        if not isinstance(table, dict) or not table:
            return f"load.codes.{column} is {table!r}; give a mapping {{code: meaning}}"
        seen = {}
        for code, meaning in table.items():
            if meaning not in MEANINGS[column]:
                return (f"load.codes.{column} maps {code!r} to {meaning!r}; meanings: "
                        f"{', '.join(MEANINGS[column])}")
            key = code_key(code)
            if seen.get(key, meaning) != meaning:
                return (f"load.codes.{column} maps {code!r} to {meaning!r} and to "
                        f"{seen[key]!r} (codes compared without case and leading zeros)")
            seen[key] = meaning
    return None


def code_tables(codes: dict | None) -> dict[str, dict[str, str]]:
    """Return each code column's table (``code_key`` -> meaning): the defaults, or the user's."""
    codes = codes or {}
    problem = codes_problem(codes)
    if problem:
        raise DataValidationError(problem)
    tables = {}
    for column, default in DEFAULT_CODES.items():
        table = codes.get(column) or default
        tables[column] = {code_key(code): meaning for code, meaning in table.items()}
    return tables


def decode(series: pd.Series, table: dict[str, str], source: str) -> pd.Series:
    """Return the meaning of each code (None where the code is empty); refuse unknown codes."""
    values = series.astype(series.cat.categories.dtype) if isinstance(
        series.dtype, pd.CategoricalDtype) else series
    categories, position = pd.factorize(values, use_na_sentinel=True)
    keys = [code_key(code) for code in position]
    unknown = [i for i, key in enumerate(keys) if key not in table]
    if unknown:
        counts = np.bincount(categories[categories >= 0], minlength=len(keys))
        worst = max(unknown, key=lambda i: counts[i])
        rows = series.index.to_numpy()[categories == worst]  # the file's row positions
        others = len(unknown) - 1
        raise DataValidationError(
            f"{source}: column '{series.name}' has the code {_shown(position[worst])} on "
            f"{counts[worst]:,} row{'s' if counts[worst] > 1 else ''} ({rows_text(rows)}), "
            f"which load.codes.{series.name} does not map"
            + (f" ({others} other unknown code{'s' if others > 1 else ''})" if others else "")
            + f"; map it to one of {', '.join(MEANINGS[str(series.name)])}")
    meanings = np.array([table[key] for key in keys] + [None], dtype=object)
    return pd.Series(meanings[categories], index=series.index, name=series.name)


def _shown(code) -> str:
    """A code as the user reads it: numbers plainly (6, not np.int64(6)), text quoted."""
    if isinstance(code, (int, float, np.integer, np.floating)) and not isinstance(code, bool):
        return code_key(code) if float(code).is_integer() else f"{float(code):g}"
    return repr(str(code))


def flag_from_codes(meanings: pd.Series, ones: tuple[str, ...]) -> np.ndarray:
    """Return 1.0 where the meaning is among ``ones``, 0.0 elsewhere, NaN where it is unknown."""
    flag = meanings.isin(ones).to_numpy(dtype="float64")
    flag[meanings.isna().to_numpy()] = np.nan
    return flag


def online_from_category(categories: pd.Series, suffix: str) -> np.ndarray:
    """Return 1.0 for categories ending in ``suffix`` (e.g. ``shopping_net``), NaN for empty ones."""
    text = categories.astype("string").str.strip().str.lower()
    flag = text.str.endswith(suffix.strip().lower()).to_numpy(dtype="float64", na_value=np.nan)
    return flag
