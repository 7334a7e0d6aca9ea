"""The columns of a transaction: the seven model inputs, the target, the context columns of
simulated data, and the compact types every step stores them in.

Real extracts (card_transdata) have only the 8 columns :data:`REQUIRED_COLUMNS`; simulated ones
also carry time, place, amount and scenario, so steps check a context column is present first.
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
COORDINATES = ["purchase_lat", "purchase_lon", "home_lat", "home_lon"]
# optional columns the analysis uses when an extract has them: checked like the required ones
CONTEXT_NUMBERS = ["amount", *COORDINATES]
CONTEXT_COLUMNS = ["timestamp", *CONTEXT_NUMBERS, "city"]


def compact_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    """Store flags as int8 and repeated text as categories; keep distances as float64."""
    for column in FLAG_FEATURES + [TARGET]:
        if column in frame.columns:
            frame[column] = frame[column].astype("int8")
    for column in frame.columns:
        if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
            if frame[column].nunique(dropna=True) <= max(50, len(frame) // 20):
                frame[column] = frame[column].astype("category")
    return frame


def model_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Return the seven model inputs as float64, the schema the registered model expects."""
    return frame[FEATURES].astype("float64")
