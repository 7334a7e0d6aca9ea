"""Which analyses the extract's context columns allow, and which a missing one turns off.

The eight required columns are enough for the model; everything else the report shows
(the time split, daily figures, maps, hot spots, common point of purchase, costs in pesos)
needs a context column of :data:`cardfraud.data.schema.CONTEXT_COLUMNS`. The load page and the
load step's results list, for each one, whether the extract has it and what is lost without it.
"""

from __future__ import annotations

import pandas as pd

from .schema import (
    AMOUNT,
    CARD_ID,
    CITY,
    CONTEXT_COLUMNS,
    FEATURES,
    LATITUDE,
    LONGITUDE,
    MERCHANT_ID,
    TIMESTAMP,
    TRANSACTION_ID,
    unknown_input_text,
    unknown_inputs,
)

# what each context column is used for, and what a run without it does instead
CONTEXT_USES = {
    TRANSACTION_ID: ("joining the geolocation provider's coordinates (load.coordinates_path)",
                     "no coordinates can be joined from a provider's file"),
    TIMESTAMP: ("the time split, daily figures, alerts per day and the monitoring window",
                "stratified split instead of a time split; no daily figures; no monitoring "
                "window of the latest days (monitoring compares the test rows, or "
                "monitoring.current_path)"),
    CARD_ID: ("the common-point-of-purchase analysis and the cards at risk",
              "no common-point-of-purchase analysis (suspected compromised points) and no "
              "list of cards at risk"),
    MERCHANT_ID: ("the common-point-of-purchase analysis (the suspected merchants)",
                  "no common-point-of-purchase analysis (suspected compromised points)"),
    AMOUNT: ("costs in money: each missed fraud costs its amount",
             "a missed fraud costs modeling.cost_missed_fraud, whatever its amount"),
    LATITUDE: ("maps, hot spots and the georeferencing exports",
               "no maps, no hot spots, no GeoJSON exports (the distance-from-home analysis "
               "stays)"),
    LONGITUDE: ("maps, hot spots and the georeferencing exports",
                "no maps, no hot spots, no GeoJSON exports (the distance-from-home analysis "
                "stays)"),
    CITY: ("city names in the hot-spot tables",
           "places are named by their coordinates instead of their city"),
}


def context_columns_report(columns) -> dict:
    """Return ``{present: [...], missing: {column: what its absence turns off}}``."""
    columns = set(map(str, columns))
    return {"present": [c for c in CONTEXT_COLUMNS if c in columns],
            "missing": {c: CONTEXT_USES[c][1] for c in CONTEXT_COLUMNS if c not in columns}}


def context_columns_table(columns) -> pd.DataFrame:
    """Return one row per context column: present or missing, and what it allows or turns off."""
    columns = set(map(str, columns))
    rows = [(column, "present" if column in columns else "missing",
             f"used for {uses}" if column in columns else f"turned off: {without}")
            for column, (uses, without) in CONTEXT_USES.items()]
    return pd.DataFrame(rows, columns=["column", "in the extract", "analysis"]).set_index("column")


def model_inputs_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Return one row per model input: given by the extract, or unknown (never invented)."""
    unknown = set(unknown_inputs(list(frame.columns)))
    return pd.DataFrame(
        [(name, unknown_input_text(name) if name in unknown else "in the extract")
         for name in FEATURES], columns=["input", "status"]).set_index("input")
