"""The suspected points and the cards at risk as tables the team reads and exports.

A merchant's place is the median position of its genuine onsite purchases (a shop's
terminal); an online merchant, seen only through its customers' connections, is placed at the
median of all its purchases and marked ``online merchant``. Times are the data's own
timestamps (day 0 is the first purchase).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.schema import TARGET
from .boundaries import Boundaries, department_index, department_names

SUSPECT_COLUMNS = ["suspected_point", "merchant_id", "kind", "longitude", "latitude",
                   "department", "city", "window_start", "window_end", "cards_visited",
                   "cards_defrauded", "expected_defrauded", "cards_at_risk", "p_value", "q_value"]
AT_RISK_COLUMNS = ["card_id", "suspected_point", "merchant_id", "first_visit_in_window",
                   "last_visit_in_window", "department", "city"]


def at_time(cpp: dict, days: np.ndarray) -> pd.DatetimeIndex:
    """Return the timestamps ``days`` after the data's first purchase, to the second."""
    return (cpp["origin"] + pd.to_timedelta(days, unit="D")).round("s")


def merchant_places(purchases: pd.DataFrame, merchant_ids: np.ndarray) -> pd.DataFrame:
    """Return kind, longitude, latitude and most frequent city of the given merchants."""
    chosen = purchases[purchases["merchant_id"].isin(merchant_ids) & (purchases[TARGET] == 0)]
    onsite = (chosen["online_order"] == 0) if "online_order" in chosen else pd.Series(
        True, index=chosen.index)
    grouped = chosen.assign(onsite=onsite.to_numpy()).groupby("merchant_id")
    places = pd.DataFrame({"onsite_share": grouped["onsite"].mean()})
    shops = chosen[onsite.to_numpy()].groupby("merchant_id")[["longitude", "latitude"]].median()
    every = grouped[["longitude", "latitude"]].median()
    is_shop = places["onsite_share"] >= 0.5
    places["kind"] = np.where(is_shop, "shop", "online merchant")
    for axis in ("longitude", "latitude"):
        places[axis] = np.where(is_shop, shops[axis].reindex(places.index), every[axis])
    if "city" in chosen:
        places["city"] = grouped["city"].agg(lambda c: c.astype(str).mode().iat[0])
    else:
        places["city"] = ""
    return places.reindex(merchant_ids)


def suspected_points(purchases: pd.DataFrame, cpp: dict, boundaries: Boundaries) -> pd.DataFrame:
    """Return the suspected points (``SUSPECT_COLUMNS``), most significant first."""
    places = merchant_places(purchases, cpp["merchant_ids"][cpp["suspects"]])
    visits = cpp["visits"].groupby("merchant").agg(cards_visited=("card", "size"),
                                                   cards_at_risk=("at_risk", "sum"))
    return points_table(cpp, places, visits, boundaries)


def points_table(cpp: dict, places: pd.DataFrame, visits: pd.DataFrame,
                 boundaries: Boundaries) -> pd.DataFrame:
    """Return the suspected points from their places and their visit counts.

    ``places`` is :func:`merchant_places` of the suspects (indexed by merchant id, in suspect
    order); ``visits`` holds ``cards_visited`` and ``cards_at_risk`` per merchant code.
    """
    tests = cpp["tests"].set_index("merchant").loc[cpp["suspects"]]
    table = places.reset_index(names="merchant_id")
    table["department"] = department_names(
        boundaries, department_index(boundaries, table["longitude"], table["latitude"]))
    windows = cpp["windows"].loc[cpp["suspects"]]
    table["window_start"] = at_time(cpp, windows["window_start"].to_numpy())
    table["window_end"] = at_time(cpp, windows["window_end"].to_numpy())
    visits = visits.reindex(cpp["suspects"]).fillna(0).astype(np.int64)
    table["cards_visited"] = visits["cards_visited"].to_numpy()
    table["cards_at_risk"] = visits["cards_at_risk"].to_numpy()
    for column in ("cards_defrauded", "expected_defrauded", "p_value", "q_value"):
        table[column] = tests[column].to_numpy()
    table = table.sort_values(["q_value", "cards_defrauded"], ascending=[True, False])
    table["suspected_point"] = [f"P{i}" for i in range(1, len(table) + 1)]
    return table[SUSPECT_COLUMNS].reset_index(drop=True)


def cards_at_risk(cpp: dict, points: pd.DataFrame) -> pd.DataFrame:
    """Return the cards that visited a suspected point in its window with no fraud since.

    One row per card and point (``AT_RISK_COLUMNS``); a card seen at two points has two rows.
    """
    visits = cpp["visits"][cpp["visits"]["at_risk"]]
    merchant_ids = cpp["merchant_ids"][visits["merchant"].to_numpy()]
    table = pd.DataFrame({
        "card_id": cpp["card_ids"][visits["card"].to_numpy()], "merchant_id": merchant_ids,
        "first_visit_in_window": at_time(cpp, visits["first_visit"].to_numpy()),
        "last_visit_in_window": at_time(cpp, visits["last_visit"].to_numpy())})
    place = points.set_index("merchant_id")[["suspected_point", "department", "city"]]
    table = table.join(place, on="merchant_id")
    if table.empty:
        return pd.DataFrame(columns=AT_RISK_COLUMNS)
    rank = table["suspected_point"].str[1:].astype(int)
    return table.assign(rank=rank).sort_values(["rank", "card_id"])[AT_RISK_COLUMNS].reset_index(
        drop=True)
