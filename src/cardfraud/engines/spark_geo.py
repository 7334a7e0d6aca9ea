"""The georeferencing step's data-bound work on Spark: the same tables as :mod:`cardfraud.geo`.

``analyse``, ``scope_text`` and ``purchase_grid`` have the names, arguments and results of the
pandas functions (``geo.step.analyse``, ``geo.step.scope_text``, ``geo.maps.purchase_grid``);
``geo.page.run_georeferencing`` picks them when handed a Spark DataFrame. Nothing collects the
purchases: each purchase's department is found on the executors (``mapInPandas`` with the
boundaries shipped to them, the pandas point-in-polygon), then purchases and frauds are
counted per department, per hot-spot cell and per map cell; the statistics (Wilson intervals,
binomial tests, Benjamini-Hochberg) run on the driver over those per-cell tables, with the
pandas code. The common point of purchase is :mod:`.spark_cpp` and :mod:`.spark_suspects`.

Counts, tests and q-values equal pandas; a hot spot's position (mean of its frauds' coordinates)
is a sum in another order, equal to about 1e-12 degrees. A cell's department and city are its
most frequent ones; pandas breaks a tie by the label met first in the rows' order, Spark by the
smallest ``transaction_id`` carrying it (the same when the rows are in id order), or
alphabetically without that column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.schema import TARGET, TRANSACTION_ID
from ..geo.boundaries import Boundaries, department_index, department_names
from ..geo.hot_spots import (
    HOT_SPOT_COLUMNS,
    cell_size_degrees,
    department_table,
    hot_spots_of_cells,
    tested_cells,
)
from ..geo.maps import grid_from_cells, grid_shape
from ..geo.step import COORDINATES, missing_columns, scope_sentences
from ..geo.suspects import AT_RISK_COLUMNS, SUSPECT_COLUMNS

CELL_OFFSET = 2**20  # as geo.hot_spots.cell_of_purchases: column and row from the corner


def located(frame):
    """Return the Spark condition: the purchase has both coordinates (not null, not NaN)."""
    from pyspark.sql import functions as F

    condition = F.lit(True)
    for column in COORDINATES:
        condition = condition & F.col(column).isNotNull() & ~F.isnan(F.col(column))
    return condition


def scope_text(frame) -> str:
    """Return what this data allows (``geo.step.scope_text``), counted on Spark."""
    from pyspark.sql import functions as F

    missing = missing_columns(frame)
    if missing["maps"]:
        return scope_sentences(frame.count(), missing, 0)
    row = frame.agg(F.count(F.lit(1)).alias("rows"),
                    F.count(F.when(~located(frame), 1)).alias("unlocated")).first()
    return scope_sentences(int(row["rows"]), missing, int(row["unlocated"]))


def _department_of_batches(boundaries: Boundaries):
    """Return the mapInPandas function adding each purchase's department index."""
    def add_department(batches):
        for batch in batches:
            yield batch.assign(department=department_index(
                boundaries, batch["longitude"], batch["latitude"]).astype(np.int16))
    return add_department


def placed_purchases(frame, boundaries: Boundaries):
    """Return the located purchases (the columns the maps need) with their department index.

    The department is the pandas point-in-polygon, run on the executors batch by batch.
    """
    from pyspark.sql.types import ShortType, StructField, StructType

    keep = [c for c in ("longitude", "latitude", TARGET, "online_order", "city",
                        TRANSACTION_ID) if c in frame.columns]
    placed = frame.filter(located(frame)).select(*keep)
    schema = StructType([*placed.schema.fields, StructField("department", ShortType())])
    return placed.mapInPandas(_department_of_batches(boundaries), schema)


def fraud_rate_by_department(placed, boundaries: Boundaries) -> pd.DataFrame:
    """Return the department rates (``geo.hot_spots.fraud_rate_by_department``) from Spark."""
    from pyspark.sql import functions as F

    counts = placed.groupBy("department").agg(
        F.count(F.lit(1)).alias("purchases"), F.sum(F.col(TARGET).cast("long")).alias("frauds")
    ).toPandas()
    slots = np.where(counts["department"] < 0, len(boundaries.names), counts["department"])
    purchases = np.zeros(len(boundaries.names) + 1, dtype=np.int64)
    frauds = np.zeros(len(boundaries.names) + 1, dtype=np.int64)
    purchases[slots] = counts["purchases"].to_numpy(np.int64)
    frauds[slots] = counts["frauds"].to_numpy(np.int64)
    return department_table(purchases, frauds, boundaries)


