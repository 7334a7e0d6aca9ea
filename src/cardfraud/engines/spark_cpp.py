"""The common point of purchase (CPP) on Spark: the same suspects and cards at risk as pandas.

``common_points_of_purchase`` mirrors :mod:`cardfraud.geo.cpp`'s on a Spark DataFrame (the
suspects' table and the cards at risk are :mod:`.spark_suspects`). On the
executors: each card's first fraud of each kind and activity stratum (groupBy), the visits of
genuine purchases placed in their merchant-windows, and each (card, merchant-window) pair's
observed and expected later fraud, computed by the pandas ``card_unit_exposures`` in groups of
windows (``applyInPandas``, the same sums in the same order). What reaches the driver is
bounded: the histogram of purchases per card (for the strata), the first-fraud times of the
defrauded cards (the strata's distributions), one row per merchant-window (for the tests), the
pairs of the flagged windows, the suspects' places and visit counts, and the cards at risk
(the exported rows).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.schema import TARGET
from ..geo.cpp import (
    ACTIVITY_STRATA,
    SECONDS_PER_DAY,
    best_tests,
    card_unit_exposures,
    explain_away,
    first_pass_flags,
    tests_of_units,
)

PAIR_SCHEMA = ("unit long, kind int, card string, pair_rank long, observed boolean, "
               "expected double, hit_first double, hit_last double, unit_expected double")


def timeline(frame):
    """Return the purchases with a card and a merchant, with ``days``, ``kind`` and
    ``genuine`` (a genuine purchase that exposes the card), and the first purchase's time."""
    from pyspark.sql import functions as F

    purchases = frame.filter(F.col("card_id").isNotNull() & F.col("merchant_id").isNotNull())
    first = purchases.agg(F.min("timestamp").alias("origin"))
    origin = first_purchase_time(frame.sparkSession, first, dict(frame.dtypes)["timestamp"])
    fraud = F.col(TARGET) == 1
    exposing = F.lit(True)
    if {"online_order", "used_chip"} <= set(frame.columns):
        exposing = ~((F.col("online_order") == 1) & (F.col("used_chip") == 1))
    kind = (F.when(F.col("online_order") == 1, 1).otherwise(0) if "online_order" in frame.columns
            else F.lit(0))
    micros = F.expr("timestampdiff(MICROSECOND, origin, timestamp)")
    purchases = purchases.crossJoin(F.broadcast(first)).select(
        "card_id", "merchant_id", (micros / F.lit(1e6) / F.lit(SECONDS_PER_DAY)).alias("days"),
        fraud.alias("is_fraud"), kind.alias("kind"), (~fraud & exposing).alias("genuine"))
    return purchases, origin


def first_purchase_time(spark, first, kind: str) -> pd.Timestamp:
    """Return the first purchase's time as pandas reads the data: a wall-clock time.

    A ``timestamp_ntz`` column is that already; a ``timestamp`` column is shown in the session's
    time zone (Python's ``collect`` would use the driver machine's instead).
    """
    from pyspark.sql import functions as F

    if kind != "timestamp":
        return pd.Timestamp(first.first()["origin"])
    micros = first.select(F.unix_micros("origin").alias("us")).first()["us"]
    zone = spark.conf.get("spark.sql.session.timeZone")
    return pd.Timestamp(micros, unit="us", tz="UTC").tz_convert(zone).tz_localize(None)


