"""The suspected points and the cards at risk on Spark, as :mod:`cardfraud.geo.suspects`.

From :mod:`.spark_cpp`'s analysis: each suspect's place is the pandas median of its genuine
purchases, computed per merchant on the executors (only the suspects' places reach the
driver); the cards at risk are the rows the analysis collected, the export.
"""

from __future__ import annotations

import pandas as pd

from ..data.schema import TARGET
from ..geo.suspects import SUSPECT_COLUMNS, merchant_places, points_table


def _places_of_group(group: pd.DataFrame) -> pd.DataFrame:
    """Return one merchant's place (``merchant_places``) from its genuine purchases."""
    places = merchant_places(group, group["merchant_id"].unique())
    places = places.reset_index(names="merchant_id")[
        ["merchant_id", "onsite_share", "kind", "longitude", "latitude", "city"]]
    # object, not pandas' Arrow-backed text, which Spark's Arrow writer refuses
    return places.astype({"kind": object, "city": object})


def suspected_points(frame, cpp: dict, boundaries) -> pd.DataFrame:
    """Return the suspected points (``geo.suspects.suspected_points``) from Spark."""
    from pyspark.sql import functions as F

    if not len(cpp["suspects"]):
        return pd.DataFrame(columns=SUSPECT_COLUMNS)
    merchant_ids = cpp["merchant_ids"][cpp["suspects"]]
    keep = [c for c in ("merchant_id", "longitude", "latitude", "online_order", "city", TARGET)
            if c in frame.columns]
    chosen = frame.filter(F.col("merchant_id").isin(merchant_ids.tolist())
                          & (F.col(TARGET) == 0)).select(*keep)
    if "city" in chosen.columns:
        chosen = chosen.withColumn("city", F.col("city").cast("string"))
    id_type = dict(chosen.dtypes)["merchant_id"]
    schema = (f"merchant_id {id_type}, onsite_share double, kind string, longitude double, "
              "latitude double, city string")
    places = chosen.groupBy("merchant_id").applyInPandas(_places_of_group, schema).toPandas()
    places = places.set_index("merchant_id").reindex(merchant_ids)
    return points_table(cpp, places, cpp["visit_counts"], boundaries)


def cards_at_risk(cpp: dict, points: pd.DataFrame) -> pd.DataFrame:
    """Return the cards at risk (``geo.suspects.cards_at_risk``): from the collected rows."""
    from ..geo.suspects import cards_at_risk as at_risk_table

    return at_risk_table(cpp, points)