def card_present(placed, channel: str = "onsite"):
    """Return the rows hot spots are sought in (``geo.hot_spots.card_present``)."""
    from pyspark.sql import functions as F

    if channel == "onsite" and "online_order" in placed.columns:
        return placed.filter(F.col("online_order") == 0)
    return placed


def with_cell(purchases, boundaries: Boundaries, cell_km: float):
    """Return the purchases with their hot-spot cell key, as ``cell_of_purchases`` computes it."""
    from pyspark.sql import functions as F

    width, height = (float(v) for v in cell_size_degrees(boundaries, cell_km))
    lon_min, _, lat_min, _ = boundaries.extent
    column = F.floor((F.col("longitude") - F.lit(lon_min)) / F.lit(width)).cast("long")
    row = F.floor((F.col("latitude") - F.lit(lat_min)) / F.lit(height)).cast("long")
    return purchases.withColumn("cell_key", (row + CELL_OFFSET) * 2**21 + (column + CELL_OFFSET))


def cell_sums(cells) -> tuple[np.ndarray, dict]:
    """Return the cell keys (ascending) and ``geo.hot_spots.cell_sums``'s table, from Spark."""
    from pyspark.sql import functions as F

    channel = (F.col("online_order").cast("int") if "online_order" in cells.columns
               else F.lit(0))
    fraud = F.col(TARGET).cast("double")
    table = cells.groupBy("cell_key", channel.alias("channel")).agg(
        F.count(F.lit(1)).alias("purchases"), F.sum(fraud).alias("frauds"),
        F.sum("longitude").alias("lon"), F.sum("latitude").alias("lat"),
        F.sum(F.col("longitude") * fraud).alias("fraud_lon"),
        F.sum(F.col("latitude") * fraud).alias("fraud_lat")).toPandas()
    keys, cell = np.unique(table["cell_key"].to_numpy(np.int64), return_inverse=True)
    sums = {name: np.bincount(cell, weights=table[name].to_numpy(float), minlength=len(keys))
            for name in ("frauds", "lon", "lat", "fraud_lon", "fraud_lat")}
    sums["purchases"] = np.bincount(cell, weights=table["purchases"].to_numpy(float),
                                    minlength=len(keys)).astype(np.int64)
    sums["channels"] = []
    for value in np.unique(table["channel"].to_numpy()):
        rows = table["channel"].to_numpy() == value
        sums["channels"].append((
            np.bincount(cell[rows], weights=table["purchases"].to_numpy(float)[rows],
                        minlength=len(keys)).astype(np.int64),
            np.bincount(cell[rows], weights=table["frauds"].to_numpy(float)[rows],
                        minlength=len(keys))))
    return keys, sums


def majority_per_cell(cells, label, tested_keys: np.ndarray) -> pd.DataFrame:
    """Return each tested cell's most frequent ``label`` (a Spark column; null reads "").

    Ties go to the label carried by the smallest ``transaction_id`` among the tested cells
    (pandas: the label met first), else to the smallest label; a missing label wins a tie, as
    in pandas.
    """
    from pyspark.sql import functions as F

    if not len(tested_keys):
        return pd.Series([], dtype=object)
    spark = cells.sparkSession
    chosen = spark.createDataFrame(pd.DataFrame({"cell_key": tested_keys.astype(np.int64)}))
    order = (F.min(TRANSACTION_ID) if TRANSACTION_ID in cells.columns else F.lit(0)
             ).alias("first_seen")
    counts = cells.join(F.broadcast(chosen), "cell_key").groupBy(
        "cell_key", label.alias("label")).agg(F.count(F.lit(1)).alias("n"), order).toPandas()
    seen = counts.groupby("label", dropna=False)["first_seen"].transform("min")
    counts = counts.assign(missing=counts["label"].isna(), seen=seen)
    counts = counts.sort_values(["cell_key", "n", "missing", "seen", "label"],
                                ascending=[True, False, False, True, True])
    best = counts.drop_duplicates("cell_key")
    return pd.Series(best["label"].fillna("").astype(str).to_numpy(),
                     index=best["cell_key"].to_numpy())