def activity_strata(cards) -> pd.DataFrame:
    """Return the activity stratum of each number of genuine purchases (``activity_stratum``).

    Cards with as many purchases share their average rank, so the histogram of purchases per
    card is enough.
    """
    histogram = cards.groupBy("genuine_purchases").count().toPandas().sort_values(
        "genuine_purchases")
    ties = histogram["count"].to_numpy(np.int64)
    below = np.cumsum(ties) - ties
    ranks = below + (ties + 1) / 2
    n_cards = int(ties.sum())
    stratum = np.minimum((ranks - 1) * ACTIVITY_STRATA // max(n_cards, 1), ACTIVITY_STRATA - 1)
    return pd.DataFrame({"genuine_purchases": histogram["genuine_purchases"].to_numpy(),
                         "stratum": stratum.astype(np.int64), "cards": ties})


def card_table(purchases, kinds: list[int]):
    """Return per card: genuine purchases, last fraud, first fraud of each kind and stratum."""
    from pyspark.sql import functions as F

    cards = purchases.groupBy("card_id").agg(
        F.count(F.when(~F.col("is_fraud"), 1)).alias("genuine_purchases"),
        F.max(F.when(F.col("is_fraud"), F.col("days"))).alias("last_fraud"),
        *[F.min(F.when(F.col("is_fraud") & (F.col("kind") == k), F.col("days"))
                ).alias(f"first_{k}") for k in kinds])
    strata = activity_strata(cards)
    spark = purchases.sparkSession
    lookup = spark.createDataFrame(strata[["genuine_purchases", "stratum"]])
    return cards.join(F.broadcast(lookup), "genuine_purchases"), strata


def stratum_members(cards, strata: pd.DataFrame, kinds: list[int]) -> dict[int, list[tuple]]:
    """Return per kind ``stratum_first_frauds``: the defrauded cards' first frauds, and sizes."""
    from pyspark.sql import functions as F

    sizes = strata.groupby("stratum")["cards"].sum()
    members = {}
    for k in kinds:
        firsts = cards.filter(F.col(f"first_{k}").isNotNull()).select(
            "stratum", F.col(f"first_{k}").alias("first")).toPandas()
        members[k] = [(np.sort(firsts.loc[firsts["stratum"] == s, "first"].to_numpy(float)),
                       int(sizes.get(s, 0))) for s in range(ACTIVITY_STRATA)]
    return members


def _pairs_of_group(members: dict, kinds: list[int], lookback_days: float):
    """Return the applyInPandas function turning a group of windows' visits into pairs."""
    def pairs(visits: pd.DataFrame) -> pd.DataFrame:
        parts = []
        for kind in kinds:
            rows = visits[visits["kind"] == kind]
            if rows.empty:
                continue
            codes, ids = pd.factorize(rows["card_id"], sort=True)
            first = np.full(len(ids), np.inf)
            first[codes] = rows["first"].fillna(np.inf).to_numpy(float)
            stratum = np.zeros(len(ids), dtype=np.int64)
            stratum[codes] = rows["stratum"].to_numpy(np.int64)
            exposures = card_unit_exposures(codes.astype(np.int64), rows["unit"].to_numpy(np.int64),
                                            rows["days"].to_numpy(float), first, stratum,
                                            lookback_days, members[kind])
            key = exposures["card"] * (int(exposures["unit"].max()) + 1) + exposures["unit"]
            starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
            hit_days = np.where(exposures["hit"], exposures["days"], np.nan)
            parts.append(pd.DataFrame({
                "unit": exposures["pair_unit"], "kind": kind,
                # object, not pandas' Arrow-backed text, which Spark's Arrow writer refuses
                "card": pd.Series(np.asarray(ids)[exposures["pair_card"]].astype(str),
                                  dtype=object),
                "observed": exposures["pair_observed"], "expected": exposures["pair_expected"],
                "hit_first": np.fmin.reduceat(hit_days, starts),
                "hit_last": np.fmax.reduceat(hit_days, starts)}))
        if not parts:
            return pd.DataFrame(columns=[c.split()[0] for c in PAIR_SCHEMA.split(", ")])
        table = pd.concat(parts, ignore_index=True)
        table["pair_rank"] = np.arange(len(table))
        # pairs in the pandas order (kind, then card), so each window's sum is the same sum
        unit_codes = pd.factorize(table["unit"])[0]
        table["unit_expected"] = np.bincount(unit_codes, weights=table["expected"])[unit_codes]
        return table
    return pairs


def window_pairs(purchases, cards, members: dict, kinds: list[int], merchant_ids: np.ndarray,
                 lookback_days: float, window_days: float):
    """Return the (card, merchant-window) pairs as a Spark DataFrame, and the blocks.

    Each genuine visit is placed in its two overlapping windows (``window_units``); a window's
    visits all fall in one group of ``applyInPandas``.
    """
    from pyspark.sql import functions as F

    spark = purchases.sparkSession
    genuine = purchases.filter(F.col("genuine"))
    last_day = genuine.agg(F.max("days")).first()[0]
    blocks = int(np.ceil((last_day or 0) / window_days)) + 2
    codes = spark.createDataFrame(pd.DataFrame({"merchant_id": merchant_ids,
                                                "merchant_code": np.arange(len(merchant_ids))}))
    first = F.col(f"first_{kinds[0]}")
    for k in kinds[1:]:
        first = F.when(F.col("kind") == k, F.col(f"first_{k}")).otherwise(first)
    shift = F.explode(F.array(F.lit(0), F.lit(1)))
    visits = genuine.join(F.broadcast(codes), "merchant_id").join(
        cards.select("card_id", "stratum", *[f"first_{k}" for k in kinds]), "card_id"
    ).select("card_id", "merchant_code", "days", "kind", "stratum", first.alias("first"),
             shift.alias("shift"))
    block = F.floor((F.col("days") + F.col("shift") * (window_days / 2)) / window_days)
    unit = (F.col("merchant_code").cast("long") * 2 + F.col("shift")) * blocks + block
    buckets = int(spark.conf.get("spark.sql.shuffle.partitions")) * 4
    visits = visits.withColumn("unit", unit.cast("long")).withColumn(
        "bucket", F.pmod(F.col("unit"), F.lit(buckets)))
    pairs = visits.groupBy("bucket").applyInPandas(
        _pairs_of_group(members, kinds, lookback_days), PAIR_SCHEMA)
    return pairs, blocks


def unit_table(pairs, min_cards: int) -> pd.DataFrame:
    """Return per merchant-window with at least ``min_cards`` cards: cards, later-defrauded
    cards and expected, from Spark (the others cannot be tested: ``tests_of_units``)."""
    from pyspark.sql import functions as F

    return pairs.groupBy("unit").agg(
        F.count(F.lit(1)).alias("cards"), F.sum(F.col("observed").cast("long")).alias("observed"),
        F.max("unit_expected").alias("expected")).filter(F.col("cards") >= min_cards
                                                         ).toPandas().sort_values("unit")


def flagged_pairs(pairs, units: np.ndarray) -> pd.DataFrame:
    """Return the pairs of the given windows, each window's in the pandas order."""
    from pyspark.sql import functions as F

    if not len(units):
        return pd.DataFrame(columns=[c.split()[0] for c in PAIR_SCHEMA.split(", ")])
    spark = pairs.sparkSession
    chosen = spark.createDataFrame(pd.DataFrame({"unit": units.astype(np.int64)}))
    return pairs.join(F.broadcast(chosen), "unit").toPandas().sort_values(
        ["unit", "pair_rank"]).reset_index(drop=True)


def suspect_windows(pairs: pd.DataFrame, units: np.ndarray, blocks: int) -> pd.DataFrame:
    """Return each suspect's window: first and last visit of a later-defrauded card."""
    hits = pairs[pairs["unit"].isin(units) & pairs["hit_first"].notna()]
    frame = pd.DataFrame({"merchant": hits["unit"].to_numpy(np.int64) // (2 * blocks),
                          "first": hits["hit_first"].to_numpy(), "last": hits["hit_last"].to_numpy()})
    return frame.groupby("merchant").agg(window_start=("first", "min"), window_end=("last", "max"))


def visits_in_windows(purchases, cards, windows: pd.DataFrame, merchant_ids: np.ndarray):
    """Return (visits per suspect, cards at risk): the cards that used a suspect in its window.

    Counts per merchant code (``cards_visited``, ``cards_at_risk``) and the at-risk (card,
    merchant code) rows with first and last visit: the only rows collected.
    """
    from pyspark.sql import functions as F

    spark = purchases.sparkSession
    chosen = spark.createDataFrame(pd.DataFrame({
        "merchant_id": merchant_ids[windows.index.to_numpy()],
        "merchant_code": windows.index.to_numpy(np.int64),
        "window_start": windows["window_start"].to_numpy(float),
        "window_end": windows["window_end"].to_numpy(float)}))
    visits = purchases.filter(F.col("genuine")).join(F.broadcast(chosen), "merchant_id").filter(
        F.col("days").between(F.col("window_start"), F.col("window_end")))
    pairs = visits.groupBy("merchant_code", "card_id").agg(
        F.min("days").alias("first_visit"), F.max("days").alias("last_visit")).join(
        cards.select("card_id", "last_fraud"), "card_id")
    # at risk: no fraud since the first visit in the window
    pairs = pairs.withColumn("at_risk", ~F.coalesce(F.col("last_fraud") > F.col("first_visit"),
                                                    F.lit(False))).cache()
    try:
        counts = pairs.groupBy("merchant_code").agg(
            F.count(F.lit(1)).alias("cards_visited"),
            F.sum(F.col("at_risk").cast("long")).alias("cards_at_risk")).toPandas()
        at_risk = pairs.filter(F.col("at_risk")).select(
            "card_id", "merchant_code", "first_visit", "last_visit").toPandas()
    finally:
        pairs.unpersist()
    return counts.set_index("merchant_code").rename_axis("merchant"), at_risk


def common_points_of_purchase(frame, lookback_days: float = 30.0, fdr: float = 0.05,
                              min_defrauded: int = 3, window_days: float = 30.0) -> dict:
    """Return ``geo.cpp.common_points_of_purchase``'s analysis from a Spark DataFrame.

    ``visits`` holds only the cards at risk (``card`` indexes ``card_ids``, which holds only
    them); ``visit_counts`` holds each suspect's cards visited and at risk.
    """
    purchases, origin = timeline(frame)
    purchases = purchases.cache()
    kinds = [0, 1] if "online_order" in frame.columns else [0]
    merchant_ids = np.asarray(pd.factorize(
        purchases.select("merchant_id").distinct().toPandas()["merchant_id"], sort=True)[1])
    cards, strata = card_table(purchases, kinds)
    cards = cards.cache()
    members = stratum_members(cards, strata, kinds)
    pairs, blocks = window_pairs(purchases, cards, members, kinds, merchant_ids, lookback_days,
                                 window_days)
    pairs = pairs.cache()
    try:
        units = unit_table(pairs, max(min_defrauded, 1))
        tests = tests_of_units(units["unit"].to_numpy(np.int64), units["cards"].to_numpy(np.int64),
                               units["observed"].to_numpy(float), units["expected"].to_numpy(float),
                               blocks, min_defrauded, fdr)
        flagged, cutoff = first_pass_flags(tests, min_defrauded, fdr)
        chosen = flagged_pairs(pairs, flagged["unit"].to_numpy())
        exposures = {"pair_unit": chosen["unit"].to_numpy(np.int64),
                     "pair_card": chosen["card"].to_numpy(object),
                     "pair_observed": chosen["observed"].to_numpy(bool),
                     "pair_expected": chosen["expected"].to_numpy(float)}
        flagged = explain_away(flagged, exposures, blocks, cutoff, min_defrauded, fdr)
        suspects = np.unique(flagged["merchant"].to_numpy())
        windows = suspect_windows(chosen, flagged["unit"].to_numpy(), blocks)
        if len(windows):
            counts, at_risk = visits_in_windows(purchases, cards, windows, merchant_ids)
        else:
            counts = pd.DataFrame(columns=["cards_visited", "cards_at_risk"])
            at_risk = pd.DataFrame(columns=["card_id", "merchant_code", "first_visit",
                                            "last_visit"])
    finally:
        for cached in (pairs, cards, purchases):
            cached.unpersist()
    visits = pd.DataFrame({"merchant": at_risk["merchant_code"].to_numpy(np.int64),
                           "card": np.arange(len(at_risk)),
                           "first_visit": at_risk["first_visit"].to_numpy(float),
                           "last_visit": at_risk["last_visit"].to_numpy(float),
                           "at_risk": np.ones(len(at_risk), dtype=bool)})
    return {"tests": best_tests(tests), "suspects": suspects, "windows": windows,
            "visits": visits, "visit_counts": counts, "merchant_ids": merchant_ids,
            "card_ids": at_risk["card_id"].to_numpy(), "origin": origin,
            "lookback_days": lookback_days, "fdr": fdr}
