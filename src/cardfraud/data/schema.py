"""The columns of a transaction: the seven model inputs, the target, the optional context
columns, and the compact types every step stores them in.

Real extracts (card_transdata) have only the 8 columns :data:`REQUIRED_COLUMNS`; the bank's
extracts and simulated ones also carry some of :data:`CONTEXT_COLUMNS` (time, card, merchant,
amount, place), so steps check a context column is present first.
"""

from __future__ import annotations

import pandas as pd

CONTINUOUS_FEATURES = [
    "distance_from_home",
    "distance_from_last_transaction",
    "ratio_to_median_purchase_price",
]
FLAG_FEATURES = ["repeat_retailer", "used_chip", "used_pin_number", "online_order"]
FEATURES = CONTINUOUS_FEATURES + FLAG_FEATURES
TARGET = "fraud"
REQUIRED_COLUMNS = FEATURES + [TARGET]
# The optional context columns any extract may carry, under these names (load.columns maps a
# bank's own headers to them); the simulator writes them too. Each later analysis checks the
# ones it needs are present.
TRANSACTION_ID = "transaction_id"
TIMESTAMP = "timestamp"
CARD_ID = "card_id"
MERCHANT_ID = "merchant_id"
AMOUNT = "amount"
LATITUDE = "latitude"  # where the purchase happened (degrees)
LONGITUDE = "longitude"
CITY = "city"
CONTEXT_COLUMNS = [TRANSACTION_ID, TIMESTAMP, CARD_ID, MERCHANT_ID, AMOUNT, LATITUDE, LONGITUDE,
                   CITY]
HOME_COORDINATES = ["home_latitude", "home_longitude"]  # the cardholder's home (simulated data)
# the columns of a bank's raw extract the seven inputs are derived from (data/raw.py): how the
# card was read, how the cardholder was verified, the channel, the merchant's category (in the
# bank's codes, data/codes.py), and a home given as a city or postal code (data/cardholders.py)
ENTRY_MODE, VERIFICATION, CHANNEL, CATEGORY = "entry_mode", "verification", "channel", "category"
HOME_CITY, HOME_POSTAL_CODE = "home_city", "home_postal_code"
RAW_COLUMNS = [ENTRY_MODE, VERIFICATION, CHANNEL, CATEGORY, HOME_CITY, HOME_POSTAL_CODE]
COORDINATES = [LATITUDE, LONGITUDE, *HOME_COORDINATES]
# context numbers read and range-checked like the model inputs
CONTEXT_NUMBERS = [AMOUNT, *COORDINATES]
# context columns whose missing values make a purchase unusable (dropped or refused, like the
# required ones): amounts for costs, times for the split, places for the distances
CHECKED_CONTEXT = [TIMESTAMP, *CONTEXT_NUMBERS]


def compact_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    """Store flags as int8 and repeated text as categories; keep distances as float64.

    A flag with unknown (NaN) values, which a raw extract can leave, stays float64.
    """
    for column in FLAG_FEATURES + [TARGET]:
        if column in frame.columns and not frame[column].isna().any():
            frame[column] = frame[column].astype("int8")
    for column in frame.columns:
        if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
            if frame[column].nunique(dropna=True) <= max(50, len(frame) // 20):
                frame[column] = frame[column].astype("category")
    return frame


def available_inputs(columns) -> list[str]:
    """Return the model inputs an extract gives (in the order of :data:`FEATURES`).

    ``columns``: a frame or its column names. An extract that cannot give an input (a raw
    extract without a verification field has no ``used_pin_number``) lacks its column: the
    input is unknown, never filled in.
    """
    present = set(map(str, getattr(columns, "columns", columns)))
    return [name for name in FEATURES if name in present]


def unknown_inputs(columns) -> list[str]:
    """Return the model inputs the extract cannot give (the complement of available_inputs)."""
    available = available_inputs(columns)
    return [name for name in FEATURES if name not in available]


def inputs_record(columns) -> dict[str, list[str]]:
    """The load results' ``inputs_available`` and ``inputs_unknown`` (every path sets them)."""
    return {"inputs_available": available_inputs(columns),
            "inputs_unknown": unknown_inputs(columns)}


def unknown_input_text(name: str) -> str:
    """What a page shows instead of a figure or a number for an input the extract lacks."""
    from ..report.translate import _

    return _("unknown: the extract has no {name}").format(name=name)


def model_features(frame: pd.DataFrame, inputs: list[str] | None = None) -> pd.DataFrame:
    """Return the model inputs as float64, the schema the registered model expects.

    ``inputs``: the model's inputs (a registered model's own list); None = every input the
    frame gives (:func:`available_inputs`).
    """
    return frame[available_inputs(frame) if inputs is None else list(inputs)].astype("float64")