def hot_spots(purchases, boundaries: Boundaries, cell_km: float = 5.0, min_purchases: int = 30,
              fdr: float = 0.05, min_frauds: int = 1) -> pd.DataFrame:
    """Return the hot spots (``geo.hot_spots.hot_spots``) from per-cell counts on Spark."""
    from pyspark.sql import functions as F

    cells = with_cell(purchases, boundaries, cell_km).cache()
    try:
        keys, sums = cell_sums(cells)
        table = tested_cells(sums, min_purchases)
        tested_keys = keys[table["cell"].to_numpy()]
        names = department_names(boundaries, np.arange(-1, len(boundaries.names)))
        name_of = F.create_map(*[x for i, name in zip(range(-1, len(boundaries.names)), names,
                                                      strict=True)
                                 for x in (F.lit(i), F.lit(str(name)))])
        department = majority_per_cell(cells, name_of[F.col("department").cast("int")],
                                       tested_keys)
        table["department"] = department.reindex(tested_keys).to_numpy()
        if "city" in cells.columns:
            city = majority_per_cell(cells, F.col("city").cast("string"), tested_keys)
            table["city"] = city.reindex(tested_keys).to_numpy()
        else:
            table["city"] = ""
    finally:
        cells.unpersist()
    return hot_spots_of_cells(table, fdr, min_frauds)


def purchase_grid(frame, boundaries: Boundaries, gridsize: int) -> dict:
    """Return the map grid (``geo.maps.purchase_grid``) from per-cell counts on Spark."""
    from pyspark.sql import functions as F

    shape = grid_shape(boundaries, gridsize)
    column = F.floor((F.col("longitude") - F.lit(float(shape["lon_min"])))
                     / F.lit(float(shape["width"]))).cast("long")
    row = F.floor((F.col("latitude") - F.lit(float(shape["lat_min"])))
                  / F.lit(float(shape["height"]))).cast("long")
    inside = ((column >= 0) & (column < gridsize) & (row >= 0) & (row < shape["lines"]))
    placed = frame.filter(located(frame))
    counts = placed.groupBy(F.when(inside, row * gridsize + column).alias("cell")).agg(
        F.count(F.lit(1)).alias("purchases"),
        F.sum(F.col(TARGET).cast("double")).alias("frauds")).toPandas()
    in_grid = counts[counts["cell"].notna()]
    return grid_from_cells(shape, in_grid["cell"].to_numpy(np.int64),
                           in_grid["purchases"].to_numpy(float), in_grid["frauds"].to_numpy(float),
                           int(counts["purchases"].sum()))


def analyse(transactions, boundaries: Boundaries, fdr: float = 0.05,
            hot_spot_cell_km: float = 5.0, hot_spot_min_purchases: int = 30,
            cpp_lookback_days: float = 30.0, cpp_min_defrauded: int = 3,
            hot_spot_channel: str = "onsite", hot_spot_min_frauds: int = 40) -> dict:
    """Return ``geo.step.analyse``'s tables from a Spark DataFrame of the purchases."""
    from pyspark.sql import functions as F

    from . import spark_cpp, spark_suspects

    missing = missing_columns(transactions)
    result = {"missing": missing, "departments": None, "located": 0, "unlocated": 0,
              "hot_spots": pd.DataFrame(columns=HOT_SPOT_COLUMNS),
              "suspected_points": pd.DataFrame(columns=SUSPECT_COLUMNS),
              "cards_at_risk": pd.DataFrame(columns=AT_RISK_COLUMNS), "cpp": None}
    if missing["maps"]:
        return result
    placed = placed_purchases(transactions, boundaries).cache()
    try:
        row = transactions.agg(F.count(F.lit(1)).alias("rows"),
                               F.count(F.when(located(transactions), 1)).alias("located")).first()
        result["located"] = int(row["located"])
        result["unlocated"] = int(row["rows"]) - result["located"]
        result["departments"] = fraud_rate_by_department(placed, boundaries)
        result["hot_spots"] = hot_spots(card_present(placed, hot_spot_channel), boundaries,
                                        hot_spot_cell_km, hot_spot_min_purchases, fdr,
                                        hot_spot_min_frauds)
    finally:
        placed.unpersist()
    if not missing["cpp"]:
        cpp = spark_cpp.common_points_of_purchase(transactions, cpp_lookback_days, fdr,
                                                  cpp_min_defrauded)
        result["cpp"] = cpp
        result["suspected_points"] = spark_suspects.suspected_points(transactions, cpp,
                                                                     boundaries)
        result["cards_at_risk"] = spark_suspects.cards_at_risk(cpp, result["suspected_points"])
    return result
